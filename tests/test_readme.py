"""The README's "Try it" walkthrough does what the README says, word for word.

Seen on a first run: the table listed two pages twice; the example tracking code was not a valid
code (typing it gave "Kode pelacakan tidak valid"); the `chat` example was added to the
complaint the SMS conversation had just filed instead of starting its own. The commands here
are read from README.md and run through the real command line (`send-fixture` against the app,
`chat` in process), so the README and the program cannot drift apart unnoticed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from config.settings import load_settings
from gateway import cli
from gateway.app import create_app
from gateway.complaints.tracking import normalize_code
from gateway.context import Gateway
from gateway.dev import demo
from gateway.store.db import Database
from gateway.store.models import Attachment, Complaint, OutboxItem

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TRY_IT = README.split("## Try it", 1)[1].split("\n## ", 1)[0]
PROGRAM = ".venv/bin/lapor-gateway"
CODE = re.compile(r"LPR-[0-9A-Z]{6}\b")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", TRY_IT, re.DOTALL)


def _commands(block: str) -> Iterator[list[str]]:
    """The `lapor-gateway` commands of a shell block, `for t in ...; do ...; done` unrolled."""
    block = block.replace("\\\n", " ")  # a command continued on the next line is one command
    lines = [line.strip() for line in block.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    index = 0
    while index < len(lines):
        line = lines[index]
        loop = re.match(r"for (\w+) in (.*); do$", line)
        if loop:
            body = lines[index + 1]
            assert lines[index + 2] == "done", "one-line loop bodies only"
            for value in shlex.split(loop.group(2)):
                yield shlex.split(body.replace(f'"${loop.group(1)}"', shlex.quote(value)))
            index += 3
            continue
        yield shlex.split(line)
        index += 1


def test_try_it_lists_each_page_once() -> None:
    pages = re.findall(r"^\| (http://\S+) \|", TRY_IT, re.MULTILINE)
    assert len(pages) >= 8
    assert len(pages) == len(set(pages)), (
        f"listed twice: {sorted(p for p in pages if pages.count(p) > 1)}"
    )


def test_every_example_tracking_code_a_reader_sees_is_a_valid_code() -> None:
    texts = [README] + [
        path.read_text(encoding="utf-8")
        for pattern in ("config/messages/*.yaml", "gateway/templates/**/*.html")
        for path in ROOT.glob(pattern)
    ]
    examples = {code for text in texts for code in CODE.findall(text)}
    examples -= {"LPR-XXXXXX"}  # a placeholder showing the shape, not an example to type
    assert examples, "the README and the messages show an example code"
    assert {code for code in examples if normalize_code(code) != code} == set()


def test_every_readme_command_is_one_the_program_takes() -> None:
    parser = cli.build_parser()
    commands = [c for block in _blocks("sh") for c in _commands(block) if c[0] == PROGRAM]
    assert len(commands) >= 7
    for command in commands:
        args = parser.parse_args(command[1:])
        if args.command == "send-fixture":
            assert (ROOT / args.file).is_file(), args.file


@pytest.fixture
def environment(
    db: Database, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """`make run`'s settings for the CLI (demo credentials, this test's database), and the
    gateway it talks to; `send-fixture`'s POST goes to that app instead of the network."""
    values = {
        "DATABASE_URL": db_url,
        "DATA_DIR": str(tmp_path / "var"),
        "APP_ENV": "development",
        "SCHEDULER_ENABLED": "false",
        "SECRET_KEY": "test-secret-key-not-for-production",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    gateway = Gateway.create(demo.demo_settings(settings), db=db)
    with TestClient(create_app(settings, gateway), base_url=settings.public_base_url) as client:

        def post(url: str, **kwargs: object) -> httpx.Response:
            assert url.startswith(settings.public_base_url)
            kwargs.pop("timeout", None)  # the TestClient has none
            return client.post(url.removeprefix(settings.public_base_url), **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(httpx, "post", post)
        yield client


def _replies(db: Database, recipient: str) -> list[str]:
    with db.read_session() as session:
        rows = session.scalars(
            select(OutboxItem).where(OutboxItem.recipient == recipient).order_by(OutboxItem.id)
        ).all()
    return [str(row.payload.get("text", "")) for row in rows]


def test_the_readme_provider_requests_get_the_answers_it_describes(
    environment: TestClient, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    block = _blocks("sh")[0]  # the first: single requests and the SMS conversation
    for command in _commands(block):
        assert cli.main(command[1:]) == 0, command
        assert capsys.readouterr().out.split()[0] in ("200", "204")
    consent = "Balas YA bila setuju"
    assert consent in _replies(db, "+6281234560011")[-1]  # the WhatsApp fixture's sender
    assert consent in _replies(db, "111222333")[-1]  # the Telegram fixture's chat
    sms = _replies(db, "+6281234567890")
    expected = ["Halo!", "Sebelum lanjut:", "Terima kasih. Ceritakan", "Pesan diterima.",
                "Laporan Anda sudah kami terima dengan kode LPR-", "Laporan LPR-"]  # fmt: skip
    assert len(sms) == len(expected)
    for reply, start in zip(sms, expected, strict=True):
        assert reply.startswith(start), (reply, start)
    with db.read_session() as session:
        complaint = session.scalars(select(Complaint)).one()
    assert complaint.original_text == "Jalan di Desa Sumbergirang Lasem berlubang besar"


def test_the_readme_chat_example_prints_what_the_readme_shows(
    environment: TestClient, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    # The SMS conversation ran first in the README: its number already has a complaint.
    block = _blocks("sh")[0]
    for command in _commands(block):
        cli.main(command[1:])
    capsys.readouterr()
    [session] = _blocks("console")
    shown: list[str] = []
    printed: list[str] = []
    for line in session.splitlines():
        if line.startswith("$ "):
            command = shlex.split(line[2:])
            assert command[0] == PROGRAM
            shown.append(line)
            printed.append(line)
            assert cli.main(command[1:]) == 0
            printed.extend(capsys.readouterr().out.splitlines())
        else:
            shown.append(line)
    assert [CODE.sub("LPR-…", line) for line in printed] == shown
    with db.read_session() as session:
        assert len(session.scalars(select(Complaint)).all()) == 2  # its own complaint


def test_the_readme_photo_fixtures_file_complaints_with_their_photo(
    environment: TestClient, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """The photo walkthrough: a WhatsApp and a Telegram conversation that start with a photo end
    as two complaints, each with its photo waiting to be fetched through the provider (the
    download itself, against the demo's fakes on a real port: tests/gateway/test_demo_media.py)."""
    block = _blocks("sh")[1]
    assert "image_caption.form" in block and "photo_caption.json" in block
    for command in _commands(block):
        assert cli.main(command[1:]) == 0, command
        assert capsys.readouterr().out.split()[0] in ("200", "204")
    with db.read_session() as session:
        complaints = session.scalars(select(Complaint).order_by(Complaint.id)).all()
        assert [c.origin_channel for c in complaints] == ["twilio_whatsapp", "telegram"]
        for complaint in complaints:
            [photo] = session.scalars(
                select(Attachment).where(Attachment.complaint_id == complaint.id)
            ).all()
            assert photo.kind == "photo" and photo.source == "reporter"


def test_the_readme_meta_fixtures_do_what_it_says(
    environment: TestClient, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """Meta's walkthrough: the Instagram comment gets the neutral public reply and the private
    reply with the consent question, the commenter's DMs file it; WhatsApp Cloud and Facebook
    messages start their own conversations."""
    block = _blocks("sh")[2]
    assert "instagram/comment.json" in block
    for command in _commands(block):
        assert cli.main(command[1:]) == 0, command
        assert capsys.readouterr().out.split()[0] == "200"
    commenter = _replies(db, "6390012345678902")
    assert commenter[0].startswith("Terima kasih, sudah kami terima")  # in public
    assert "Balas YA bila setuju" in commenter[1]  # the private reply
    assert commenter[2].startswith("Pesan diterima.")
    assert commenter[3].startswith("Laporan Anda sudah kami terima dengan kode LPR-")
    assert "Balas YA bila setuju" in _replies(db, "+6281234560021")[-1]  # WhatsApp Cloud
    assert "Balas YA bila setuju" in _replies(db, "25000000000000001")[-1]  # Facebook
    with db.read_session() as session:
        complaint = session.scalars(select(Complaint)).one()
    assert complaint.origin_channel == "instagram"
    assert complaint.original_text.startswith("Pak, jalan ke Desa Sumberjo rusak parah")
