"""The bot: the conversation with a citizen on a chat channel (SMS, WhatsApp, Telegram).

One table (`STATES`) says what each state does with each kind of input. Loose messages within
an idle window form one draft; the bot asks once for what is missing, submits the draft as a
complaint and answers with the tracking code; later messages add to that complaint until it is
closed — except a message clearly about another problem (gateway/bot/additions.py): that one is
held and the bot asks once whether it adds to the open report or starts a new one (TAMBAH /
BARU). Nothing personal is kept before the reporter consents.

Every reply is an outbox row keyed by the inbound message (or the draft) that caused it, so
processing a message twice can never reply twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from channels.base import Button, MessageKind
from config.messages import t
from gateway.bot import additions, chatter, public_only, public_posts
from gateway.bot.commands import Command, ParsedCommand, parse_command, parse_feedback
from gateway.bot.reporters import identify
from gateway.clock import utcnow
from gateway.complaints import actions, dedup, feedback, workflow
from gateway.complaints.create import attachments_from, file_complaint
from gateway.complaints.tracking import normalize_code
from gateway.outbox.payloads import ChannelPayload
from gateway.outbox.queue import OutboxMessage
from gateway.store.models import (
    Complaint,
    Conversation,
    InboundMessage,
    InboundStatus,
    Reporter,
    ReporterIdentity,
    Status,
)
from normalizer.language import guess_language
from normalizer.location import Gazetteer, find_places
from normalizer.title import shorten

if TYPE_CHECKING:
    from gateway.parts import Conversing


class State(StrEnum):
    NEW = "new"  # never talked, or consent declined
    AWAITING_CONSENT = "awaiting_consent"
    IDLE = "idle"  # consented, no draft
    DRAFTING = "drafting"  # collecting messages into a draft
    ASKED = "asked"  # asked once for what is missing
    SUBMITTED = "submitted"  # has an open complaint; messages add to it
    # A message about another problem came: held (a draft row) until the reporter answers
    # whether it adds to the open complaint (TAMBAH) or starts a new one (BARU).
    ADD_OR_NEW = "add_or_new"


class Input(StrEnum):
    CONTENT = "content"  # text, photo, location: something for a complaint
    EMPTY = "empty"  # a sticker-like message with nothing we can use
    GREETING = "greeting"  # "halo min", "selamat pagi": no complaint text yet
    YES = "yes"
    NO = "no"
    SUBMIT = "submit"
    NEW = "new"
    ADD = "add"  # TAMBAH: it belongs to the open complaint
    CANCEL = "cancel"
    IDLE = "idle"  # the idle window passed (from the sweep, not a message)


# Commands every state answers the same way.
_ANYWHERE = {
    Command.HELP,
    Command.CHECK,
    Command.START,
    Command.ENGLISH,
    Command.INDONESIAN,
    Command.ANONIM,
    Command.RAHASIA,
}

PLACE_WORDS = re.compile(
    r"\b(jl|jln|jalan|gg|gang|desa|ds|dusun|dukuh|kel|kelurahan|kec|kecamatan|rt|rw|kampung|"
    r"perum|perumahan|pasar|depan|dekat|samping|belakang|sebelah|simpang|perempatan|pertigaan|"
    r"sd|smp|sma|puskesmas|masjid|balai|alun|street|road|village|near)\b",
    re.IGNORECASE,
)


@dataclass
class Turn:
    """What handling one input produced: replies and where the conversation goes."""

    gateway: Conversing
    session: Session
    conversation: Conversation
    reporter: Reporter
    now: datetime
    row: InboundMessage | None = None  # None for the idle sweep
    replies: list[OutboxMessage] = field(default_factory=list)
    reply_seq: int = 0

    @property
    def lang(self) -> str:
        return self.conversation.language

    def text(self, key: str, **values: object) -> str:
        return t(self.lang, key, **values)

    def say(
        self,
        text: str,
        *,
        kind: str = "reply",
        buttons: tuple[Button, ...] = (),
        request_location: bool = False,
        cause: str | None = None,
    ) -> None:
        conversation = self.conversation
        self.reply_seq += 1
        cause = cause or (f"in{self.row.id}" if self.row else "sweep")
        self.replies.append(
            OutboxMessage(
                kind="reply",
                key=f"bot:{conversation.channel}:{conversation.address}:{cause}:{self.reply_seq}",
                channel=conversation.channel,
                recipient=conversation.address,
                complaint_id=conversation.active_complaint_id,
                payload=ChannelPayload(
                    text,
                    kind=kind,
                    language=self.lang,
                    buttons=buttons,
                    request_location=request_location,
                    template_variables={"text": text},
                    last_inbound_at=self.window_opened_at(),
                ),
            )
        )

    def move(self, state: State) -> None:
        self.conversation.state = state.value

    def window_opened_at(self) -> datetime | None:
        """When the person last wrote to us directly, which opens the provider's messaging
        window (WhatsApp, Messenger, Instagram: 24 hours). A public comment opens none, so the
        idle sweep after one must not take the comment's time for it."""
        if self.row is not None and not public_posts.is_public(self.row):
            return self.now
        conversation = self.conversation
        identity = self.session.execute(
            select(col(ReporterIdentity.last_inbound_at))
            .where(col(ReporterIdentity.channel) == conversation.channel)
            .where(col(ReporterIdentity.address) == conversation.address)
        ).first()
        return identity[0] if identity is not None else conversation.last_message_at


# --- the draft --------------------------------------------------------------------------------


def draft_rows(session: Session, conversation: Conversation) -> list[InboundMessage]:
    return list(
        session.scalars(
            select(InboundMessage)
            .where(col(InboundMessage.conversation_id) == conversation.id)
            .where(col(InboundMessage.complaint_id).is_(None))
            .where(col(InboundMessage.status) == InboundStatus.PROCESSED)
            .where(col(InboundMessage.kind) != MessageKind.EDITED.value)
            .order_by(col(InboundMessage.id))
        ).all()
    )


@dataclass(frozen=True)
class Draft:
    text: str
    photos: int
    latitude: float | None
    longitude: float | None
    location_label: str | None
    names_a_place: bool = False  # the gazetteer found a kecamatan or desa in the text

    @property
    def has_what(self) -> bool:
        return len(self.text.split()) >= 3

    @property
    def has_where(self) -> bool:
        return (
            self.latitude is not None
            or bool(self.location_label)
            or self.names_a_place
            or bool(PLACE_WORDS.search(self.text))
        )

    @property
    def is_empty(self) -> bool:
        return not self.text.strip() and not self.photos and self.latitude is None


def assemble(rows: list[InboundMessage], gazetteer: Gazetteer | None = None) -> Draft:
    texts = [row.text.strip() for row in rows if _content_text(row)]
    located = [row for row in rows if row.latitude is not None or row.location_label]
    last = located[-1] if located else None
    text = "\n".join(texts)
    return Draft(
        text=text,
        names_a_place=gazetteer is not None and find_places(text, gazetteer) is not None,
        photos=sum(len(row.media) for row in rows),
        latitude=last.latitude if last else None,
        longitude=last.longitude if last else None,
        location_label=last.location_label if last else None,
    )


GREETING_WORDS = frozenset(
    "halo hallo hai hi hello hey p ping permisi min admin kak pak bu mas mbak selamat pagi siang "
    "sore malam assalamualaikum assalamu alaikum salam wr wb good morning afternoon evening "
    "test tes".split()
)


def _content_text(row: InboundMessage) -> str:
    """The text a message contributes to a complaint: not commands, consent words, or a bare
    greeting ("halo min", "selamat pagi")."""
    text = (row.text or "").strip()
    if not text or parse_command(text, row.button_payload) is not None:
        return ""
    return "" if _is_greeting(row) else text


def _is_greeting(row: InboundMessage) -> bool:
    words = re.findall(r"[a-z]+", (row.text or "").lower())
    return bool(words) and all(word in GREETING_WORDS for word in words)


def _has_content(row: InboundMessage) -> bool:
    return bool(_content_text(row) or row.media or row.latitude is not None or row.location_label)


# --- handlers ---------------------------------------------------------------------------------


def ask_consent(turn: Turn) -> None:
    name = f" {turn.reporter.display_name.split()[0]}" if turn.reporter.display_name else ""
    turn.say(turn.text("bot.greeting", name=name))
    turn.say(
        turn.text("bot.consent"),
        kind="question",
        buttons=(
            Button(turn.text("bot.consent_yes"), "cmd:yes"),
            Button(turn.text("bot.consent_no"), "cmd:no"),
        ),
    )
    turn.move(State.AWAITING_CONSENT)


def consent_given(turn: Turn) -> None:
    turn.reporter.consent_at = turn.now
    turn.session.add(turn.reporter)
    rows = draft_rows(turn.session, turn.conversation)
    if any(_has_content(r) for r in rows):
        # What they wrote before consenting starts the draft.
        start_draft(turn, acknowledge=False)
        turn.say(turn.text("bot.draft_started"))
    else:
        turn.say(turn.text("bot.consent_given"))
        turn.move(State.IDLE)


def consent_declined(turn: Turn) -> None:
    """Keep nothing but the fact that consent was asked: erase what they sent."""
    for row in turn.session.scalars(
        select(InboundMessage)
        .where(col(InboundMessage.conversation_id) == turn.conversation.id)
        .where(col(InboundMessage.complaint_id).is_(None))
    ).all():
        row.text = ""
        row.media = []
        row.latitude = row.longitude = None
        row.location_label = None
        row.raw_payload = ""
        row.contact_phone = None
        row.sender_name = None
        row.extra = {}
        row.status = InboundStatus.IGNORED.value
        turn.session.add(row)
    turn.reporter.display_name = None
    turn.session.add(turn.reporter)
    turn.say(turn.text("bot.consent_declined"))
    turn.move(State.NEW)


def repeat_consent(turn: Turn) -> None:
    turn.say(
        turn.text("bot.consent"),
        kind="question",
        buttons=(
            Button(turn.text("bot.consent_yes"), "cmd:yes"),
            Button(turn.text("bot.consent_no"), "cmd:no"),
        ),
    )


def start_draft(turn: Turn, *, acknowledge: bool = True) -> None:
    conversation = turn.conversation
    conversation.draft_started_at = turn.now
    conversation.asked_missing = False
    conversation.draft_anonim = conversation.draft_rahasia = False
    turn.move(State.DRAFTING)
    if acknowledge:
        turn.say(turn.text("bot.draft_started"))


def start_draft_unless_chat(turn: Turn) -> None:
    """No open complaint, and a message comes: a draft starts — unless the message is only
    thanks, chit-chat or a joke (`normalizer.not_report`: no sign of a report at all) with no
    photo or location. Then the bot says how to report, and the message is set aside (kept,
    in no draft). Everything else, spam and promotions too, becomes a complaint the inbox
    offers for archiving: the admin decides, not the bot."""
    row = turn.row
    if row is not None and chatter.is_chatter(turn.gateway, turn.session, row, _content_text(row)):
        row.status = InboundStatus.IGNORED.value
        turn.session.add(row)
        turn.say(turn.text("bot.not_a_report"))
        return
    start_draft(turn)


def add_to_draft(turn: Turn) -> None:
    """Another message of the same draft: quiet, the idle window restarts."""


def ask_missing(turn: Turn, draft: Draft) -> None:
    if not draft.has_what and not draft.has_where:
        key = "bot.ask_both"
    elif not draft.has_what:
        key = "bot.ask_what"
    else:
        key = "bot.ask_where"
    turn.say(
        f"{turn.text(key)} {turn.text('bot.ask_suffix')}",
        kind="question",
        request_location=not draft.has_where,
        cause=f"ask{turn.conversation.id}-{int(turn.conversation.draft_started_at.timestamp())}"  # type: ignore[union-attr]
        if turn.row is None
        else None,
    )
    turn.conversation.asked_missing = True
    turn.move(State.ASKED)


def finish_draft(turn: Turn) -> None:
    """KIRIM or the idle window: ask once for what is missing, else submit."""
    rows = draft_rows(turn.session, turn.conversation)
    draft = assemble(rows, turn.gateway.enricher.gazetteer)
    if draft.is_empty:
        if turn.row is not None:
            turn.say(turn.text("bot.empty_draft"))
        return
    if not (draft.has_what and draft.has_where) and not turn.conversation.asked_missing:
        ask_missing(turn, draft)
        return
    submit(turn, rows, draft)


def submit(turn: Turn, rows: list[InboundMessage], draft: Draft) -> Complaint:
    gateway, session, conversation = turn.gateway, turn.session, turn.conversation
    first = rows[0]
    complaint = Complaint(
        tracking_code=_free_code(session),
        reporter_id=turn.reporter.id,
        origin_channel=conversation.channel,
        reply_channel=conversation.channel,
        reply_address=conversation.address,
        language=conversation.language,
        original_text=draft.text,
        location_text=draft.location_label,
        latitude=draft.latitude,
        longitude=draft.longitude,
        anonim=conversation.draft_anonim,
        rahasia=conversation.draft_rahasia,
        received_at=first.received_at,
        source_url=public_posts.first_link(rows),  # started as a comment or an X mention
    )
    match = file_complaint(gateway, session, complaint, now=turn.now)
    for row in rows:
        row.complaint_id = complaint.id
        session.add(row)
        for attachment in attachments_from(row, complaint.id):  # type: ignore[arg-type]
            session.add(attachment)
    conversation.draft_started_at = None
    turn.move(State.SUBMITTED)
    if match is not None and match.decision == dedup.SAME_REPORTER_DUPLICATE:
        # They sent this before: one complaint, and they follow the one they already have.
        conversation.active_complaint_id = match.other.id
        turn.say(
            turn.text("bot.merged", code=match.other.tracking_code),
            cause=f"submitted-{complaint.tracking_code}",
        )
        return complaint
    conversation.active_complaint_id = complaint.id
    details = ""
    if draft.location_label:
        details += turn.text("bot.submitted_location", location=draft.location_label)
    if draft.photos:
        details += turn.text("bot.submitted_photos", count=draft.photos)
    flags = [
        turn.text(f"bot.flag_{flag}_label")
        for flag, on in (("anonim", complaint.anonim), ("rahasia", complaint.rahasia))
        if on
    ]
    if flags:
        details += turn.text("bot.submitted_flags", flags=", ".join(flags))
    turn.say(
        turn.text(
            "bot.submitted",
            code=complaint.tracking_code,
            # The title, cut at a phrase boundary; the text itself when it has none.
            summary=(complaint.title or shorten(complaint.clean_text)).rstrip(".!?… "),
            details=details,
        ),
        cause=f"submitted-{complaint.tracking_code}",
    )
    return complaint


def _open_complaint(turn: Turn) -> Complaint | None:
    complaint = turn.session.get(Complaint, turn.conversation.active_complaint_id)
    if complaint is None or Status(complaint.status) not in workflow.OPEN_STATES:
        return None
    return complaint


def add_to_complaint(turn: Turn) -> None:
    """A message after submitting joins the open complaint (or answers the admin's question);
    one clearly about another problem is held, and the reporter asked: TAMBAH or BARU."""
    row = turn.row
    assert row is not None
    complaint = _open_complaint(turn)
    if complaint is None:
        turn.conversation.active_complaint_id = None
        start_draft(turn)
        return
    if _about_something_else(turn, complaint, row):
        ask_add_or_new(turn, complaint)
        return
    join_complaint(turn, complaint, row)


def _about_something_else(turn: Turn, complaint: Complaint, row: InboundMessage) -> bool:
    """Photos, locations, replies, answers to the admin's question (pending) and responses to
    an answer (PUAS, a rating) are additions whatever they say; so is anything not clearly
    about another problem."""
    text = _content_text(row)
    if not text or row.reply_to or complaint.status == Status.PENDING:
        return False
    if complaint.status == Status.ANSWERED:
        feedback = parse_feedback(text)
        if feedback.satisfied is not None or feedback.rating is not None:
            return False
    return additions.about_something_else(turn.gateway, turn.session, complaint, text)


def join_complaint(turn: Turn, complaint: Complaint, row: InboundMessage) -> None:
    """One message becomes part of the open complaint: its photos, its words for the admin (and
    the answer the admin asked for, or the reporter's response to an answer)."""
    session = turn.session
    row.complaint_id = complaint.id
    session.add(row)
    for attachment in attachments_from(row, complaint.id):  # type: ignore[arg-type]
        session.add(attachment)
    note = _content_text(row) or None
    if complaint.status == Status.PENDING:
        actions.resume_from_pending(
            session, complaint, "reporter", gateway=turn.gateway, note=note, now=turn.now
        )
        turn.say(turn.text("bot.resumed", code=complaint.tracking_code))
        return
    if complaint.status == Status.ANSWERED and note and turn.row is not None:
        give_feedback(turn, complaint, note)
        return
    workflow.record(
        session, complaint, actor="reporter", action="reporter_message", note=note, now=turn.now
    )
    # One acknowledgement per burst of messages, not one per message.
    last_ack = turn.conversation.last_ack_at
    if last_ack is None or turn.now - last_ack > turn.gateway.conversation_idle:
        turn.say(turn.text("bot.added", code=complaint.tracking_code))
        turn.conversation.last_ack_at = turn.now


def ask_add_or_new(turn: Turn, complaint: Complaint) -> None:
    """Once: is the held message an addition to the open complaint or a new one?"""
    code = complaint.tracking_code
    turn.say(
        turn.text("bot.add_or_new", code=code),
        kind="question",
        buttons=(
            Button(turn.text("bot.add_button", code=code), "cmd:add"),
            Button(turn.text("bot.new_button"), "cmd:new"),
        ),
    )
    turn.move(State.ADD_OR_NEW)


def repeat_add_or_new(turn: Turn) -> None:
    """An answer that is neither TAMBAH nor BARU ("ya", "kirim"): say what is expected."""
    complaint = _open_complaint(turn)
    if complaint is None:
        new_from_held(turn)
        return
    ask_add_or_new(turn, complaint)


def _held(turn: Turn) -> list[InboundMessage]:
    return [row for row in draft_rows(turn.session, turn.conversation) if _has_content(row)]


def add_held(turn: Turn) -> None:
    """TAMBAH: what was held joins the open complaint, acknowledged once."""
    complaint = _open_complaint(turn)
    if complaint is None:  # closed meanwhile: it can only be a new report
        new_from_held(turn)
        return
    turn.move(State.SUBMITTED)
    turn.conversation.last_ack_at = None  # this answer is always acknowledged
    for row in _held(turn):
        join_complaint(turn, complaint, row)


def add_held_after_wait(turn: Turn) -> None:
    """No answer within the idle window: nothing may wait for ever, so what was held joins
    the open complaint (the admin reads it), and the reporter is told how to file it apart."""
    held = _held(turn)
    complaint = _open_complaint(turn)
    if not held:
        turn.move(State.SUBMITTED if complaint else State.IDLE)
        return
    if complaint is None:  # closed meanwhile: a draft, filed when the next window passes
        turn.conversation.active_complaint_id = None
        start_draft(turn, acknowledge=False)
        return
    turn.move(State.SUBMITTED)
    turn.conversation.last_ack_at = turn.now  # told below, in one message
    for row in held:
        join_complaint(turn, complaint, row)
    turn.say(
        turn.text("bot.added_after_wait", code=complaint.tracking_code),
        cause=f"held{turn.conversation.id}-{held[0].id}",
    )


def new_from_held(turn: Turn) -> None:
    """BARU: what was held starts a new draft (KIRIM or the idle window files it)."""
    turn.conversation.active_complaint_id = None
    start_draft(turn, acknowledge=False)
    turn.say(turn.text("bot.new_from_message"))


def give_feedback(turn: Turn, complaint: Complaint, text: str) -> None:
    """The reporter's response to an answer counts for the whole case
    (gateway/complaints/feedback.py); here the reporter is thanked, and a closed case ends the
    conversation's complaint."""
    assert turn.row is not None
    result = feedback.give(
        turn.gateway, turn.session, complaint, text, key=f"in{turn.row.id}", now=turn.now
    )
    if result.outcome is feedback.Outcome.REOPENED:
        turn.say(turn.text("reporter.feedback_reopened", code=complaint.tracking_code))
        return
    if result.outcome is feedback.Outcome.CLOSED:
        turn.conversation.active_complaint_id = None
        turn.move(State.IDLE)
    turn.say(turn.text("reporter.feedback_thanks", code=complaint.tracking_code))


def cancel_draft(turn: Turn) -> None:
    for row in draft_rows(turn.session, turn.conversation):
        row.status = InboundStatus.IGNORED.value  # kept for the record, out of any draft
        turn.session.add(row)
    turn.conversation.draft_started_at = None
    turn.say(turn.text("bot.cancelled"))
    turn.move(State.SUBMITTED if turn.conversation.active_complaint_id else State.IDLE)


def nothing_to_cancel(turn: Turn) -> None:
    turn.say(turn.text("bot.nothing_to_cancel"))


def new_report(turn: Turn) -> None:
    turn.conversation.active_complaint_id = None
    turn.conversation.draft_started_at = None
    turn.move(State.IDLE)
    turn.say(turn.text("bot.new_draft"))


def empty_message(turn: Turn) -> None:
    turn.say(turn.text("bot.unsupported"))


def invite(turn: Turn) -> None:
    """A greeting with no draft: ask for the complaint."""
    turn.say(turn.text("bot.consent_given"))


def remind_open_complaint(turn: Turn) -> None:
    """A greeting after submitting: where their complaint stands, and how to start another."""
    complaint = turn.session.get(Complaint, turn.conversation.active_complaint_id)
    if complaint is None or Status(complaint.status) not in workflow.OPEN_STATES:
        turn.conversation.active_complaint_id = None
        turn.move(State.IDLE)
        invite(turn)
        return
    turn.say(
        turn.text(
            "bot.greeting_submitted",
            code=complaint.tracking_code,
            status=turn.text(f"status.{complaint.status}"),
        )
    )


def ignore(turn: Turn) -> None:
    """Nothing to do (e.g. the idle sweep found nothing pending)."""


Handler = Callable[[Turn], None]

# The conversation, as one table: state -> input -> handler.
STATES: dict[State, dict[Input, Handler]] = {
    State.NEW: {
        Input.CONTENT: ask_consent,
        Input.EMPTY: ask_consent,
        Input.GREETING: ask_consent,
        Input.YES: ask_consent,
        Input.NO: ask_consent,
        Input.SUBMIT: ask_consent,
        Input.NEW: ask_consent,
        Input.ADD: ask_consent,
        Input.CANCEL: ask_consent,
        Input.IDLE: ignore,
    },
    State.AWAITING_CONSENT: {
        Input.CONTENT: repeat_consent,
        Input.EMPTY: repeat_consent,
        Input.GREETING: repeat_consent,
        Input.YES: consent_given,
        Input.NO: consent_declined,
        Input.SUBMIT: repeat_consent,
        Input.NEW: repeat_consent,
        Input.ADD: repeat_consent,
        Input.CANCEL: consent_declined,
        Input.IDLE: ignore,
    },
    State.IDLE: {
        Input.CONTENT: start_draft_unless_chat,
        Input.EMPTY: empty_message,
        Input.GREETING: invite,
        Input.YES: ignore,
        Input.NO: ignore,
        Input.SUBMIT: lambda turn: turn.say(turn.text("bot.empty_draft")),
        Input.NEW: new_report,
        Input.ADD: invite,
        Input.CANCEL: nothing_to_cancel,
        Input.IDLE: ignore,
    },
    State.DRAFTING: {
        Input.CONTENT: add_to_draft,
        Input.EMPTY: empty_message,
        Input.GREETING: add_to_draft,
        Input.YES: add_to_draft,
        Input.NO: add_to_draft,
        Input.SUBMIT: finish_draft,
        Input.NEW: new_report,
        Input.ADD: add_to_draft,
        Input.CANCEL: cancel_draft,
        Input.IDLE: finish_draft,
    },
    State.ASKED: {
        Input.CONTENT: add_to_draft,
        Input.EMPTY: empty_message,
        Input.GREETING: add_to_draft,
        Input.YES: add_to_draft,
        Input.NO: add_to_draft,
        Input.SUBMIT: finish_draft,
        Input.NEW: new_report,
        Input.ADD: add_to_draft,
        Input.CANCEL: cancel_draft,
        Input.IDLE: finish_draft,
    },
    State.SUBMITTED: {
        Input.CONTENT: add_to_complaint,
        Input.EMPTY: empty_message,
        Input.GREETING: remind_open_complaint,
        Input.YES: add_to_complaint,
        Input.NO: add_to_complaint,
        Input.SUBMIT: ignore,
        Input.NEW: new_report,
        Input.ADD: remind_open_complaint,
        Input.CANCEL: nothing_to_cancel,
        Input.IDLE: ignore,
    },
    State.ADD_OR_NEW: {
        Input.CONTENT: add_to_draft,  # held with the first, quietly: asked once
        Input.EMPTY: empty_message,
        Input.GREETING: add_to_draft,
        Input.YES: repeat_add_or_new,
        Input.NO: repeat_add_or_new,
        Input.SUBMIT: repeat_add_or_new,
        Input.NEW: new_from_held,
        Input.ADD: add_held,
        Input.CANCEL: cancel_draft,  # drops what was held
        Input.IDLE: add_held_after_wait,
    },
}


# --- commands answered in any state ------------------------------------------------------------


def answer_anywhere(turn: Turn, parsed: ParsedCommand) -> None:
    command = parsed.command
    if command is Command.HELP:
        turn.say(turn.text("bot.help"))
    elif command is Command.CHECK:
        check_status(turn, parsed.argument)
    elif command is Command.START:
        if turn.reporter.consent_at is None:
            ask_consent(turn)
        else:
            name = f" {turn.reporter.display_name.split()[0]}" if turn.reporter.display_name else ""
            turn.say(turn.text("bot.greeting", name=name))
            turn.say(turn.text("bot.consent_given"))
    elif command in (Command.ENGLISH, Command.INDONESIAN):
        turn.conversation.language = "en" if command is Command.ENGLISH else "id"
        turn.reporter.language = turn.conversation.language
        turn.say(turn.text("bot.language_set"))
    elif command in (Command.ANONIM, Command.RAHASIA):
        set_flag(turn, "anonim" if command is Command.ANONIM else "rahasia")


def set_flag(turn: Turn, flag: str) -> None:
    conversation = turn.conversation
    if conversation.state in (State.DRAFTING, State.ASKED, State.IDLE):
        setattr(conversation, f"draft_{flag}", True)
    elif conversation.active_complaint_id:
        complaint = turn.session.get(Complaint, conversation.active_complaint_id)
        if complaint is not None and not getattr(complaint, flag):
            workflow.record(
                turn.session,
                complaint,
                actor="reporter",
                action=f"set_{flag}",
                changes={flag: True},
                now=turn.now,
            )
    turn.say(turn.text(f"bot.flag_{flag}"))


def check_status(turn: Turn, argument: str | None) -> None:
    session = turn.session
    mine = select(Complaint).where(col(Complaint.reporter_id) == turn.reporter.id)
    if argument:
        code = normalize_code(argument)
        if code is None:
            turn.say(turn.text("bot.code_invalid"))
            return
        complaint = session.scalar(mine.where(col(Complaint.tracking_code) == code))
        if complaint is None:
            turn.say(turn.text("bot.status_not_found", code=code))
            return
    else:
        complaint = session.scalar(mine.order_by(col(Complaint.id).desc()).limit(1))
        if complaint is None:
            turn.say(turn.text("bot.status_none"))
            return
    from zoneinfo import ZoneInfo

    updated = complaint.updated_at.astimezone(ZoneInfo(turn.gateway.settings.timezone))
    turn.say(
        turn.text(
            "bot.status",
            code=complaint.tracking_code,
            status=turn.text(f"status.{complaint.status}"),
            updated=updated.strftime("%d-%m-%Y %H:%M"),
        )
    )


# --- entry points -----------------------------------------------------------------------------


def _free_code(session: Session) -> str:
    from gateway.intake.inbound import _free_code as free

    return free(session)


# Built once: every chat message locks its conversation with it.
_CONVERSATION = (
    select(Conversation)
    .where(col(Conversation.channel) == bindparam("channel"))
    .where(col(Conversation.address) == bindparam("address"))
    .with_for_update()
)


def _conversation(
    session: Session, channel: str, address: str, reporter: Reporter, now: datetime
) -> Conversation:
    conversation = session.scalar(_CONVERSATION, {"channel": channel, "address": address})
    if conversation is None:
        conversation = Conversation(
            channel=channel,
            address=address,
            reporter_id=reporter.id,  # type: ignore[arg-type]
            language=reporter.language or "id",
            state=(State.IDLE if reporter.consent_at else State.NEW).value,
            created_at=now,
        )
        session.add(conversation)
        session.flush()
    return conversation


def classify(row: InboundMessage, parsed: ParsedCommand | None) -> Input:
    if parsed is not None:
        mapping = {
            Command.YES: Input.YES,
            Command.NO: Input.NO,
            Command.SUBMIT: Input.SUBMIT,
            Command.NEW: Input.NEW,
            Command.ADD: Input.ADD,
            Command.CANCEL: Input.CANCEL,
        }
        if parsed.command in mapping:
            return mapping[parsed.command]
    if _has_content(row):
        return Input.CONTENT
    return Input.GREETING if _is_greeting(row) else Input.EMPTY


def handle_message(gateway: Conversing, session: Session, row: InboundMessage) -> None:
    """The chat channels' processor: one inbound message through the conversation. A public
    comment or mention (gateway/bot/public_posts.py) is answered privately, with only a neutral
    word in public, or recorded and left alone when it asks nothing; on a channel with no
    private messages (YouTube) it is filed at once (gateway/bot/public_only.py)."""
    now = utcnow()
    public = public_posts.is_public(row)
    if public and not public_posts.worth_answering(row.text):
        row.status = InboundStatus.IGNORED.value
        row.last_error = "public comment with nothing to act on: recorded, not answered"
        session.add(row)
        return
    if public and row.channel in public_posts.PUBLIC_ONLY:
        public_only.file_comment(gateway, session, row, now)  # no private thread to talk in
        return
    reporter, _identity = identify(
        session,
        row.channel,
        row.sender,
        now=now,
        display_name=row.sender_name,
        phone=row.contact_phone or _phone_of(row),
        language=None,
        opens_window=not public,
    )
    conversation = _conversation(session, row.channel, row.sender, reporter, now)
    row.conversation_id = conversation.id
    row.reporter_id = reporter.id
    session.add(row)

    if row.kind == MessageKind.EDITED:
        apply_edit(gateway, session, conversation, row, now)
        return

    parsed = parse_command(row.text, row.button_payload)
    if parsed is None:
        language = guess_language(row.text)
        if language and conversation.state in (State.NEW, State.AWAITING_CONSENT, State.IDLE):
            conversation.language = language
    elif parsed.language and conversation.state in (State.NEW, State.AWAITING_CONSENT):
        conversation.language = parsed.language
    elif row.language and conversation.state == State.NEW:
        conversation.language = "en" if row.language.startswith("en") else "id"

    turn = Turn(gateway, session, conversation, reporter, now, row)
    if parsed is not None and parsed.command in _ANYWHERE:
        answer_anywhere(turn, parsed)
    else:
        state = State(conversation.state)
        if reporter.consent_at is not None and state is State.NEW:
            state = State.IDLE  # consented on another channel
            turn.move(state)
        STATES[state][classify(row, parsed)](turn)
    truncated = (row.extra or {}).get("text_truncated")
    if truncated:
        # The channel cut an over-long text to CHAT_MAX_CHARS (the raw payload keeps it all):
        # the reporter is told, as the web form tells its users (issue 13 §11).
        total = (row.extra or {}).get("text_chars", "?")
        turn.say(turn.text("bot.text_truncated", kept=truncated, total=total), cause=f"cut{row.id}")
    if public:
        turn.replies = public_posts.replies_to_comment(
            gateway, session, row, turn.replies, language=turn.lang
        )
    conversation.last_message_at = now
    conversation.updated_at = now
    session.add(conversation)
    for reply in turn.replies:
        from gateway.outbox.queue import enqueue

        enqueue(session, reply)


def apply_edit(
    gateway: Conversing,
    session: Session,
    conversation: Conversation,
    row: InboundMessage,
    now: datetime,
) -> None:
    """An edited message replaces the draft's text; after submitting it is recorded, never a
    second complaint (the complaint's original text stays verbatim)."""
    original = next(
        (
            candidate
            for candidate in session.scalars(
                select(InboundMessage)
                .where(col(InboundMessage.channel) == row.channel)
                .where(col(InboundMessage.sender) == row.sender)
                .where(col(InboundMessage.id) != row.id)
                .order_by(col(InboundMessage.id).desc())
                .limit(500)
            )
            if row.edits and (candidate.extra or {}).get("message_ref") == row.edits
        ),
        None,
    )
    if original is None or original.status == InboundStatus.IGNORED:
        return
    if original.complaint_id is None:
        original.text = row.text
        session.add(original)
        return
    complaint = session.get(Complaint, original.complaint_id)
    if complaint is not None:
        row.complaint_id = complaint.id
        workflow.record(
            session, complaint, actor="reporter", action="reporter_edited", note=row.text, now=now
        )


def _phone_of(row: InboundMessage) -> str | None:
    return row.sender if row.sender.startswith("+") else None


# States the idle window moves on: a draft is filed, a held message joins the open complaint.
WAITING_STATES = (State.DRAFTING, State.ASKED, State.ADD_OR_NEW)


def idle_sweep(gateway: Conversing, now: datetime | None = None) -> int:
    """Advance conversations whose reporter went quiet for the idle window; returns how many."""
    now = now or utcnow()
    cutoff = now - gateway.conversation_idle
    with gateway.db.read_session() as session:
        ids = session.scalars(
            select(col(Conversation.id))
            .where(col(Conversation.state).in_([s.value for s in WAITING_STATES]))
            .where(col(Conversation.last_message_at) <= cutoff)
        ).all()
    advanced = 0
    for conversation_id in ids:
        with gateway.db.session() as session:
            conversation = session.get(Conversation, conversation_id, with_for_update=True)
            if (
                conversation is None
                or conversation.state not in WAITING_STATES
                or conversation.last_message_at is None
                or conversation.last_message_at > cutoff
            ):
                continue  # someone wrote meanwhile
            reporter = session.get(Reporter, conversation.reporter_id)
            assert reporter is not None
            turn = Turn(gateway, session, conversation, reporter, now)
            STATES[State(conversation.state)][Input.IDLE](turn)
            conversation.last_message_at = now  # the next idle window starts now
            conversation.updated_at = now
            session.add(conversation)
            from gateway.outbox.queue import enqueue

            for reply in turn.replies:
                enqueue(session, reply)
            workflow.commit(session)
            advanced += 1
    return advanced
