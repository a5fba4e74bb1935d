"""What the admin complaint page shows, gathered in one place: the messages as received, the
text with personal data highlighted, the normalizer's suggestions, the cluster side by side, the
timeline and the deadlines — and what the viewer may do next.

A liaison officer sees less than a koordinator: the published (masked) text instead of the
original messages and the reporters' later words, and the reporter's name and contact only when
the complaint is not `anonim`.
Highlighting builds markup from escaped pieces only: nothing a citizen wrote is ever trusted as
HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlmodel import Session

from gateway import actions, lifecycle, notify, workflow
from gateway.inbox import ANSWER_CLOCK, VERIFY_CLOCK
from gateway.models import (
    Agency,
    Attachment,
    Complaint,
    ComplaintEvent,
    InboundMessage,
    Reporter,
    ReporterIdentity,
    Role,
    Status,
    User,
)
from gateway.security import Principal

S = Status

# Who may do what, whatever the state (the state is checked by the action itself).
KOORDINATOR_ACTIONS = (
    "verify",
    "anonymise",
    "dispose",
    "pend",
    "resume",
    "archive",
    "return",
    "redispose",
    "merge",
    "unmerge",
    "uncluster",
    "reply",
    "acknowledge",
    "answer",
    "core_ref",  # the manual backend: the LAPOR! tracking id, typed back (gateway/core_manual.py)
    "core_answer",  # ... and an answer read in LAPOR!
)
LIAISON_ACTIONS = ("acknowledge", "answer", "request_redisposition")
ROLE_ACTIONS: dict[Role, tuple[str, ...]] = {
    Role.KOORDINATOR: KOORDINATOR_ACTIONS,
    Role.LIAISON: LIAISON_ACTIONS,
    Role.VIEWER: (),
}


# What may be done to a complaint that follows a case: what concerns its own reporter. Everything
# else is the case's, done on the primary complaint (docs/clusters.md).
FOLLOWER_ACTIONS = frozenset({"anonymise", "reply", "merge", "uncluster"})


def available_actions(principal: Principal, complaint: Complaint) -> list[str]:
    """The actions to offer on the page: allowed for the role and possible in this state."""
    status = Status(complaint.status)
    follower = lifecycle.is_follower(complaint)
    reachable = complaint.reply_channel is not None and complaint.reply_address is not None
    possible = {
        "verify": status is S.RECEIVED,
        "anonymise": status in actions.MASKABLE_STATES,
        "dispose": status is S.VERIFIED,
        "pend": status in (S.RECEIVED, S.VERIFIED) and reachable,
        "resume": status is S.PENDING,
        "archive": workflow.can_transition(status, S.ARCHIVED),
        "return": workflow.can_transition(status, S.RETURNED),
        "redispose": status in actions.LIAISON_WORK_STATES,
        "merge": workflow.can_transition(status, S.MERGED),
        "unmerge": status is S.MERGED,
        "reply": reachable and status is not S.MERGED,
        "acknowledge": status is S.DISPOSED,
        "answer": status in actions.LIAISON_WORK_STATES,
        "request_redisposition": status in actions.LIAISON_WORK_STATES,
        "uncluster": follower,
    }
    return [
        name
        for name in ROLE_ACTIONS[principal.role]
        if possible.get(name) and (not follower or name in FOLLOWER_ACTIONS)
    ]


# --- personal data highlighted -------------------------------------------------------------------


def valid_spans(text: str, spans: Sequence[dict[str, Any]]) -> list[tuple[int, int, str]]:
    """The spans that fit the text, in order, without overlaps (the first one wins)."""
    result: list[tuple[int, int, str]] = []
    cursor = 0
    for span in sorted(spans, key=lambda s: (_int(s.get("start")), -_int(s.get("end")))):
        start, end = _int(span.get("start")), _int(span.get("end"))
        if start < cursor or end <= start or end > len(text):
            continue
        result.append((start, end, str(span.get("kind") or "data")))
        cursor = end
    return result


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def highlight(text: str, spans: Sequence[dict[str, Any]], labels: dict[str, str]) -> Markup:
    """`text` with each personal-data span in a <mark>; every piece escaped."""
    pieces: list[Markup] = []
    cursor = 0
    for start, end, kind in valid_spans(text, spans):
        pieces.append(escape(text[cursor:start]))
        pieces.append(
            Markup('<mark class="pii" data-kind="{kind}" title="{label}">{text}</mark>').format(
                kind=kind, label=labels.get(kind, kind), text=text[start:end]
            )
        )
        cursor = end
    pieces.append(escape(text[cursor:]))
    return Markup("").join(pieces)


# --- the page --------------------------------------------------------------------------------


@dataclass
class MessageView:
    row: InboundMessage
    photos: list[Attachment]

    @property
    def map_url(self) -> str | None:
        if self.row.latitude is None or self.row.longitude is None:
            return None
        lat, lon = self.row.latitude, self.row.longitude
        return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}"


@dataclass
class EventView:
    at: datetime
    actor: str  # a display name, or a role word ("reporter", "system") to translate
    actor_is_user: bool
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None
    public: bool


@dataclass
class DeadlineView:
    clock: str  # verify | answer | feedback
    due_at: datetime
    state: str  # overdue | due_soon | ok | done
    running: bool


@dataclass
class ComplaintView:
    complaint: Complaint
    agency: Agency | None
    show_identity: bool
    show_original: bool
    reporter: Reporter | None = None
    identities: list[ReporterIdentity] = field(default_factory=list)
    messages: list[MessageView] = field(default_factory=list)
    loose_photos: list[Attachment] = field(default_factory=list)  # reporter photos of no message
    result_photos: list[Attachment] = field(default_factory=list)  # the agency's proof
    cluster: list[Complaint] = field(default_factory=list)
    case: Complaint | None = None  # the primary complaint, when this one follows its case
    case_members: list[Complaint] = field(default_factory=list)  # a primary: its case's
    merged_into: Complaint | None = None
    timeline: list[EventView] = field(default_factory=list)
    deadlines: list[DeadlineView] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    agencies: list[Agency] = field(default_factory=list)
    agency_names: dict[int, str] = field(default_factory=dict)
    redisposition_reason: str | None = None
    suggested_agency_id: int | None = None
    suggested_category: str | None = None


def _deadlines(complaint: Complaint, now: datetime, soon: timedelta) -> list[DeadlineView]:
    status = complaint.status
    clocks = [
        ("verify", complaint.verify_due_at, status in VERIFY_CLOCK),
        ("answer", complaint.answer_due_at, status in ANSWER_CLOCK),
        ("feedback", complaint.feedback_due_at, status == S.ANSWERED),
    ]
    views = []
    for name, due, running in clocks:
        if due is None:
            continue
        if not running:
            state = "done"
        elif due < now:
            state = "overdue"
        elif due < now + soon:
            state = "due_soon"
        else:
            state = "ok"
        views.append(DeadlineView(name, due, state, running))
    return views


def _timeline(session: Session, complaint: Complaint) -> list[EventView]:
    events = session.scalars(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint.id)
        .order_by(ComplaintEvent.created_at, ComplaintEvent.id)  # type: ignore[arg-type]
    ).all()
    user_ids = {
        int(e.actor.split(":", 1)[1])
        for e in events
        if e.actor.startswith("user:") and e.actor.split(":", 1)[1].isdigit()
    }
    names = {}
    if user_ids:
        rows = session.execute(
            select(User.id, User.display_name, User.username).where(User.id.in_(user_ids))  # type: ignore[union-attr]
        )
        names = {f"user:{r.id}": r.display_name or r.username for r in rows}
    return [
        EventView(
            at=e.created_at,
            actor=names.get(e.actor, e.actor),
            actor_is_user=e.actor in names,
            action=e.action,
            from_status=e.from_status,
            to_status=e.to_status,
            note=e.note,
            public=e.public,
        )
        for e in events
    ]


def build(
    session: Session,
    complaint: Complaint,
    principal: Principal,
    *,
    now: datetime,
    soon: timedelta,
) -> ComplaintView:
    full = principal.role is Role.KOORDINATOR
    view = ComplaintView(
        complaint=complaint,
        agency=session.get(Agency, complaint.agency_id) if complaint.agency_id else None,
        # `anonim`: the identity is hidden from the agency (SOP); the koordinator always sees it.
        show_identity=full or not complaint.anonim,
        show_original=full,
    )
    attachments = session.scalars(
        select(Attachment).where(Attachment.complaint_id == complaint.id).order_by(Attachment.id)  # type: ignore[arg-type]
    ).all()
    by_message: dict[int, list[Attachment]] = {}
    for attachment in attachments:
        if attachment.source == "liaison":
            view.result_photos.append(attachment)
        elif full and attachment.inbound_message_id is not None:
            by_message.setdefault(attachment.inbound_message_id, []).append(attachment)
        else:
            view.loose_photos.append(attachment)
    if full:
        rows = session.scalars(
            select(InboundMessage)
            .where(InboundMessage.complaint_id == complaint.id)
            .order_by(InboundMessage.received_at, InboundMessage.id)  # type: ignore[arg-type]
        ).all()
        view.messages = [MessageView(row, by_message.pop(row.id, [])) for row in rows]  # type: ignore[arg-type]
        for leftovers in by_message.values():
            view.loose_photos.extend(leftovers)
        if complaint.reporter_id:
            view.identities = list(
                session.scalars(
                    select(ReporterIdentity).where(
                        ReporterIdentity.reporter_id == complaint.reporter_id
                    )
                ).all()
            )
    if view.show_identity and complaint.reporter_id:
        view.reporter = session.get(Reporter, complaint.reporter_id)
    view.cluster = [c for c in notify.cluster_members(session, complaint) if c.id != complaint.id]
    if lifecycle.is_follower(complaint):
        view.case = lifecycle.case_of(session, complaint)
    else:
        followers = lifecycle.followers(session, complaint)
        view.case_members = [complaint, *followers] if followers else []
    if full and complaint.merged_into_id:
        view.merged_into = session.get(Complaint, complaint.merged_into_id)
    view.timeline = _timeline(session, complaint)
    if not full:
        # What reporters wrote later is their own words, unmasked: the koordinator's to read.
        for event in view.timeline:
            if not event.actor_is_user and event.actor == "reporter":
                event.note = None
    view.deadlines = _deadlines(complaint, now, soon)
    view.actions = available_actions(principal, complaint)
    view.agencies = list(
        session.scalars(
            select(Agency).where(Agency.active.is_(True)).order_by(Agency.name)  # type: ignore[attr-defined]
        ).all()
    )
    view.agency_names = {a.id: a.name for a in view.agencies if a.id is not None}
    if complaint.redisposition_requested_at is not None:
        view.redisposition_reason = next(
            (e.note for e in reversed(view.timeline) if e.action == "redisposition_requested"),
            None,
        )
    known = set(view.agency_names)
    view.suggested_agency_id = complaint.agency_id or next(
        (s.get("agency_id") for s in complaint.agency_suggestions if s.get("agency_id") in known),
        None,
    )
    view.suggested_category = complaint.category or next(
        (s.get("category") for s in complaint.category_suggestions if s.get("category")), None
    )
    return view
