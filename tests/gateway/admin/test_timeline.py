"""The complaint page's timeline in words, not raw keys.

Seen on a first run: a reminder showed as `before-2 · 2026-12-04 · 1`, an escalation as an ISO
date, a core status as the core's English machine word (`in_process`), the place suggestion as
"10000%". Every entry has a label from the catalog, dates with Indonesian (or English) weekday
and month names, core statuses through the label table.

Dates (WIB; November 2026 has no holiday): filed Monday 2, disposed Wednesday 4 November as a
`pengaduan` (14 working days): the answer is due Tuesday 24 November; the reminder two working
days before goes out Friday 20, the overdue one Wednesday 25, when the complaint is escalated.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from config.messages import catalog
from forwarder.base import CoreEvent, CoreEventKind
from gateway.complaints import workflow
from gateway.context import Gateway
from gateway.core import sync as core_sync
from gateway.sla import sweeps
from gateway.store.models import Complaint, Status
from tests.gateway.admin.conftest import Admin, Directory
from tests.gateway.sla import story
from tests.gateway.sla.story import wib

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def code(gateway: Gateway, directory: Directory) -> str:
    code = story.file(gateway, wib(11, 2))
    story.verify(gateway, code, wib(11, 3))
    story.dispose(gateway, code, wib(11, 4), directory.dpupr)
    with gateway.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None
        complaint.core_ref = "4400123"
        session.add(complaint)
        workflow.commit(session)
    # The core still says "verified" for a complaint we already disposed: recorded, not applied.
    event = CoreEvent("ev-1", "4400123", CoreEventKind.STATUS, wib(11, 5), status="verified")
    assert core_sync.apply_event(gateway, event, "poll", now=wib(11, 5)).startswith("kept")
    assert sweeps.run(gateway, wib(11, 20, 9)).reminders == 2
    result = sweeps.run(gateway, wib(11, 25, 9))
    assert result.reminders == 2 and result.escalated == 1
    return code


def _timeline(html: str) -> str:
    section = html.split('id="timeline"', 1)[1].split("</ol>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", section).split())


def test_the_timeline_speaks_indonesian(clients: dict[str, Admin], code: str) -> None:
    html = clients["koor"].get(f"/admin/complaints/{code}").text
    timeline = _timeline(html)
    for raw in ("before-2", "after-1", "2026-11-24", "verified", "admin.event.", "· 2 ·"):
        assert raw not in timeline
    assert (
        "Pengingat tenggat ke pejabat penghubung · Sistem 2 hari kerja sebelum tenggat jawaban "
        "(Selasa, 24 November 2026); dikirim ke 2 pejabat penghubung"
    ) in timeline
    assert (
        "1 hari kerja lewat tenggat jawaban (Selasa, 24 November 2026); "
        "dikirim ke 2 pejabat penghubung"
    ) in timeline
    assert "Tenggat jawaban Selasa, 24 November 2026 terlewati" in timeline
    assert "Status dari SP4N-LAPOR! · SP4N-LAPOR! Status di SP4N-LAPOR!: Terverifikasi" in timeline
    assert '<dd id="core-ref-shown">4400123 · Terverifikasi</dd>' in html


def test_the_timeline_speaks_english_to_an_english_admin(
    clients: dict[str, Admin], code: str
) -> None:
    html = clients["koor"].get(f"/admin/complaints/{code}?lang=en").text
    timeline = _timeline(html)
    assert (
        "2 working day(s) before the answer deadline (Tuesday, 24 November 2026); "
        "sent to 2 liaison officer(s)"
    ) in timeline
    assert "Answer deadline Tuesday, 24 November 2026 passed" in timeline
    assert "Status in SP4N-LAPOR!: Verified" in timeline
    assert "Selasa" not in timeline


def test_suggestion_scores_are_percentages(clients: dict[str, Admin], gateway: Gateway) -> None:
    """A place named exactly is a 100% match, shown as 100%, not "10000%" (the place score is
    a percentage already; the class and agency scores are fractions)."""
    text = "Jalan di Desa Sumbergirang, Kecamatan Lasem rusak parah dan berlubang sejak dua bulan"
    koor = clients["koor"]
    assert koor.client.post("/api/v1/complaints", json={"description": text, "consent": True})
    with gateway.db.read_session() as session:
        complaint = session.scalars(select(Complaint)).one()
    assert complaint.place_suggestion["kelurahan"] == "Sumbergirang"
    html = koor.get(f"/admin/complaints/{complaint.tracking_code}").text
    scores = [int(s) for s in re.findall(r'class="score">(\d+)%<', html)]
    assert scores and all(0 <= s <= 100 for s in scores)
    assert 'Sumbergirang, Lasem <span class="score">100%</span>' in html


ACTION = re.compile(r"""\baction=["']([a-z_]+)["']""")
# An action named by a module constant (`action=JOINED` with `JOINED = "clustered"`).
ACTION_NAME = re.compile(r"\baction=(?:[a-z_]+\.)?([A-Z][A-Z_]+)\b")
CONSTANT = re.compile(r"""^([A-Z][A-Z_]+) = ["']([a-z_]+)["']""", re.MULTILINE)
# An action looked up in a module's table (`action=POSTED[kind]` with `POSTED = {...: "x"}`).
TABLE = re.compile(r"""^([A-Z][A-Z_]+) = \{([^}]*)\}""", re.MULTILINE)
TABLE_USE = re.compile(r"\baction=([A-Z][A-Z_]+)\[")


def test_every_event_the_code_writes_has_a_label_in_both_languages() -> None:
    """A new kind of event without a catalog entry would show as a raw key."""
    sources = [
        path.read_text(encoding="utf-8")
        for path in (ROOT / "gateway").rglob("*.py")
        if path.name != "cli.py"  # argparse's action="store_true"
    ]
    constants = {name: value for text in sources for name, value in CONSTANT.findall(text)}
    actions = {name for text in sources for name in ACTION.findall(text)}
    tables = {
        name: re.findall(r""":\s*["']([a-z_]+)["']""", body)
        for text in sources
        for name, body in TABLE.findall(text)
    }
    used_tables = {name for text in sources for name in TABLE_USE.findall(text)}
    actions |= {
        constants[name]
        for text in sources
        for name in ACTION_NAME.findall(text)
        if name not in used_tables
    }
    actions |= {value for name in used_tables for value in tables[name]}
    actions |= {status.value for status in Status}  # core events move to a state by its name
    assert {"sla_reminder", "escalated", "core_status", "clustered"} <= actions
    assert "tiktok_answered_posted" in actions  # from a table
    for lang in ("id", "en"):
        missing = sorted(a for a in actions if f"admin.event.{a}" not in catalog(lang))
        assert not missing, f"admin.event.* missing in {lang}.yaml: {missing}"


def test_the_holidays_page_names_weekdays_in_the_admins_language(
    clients: dict[str, Admin],
) -> None:
    koor = clients["koor"]
    assert "Jumat, 25-12-2026" in koor.get("/admin/holidays?year=2026").text  # Christmas
    english = koor.get("/admin/holidays?year=2026&lang=en").text
    assert "Friday, 25-12-2026" in english and "Fri 25-12-2026" not in english
