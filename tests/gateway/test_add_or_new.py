"""After a complaint is filed, a message about a clearly different problem is no longer appended
to it as "Tambahan": the bot asks once whether it adds to the open report or starts a new one
(TAMBAH / BARU, ADD / NEW in English, typos forgiven). Short answers, photos, locations, replies
while the admin waits for an answer, and follow-ups about the same problem stay additions;
`BARU` on its own still starts a new report at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import col

from channels.base import Location, Media
from gateway.admin.directory import load_directory, sync_directory
from gateway.bot.commands import Command, parse_command
from gateway.complaints import workflow
from gateway.complaints.tracking import find_code
from gateway.context import Gateway
from gateway.store.models import Complaint, ComplaintEvent, Conversation, InboundMessage, Status
from tests.gateway.chat import Chat

ROAD = "Jalan berlubang besar di Jl. Pemuda dekat pasar Desa Sumbergirang Lasem"
RUBBISH = "Sampah menumpuk di pasar Kragan, sudah seminggu tidak diangkut petugas"


@pytest.fixture
def directory(gateway: Gateway) -> None:
    """The demo agency directory: agency suggestions say what a message is about."""
    with gateway.db.session() as session:
        sync_directory(session, load_directory(gateway.settings.agency_directory_file))
        session.commit()


def _filed(gateway: Gateway, text: str = ROAD, **chat: object) -> tuple[Chat, str]:
    conversation = Chat(gateway, **chat)  # type: ignore[arg-type]
    conversation.send("halo")
    conversation.send("ya")
    conversation.send(text)
    code = find_code(conversation.send("kirim")[0])
    assert code is not None
    return conversation, code


def _complaints(gateway: Gateway) -> list[Complaint]:
    with gateway.db.read_session() as session:
        return list(session.scalars(select(Complaint).order_by(Complaint.id)).all())


def _additions(gateway: Gateway) -> list[str | None]:
    with gateway.db.read_session() as session:
        return list(
            session.scalars(
                select(ComplaintEvent.note)
                .where(ComplaintEvent.action == "reporter_message")
                .order_by(ComplaintEvent.id)
            ).all()
        )


def _state(gateway: Gateway) -> str:
    with gateway.db.read_session() as session:
        conversation = session.scalar(select(Conversation))
        assert conversation is not None
        return conversation.state


def test_a_different_problem_is_asked_about_then_baru_files_it_apart(
    gateway: Gateway, directory: None
) -> None:
    chat, code = _filed(gateway)
    replies = chat.send(RUBBISH)
    assert replies == [
        f"Ini tambahan untuk laporan {code} atau laporan baru? Balas TAMBAH bila tambahan, "
        "atau BARU bila laporan baru."
    ]
    assert _additions(gateway) == []  # nothing appended while the question is open
    with gateway.db.read_session() as session:
        held = session.scalar(select(InboundMessage).where(InboundMessage.text == RUBBISH))
        assert held is not None and held.complaint_id is None

    assert "laporan baru" in chat.send("BARU")[0]
    second = find_code(chat.send("kirim")[0])
    assert second is not None and second != code
    _, new = _complaints(gateway)
    assert new.original_text == RUBBISH and new.tracking_code == second
    assert _additions(gateway) == []  # the road complaint got no "Tambahan"


def test_the_same_trouble_in_another_village_is_asked_about(
    gateway: Gateway, directory: None
) -> None:
    """The README's example: a second pothole, at SD 1 Leteh, after one in Sumbergirang."""
    chat, code = _filed(gateway)
    replies = chat.send("Jalan di depan SD 1 Leteh berlubang")
    assert len(replies) == 1 and replies[0].startswith(f"Ini tambahan untuk laporan {code}")
    assert _additions(gateway) == []


@pytest.mark.parametrize("answer", ["TAMBAH", "tambahan", "tmbah", "tambah min"])
def test_tambah_adds_it_to_the_open_report(gateway: Gateway, directory: None, answer: str) -> None:
    chat, code = _filed(gateway)
    chat.send(RUBBISH)
    assert chat.send(answer) == [f"Tambahan Anda sudah kami catat pada laporan {code}."]
    assert _additions(gateway) == [RUBBISH]
    assert len(_complaints(gateway)) == 1
    assert _state(gateway) == "submitted"
    # Back to normal: a follow-up about the road is added without a question.
    chat.send("Lubangnya makin besar setelah hujan semalam")
    assert _additions(gateway) == [RUBBISH, "Lubangnya makin besar setelah hujan semalam"]


def test_the_question_is_asked_once_and_everything_held_goes_with_the_answer(
    gateway: Gateway, directory: None
) -> None:
    chat, _ = _filed(gateway)
    assert len(chat.send(RUBBISH)) == 1
    assert chat.send("Baunya sampai ke rumah-rumah warga di sekitar pasar") == []
    assert (
        chat.send(media=[Media(url="https://example.org/m.jpg", content_type="image/jpeg")]) == []
    )
    chat.send("baru")
    chat.send("kirim")
    _, new = _complaints(gateway)
    assert new.original_text == RUBBISH + "\nBaunya sampai ke rumah-rumah warga di sekitar pasar"
    with gateway.db.read_session() as session:
        photos = session.scalars(
            select(InboundMessage).where(InboundMessage.complaint_id == new.id)
        ).all()
    assert sum(len(row.media) for row in photos) == 1


@pytest.mark.parametrize(
    "follow_up",
    [
        "tolong segera ya",  # a short answer
        "Lubangnya makin besar dan kemarin ada motor yang jatuh di situ",  # the same problem
        "Tambahan: di sebelahnya ada tiang listrik yang miring hampir roboh",  # says it adds
    ],
)
def test_follow_ups_stay_additions_without_a_question(
    gateway: Gateway, directory: None, follow_up: str
) -> None:
    chat, code = _filed(gateway)
    assert chat.send(follow_up) == [f"Tambahan Anda sudah kami catat pada laporan {code}."]
    assert _additions(gateway) == [follow_up]


def test_photos_and_locations_stay_additions(gateway: Gateway, directory: None) -> None:
    chat, code = _filed(gateway)
    photo = Media(url="https://example.org/lubang.jpg", content_type="image/jpeg")
    assert chat.send(media=[photo]) == [f"Tambahan Anda sudah kami catat pada laporan {code}."]
    assert chat.send(location=Location(-6.7, 111.4, "Pasar Lasem")) == []  # one ack per burst
    [complaint] = _complaints(gateway)
    with gateway.db.read_session() as session:
        later = session.scalars(
            select(InboundMessage).order_by(col(InboundMessage.id).desc()).limit(2)
        ).all()
    assert [row.complaint_id for row in later] == [complaint.id, complaint.id]


def test_an_answer_to_the_admins_question_is_never_questioned(
    gateway: Gateway, directory: None
) -> None:
    chat, code = _filed(gateway)
    with gateway.db.session() as session:
        complaint = session.scalar(select(Complaint))
        assert complaint is not None
        workflow.transition(session, complaint, Status.PENDING, actor="user:1", action="pending")
        session.commit()
    replies = chat.send("Lampu penerangan di Desa Leteh juga mati semua sejak minggu lalu")
    assert replies == [
        f"Terima kasih, jawaban Anda sudah kami teruskan ke admin untuk laporan {code}."
    ]
    [complaint] = _complaints(gateway)
    assert complaint.status == Status.RECEIVED


def test_baru_alone_still_starts_a_new_report_at_once(gateway: Gateway, directory: None) -> None:
    chat, _ = _filed(gateway)
    assert "laporan baru" in chat.send("BARU")[0]
    chat.send(RUBBISH)
    chat.send("kirim")
    assert len(_complaints(gateway)) == 2


def test_no_answer_within_the_idle_window_keeps_it_as_an_addition(
    gateway: Gateway, directory: None
) -> None:
    chat, code = _filed(gateway)
    chat.send(RUBBISH)
    replies = chat.wait()
    assert len(replies) == 1 and code in replies[0] and "BARU" in replies[0]
    assert _additions(gateway) == [RUBBISH]
    assert _state(gateway) == "submitted"


def test_batal_drops_what_was_held(gateway: Gateway, directory: None) -> None:
    chat, _ = _filed(gateway)
    chat.send(RUBBISH)
    chat.send("batal")
    assert _additions(gateway) == [] and len(_complaints(gateway)) == 1
    assert _state(gateway) == "submitted"


def test_english_and_telegram_buttons(gateway: Gateway, directory: None) -> None:
    chat = Chat(gateway, channel="telegram", sender="5550077")
    chat.send("Hello, the road near the market in Sumbergirang Lasem has big potholes")
    chat.send("yes")
    code = find_code(chat.send("send")[0])
    replies = chat.send("The street lights in Leteh village have been dead for a week now")
    assert replies == [
        f"Is this an addition to report {code} or a new report? Reply ADD for an addition, "
        "or NEW for a new report."
    ]
    assert chat.last[0].payload["buttons"] == [
        {"label": f"Add to {code}", "payload": "cmd:add"},
        {"label": "New report", "payload": "cmd:new"},
    ]
    assert chat.send(button="cmd:add") == [f"We added your message to report {code}."]


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("TAMBAH", Command.ADD),
        ("tambahkan", Command.ADD),
        ("tambahan", Command.ADD),
        ("tmbah", Command.ADD),
        ("add", Command.ADD),
        ("baru", Command.NEW),
        ("bru", None),  # too short to guess
        ("tambah lagi lubangnya di depan toko", None),  # a sentence, not a command
    ],
)
def test_tambah_is_a_typo_tolerant_command(typed: str, command: Command | None) -> None:
    parsed = parse_command(typed)
    assert (parsed.command if parsed else None) is command


def test_every_state_answers_every_input() -> None:
    from gateway.bot.conversation import STATES, Input, State

    assert set(STATES) == set(State)
    for state, row in STATES.items():
        assert set(row) == set(Input), state


def test_the_tracking_code_reply_summarises_the_content_not_the_greeting(
    gateway: Gateway,
) -> None:
    chat = Chat(gateway, sender="+6281200000077")
    chat.send("halo")
    chat.send("ya")
    chat.send(
        "Selamat pagi min, saya mau lapor lampu penerangan jalan di gang Melati RT 02 RW 04 "
        "Kelurahan Leteh mati sudah 3 minggu, mohon ditindaklanjuti"
    )
    [reply] = chat.send("kirim")
    assert (
        "Ringkasan: Lampu penerangan jalan di gang Melati RT 02/RW 04 Kelurahan Leteh mati. "
        in reply
    )


def test_after_an_answer_a_response_is_feedback_not_a_question(
    gateway: Gateway, directory: None
) -> None:
    chat, code = _filed(gateway)
    with gateway.db.session() as session:
        complaint = session.scalar(select(Complaint))
        assert complaint is not None
        complaint.status = Status.ANSWERED.value  # test setup: the agency answered
        session.commit()
    replies = chat.send("Terima kasih, tapi bagaimana cara saya memantau perbaikan berikutnya?")
    assert replies == [f"Terima kasih atas tanggapan Anda untuk laporan {code}."]
    replies = chat.send(RUBBISH)  # another place: still asked about
    assert replies[0].startswith(f"Ini tambahan untuk laporan {code}")
