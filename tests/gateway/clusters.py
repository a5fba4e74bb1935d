"""A case of several reporters, for tests: complaints filed through the real intake (the bot on
SMS/WhatsApp/Telegram, the web form's JSON twin), the admin's and the agency's actions on the
case, and what each reporter was queued — read per reporter and per event from the outbox.

Everything a test needs to tell "each reporter got each notice once" lives here, so the unit
tests, the core round trip and the browser test read the same way (and the browser test can be
extended by adding steps, not plumbing).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from gateway.admin.directory import load_directory, sync_directory
from gateway.complaints import actions, lifecycle, workflow
from gateway.complaints.tracking import find_code
from gateway.context import Gateway
from gateway.store.models import Agency, Complaint, ComplaintEvent, OutboxItem
from tests.gateway.chat import Chat

# One problem (a road in one village), told a little differently by each reporter.
ROAD = "Jalan berlubang besar di Desa Sumbergirang Kecamatan Lasem, sudah sebulan belum diperbaiki"
ANSWER = "Lubang di jalan Desa Sumbergirang sudah ditambal oleh tim DPUPR pada hari Senin."
REPLY = "reply"


def directory(gateway: Gateway) -> int:
    """The demo agency directory (DPUPR and its two liaison officers); returns DPUPR's id."""
    with gateway.db.session() as session:
        sync_directory(session, load_directory(gateway.settings.agency_directory_file))
        session.commit()
        agency = session.scalar(select(Agency).where(Agency.code == "DPUPR"))
        assert agency is not None and agency.id is not None
        return agency.id


@dataclass
class Reporter:
    """One reporter of the case: the complaint they filed and where they are told things."""

    code: str
    channel: str
    address: str
    chat: Chat | None = None  # None: the web form

    def says(self, text: str) -> list[str]:
        assert self.chat is not None, "a web-form reporter answers on their private page"
        return self.chat.send(text)


def by_chat(gateway: Gateway, channel: str, sender: str, text: str = ROAD) -> Reporter:
    chat = Chat(gateway, channel=channel, sender=sender)
    chat.send("halo")
    chat.send("ya")
    chat.send(text)
    code = find_code(chat.send("kirim")[0])
    assert code, "the bot gave no tracking code"
    return Reporter(code, channel, sender, chat)


def by_web(client, text: str = ROAD, phone: str | None = None) -> tuple[Reporter, str]:  # type: ignore[no-untyped-def]
    """A web-form reporter (the JSON twin of /lapor); returns them and their private URL."""
    body: dict[str, object] = {"description": text, "consent": True}
    if phone:
        body["phone"] = phone
    response = client.post("/api/v1/complaints", json=body)
    assert response.status_code == 202, response.text
    data = response.json()
    code = data["tracking_code"]
    with client.app.state.gateway.db.read_session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert complaint is not None, "the web form's complaint was not created"
        address = complaint.reply_address or ""
    return Reporter(code, "webform", address), data["private_url"]


def complaint(gateway: Gateway, code: str) -> Complaint:
    with gateway.db.read_session() as session:
        found = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert found is not None, code
        return found


def act(gateway: Gateway, code: str, action: str, *, at: datetime | None = None, **kw: object):  # type: ignore[no-untyped-def]
    """`actions.<action>` on the complaint as an admin, committed; returns the event."""
    with gateway.db.session() as session:
        found = session.scalar(select(Complaint).where(Complaint.tracking_code == code))
        assert found is not None, code
        event = getattr(actions, action)(gateway, session, found, actor="user:1", now=at, **kw)
        workflow.commit(session)
        return event


def verify(gateway: Gateway, code: str, at: datetime | None = None) -> None:
    act(
        gateway,
        code,
        "verify",
        at=at,
        relevant=True,
        complete=True,
        clear=True,
        title="Jalan berlubang di Sumbergirang",
        category="pengaduan",
    )


def dispose(gateway: Gateway, code: str, agency_id: int, at: datetime | None = None) -> None:
    act(gateway, code, "dispose", at=at, agency_id=agency_id)


def answer(gateway: Gateway, code: str, at: datetime | None = None, **kw: object) -> None:
    act(gateway, code, "answer", at=at, text=ANSWER, **kw)


def work_the_queue(gateway: Gateway, codes: list[str], agency_id: int) -> list[str]:
    """An admin going down the inbox verifying and disposing every complaint of the list, as was
    seen live; returns what was refused (a follower of the case: act on the primary)."""
    refused = []
    for code in codes:
        for step in (lambda c: verify(gateway, c), lambda c: dispose(gateway, c, agency_id)):
            try:
                step(code)
            except lifecycle.FollowsCase:
                refused.append(code)
            except (actions.NotAllowed, workflow.TransitionError):
                pass
    return refused


def replies(gateway: Gateway) -> list[OutboxItem]:
    with gateway.db.read_session() as session:
        return list(
            session.scalars(
                select(OutboxItem).where(OutboxItem.kind == REPLY).order_by(OutboxItem.id)
            ).all()
        )


def texts_to(gateway: Gateway, reporter: Reporter) -> list[str]:
    """Every text queued to the reporter on their own thread, oldest first."""
    return [
        row.payload["text"]
        for row in replies(gateway)
        if (row.channel, row.recipient) == (reporter.channel, reporter.address)
    ]


def notices_per_reporter_and_event(gateway: Gateway) -> Counter[tuple[str, str, str]]:
    """(channel, address, event) -> how many messages: the event is the idempotency key's event
    part (`verified:12`, `core:…`, `auto_closed`) of the status notices (not the bot's own
    replies, which are keyed by the message that caused them)."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for row in replies(gateway):
        if row.idempotency_key.startswith("bot:"):
            continue
        rest = row.idempotency_key.split(":", 1)[1]  # after the tracking code
        suffix = f":{row.channel}:{row.recipient}"
        event = rest[: -len(suffix)] if rest.endswith(suffix) else rest
        counts[(row.channel or "", row.recipient or "", event)] += 1
    return counts


def actions_of(gateway: Gateway, code: str) -> list[str]:
    with gateway.db.read_session() as session:
        return list(
            session.scalars(
                select(ComplaintEvent.action)
                .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
                .where(Complaint.tracking_code == code)
                .order_by(ComplaintEvent.id)
            ).all()
        )


def outbox_kinds(gateway: Gateway) -> Counter[str]:
    with gateway.db.read_session() as session:
        return Counter(session.scalars(select(OutboxItem.kind)).all())
