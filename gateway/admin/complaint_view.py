"""What the admin complaint page shows, gathered in one place: the messages as received, the
text with personal data highlighted, the normalizer's suggestions, the cluster side by side, the
timeline and the deadlines — and what the viewer may do next.

The timeline is told in words from the message catalog: each event's label, and what it
recorded (a reminder's offset and due date, a core status word, a similarity score) turned into
a sentence with the date in the reader's language; only what people wrote is shown verbatim.

Everyone sees "what is forwarded": the very `CoreReport` that `gateway.complaints.disclosure` builds
for the SP4N core (masked text, reporter fields empty when `anonim`), so the page cannot promise one
text and send another. A liaison officer sees less than a koordinator: that text instead of the
original messages and the reporters' later words, and the reporter's name and contact only when
the complaint is not `anonim`.
Highlighting builds markup from escaped pieces only: nothing a citizen wrote is ever trusted as
HTML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlmodel import Session, col

from config.messages import DEFAULT_LANGUAGE, has, long_date, t
from forwarder.base import CoreReport
from forwarder.status_map import to_internal
from gateway.admin.inbox import ANSWER_CLOCK, VERIFY_CLOCK
from gateway.admin.sessions import Principal
from gateway.complaints import actions, dedup, disclosure, lifecycle, workflow
from gateway.outbox import recipients as notify
from gateway.store.models import (
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

if TYPE_CHECKING:
    from gateway.parts import Linked

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
    "core_ref",  # the manual backend: the LAPOR! tracking id, typed back (gateway/core/manual.py)
    "core_answer",  # ... and an answer read in LAPOR!
    "core_pasted",  # ... and a follow-up pasted into LAPOR! (gateway/core/status.py)
    "core_resend",  # a failed row for the core, sent again
    "tiktok_posted",  # a captured TikTok comment: the public reply posted by hand (admin/tiktok)
)
LIAISON_ACTIONS = ("acknowledge", "answer", "request_redisposition")
ROLE_ACTIONS: dict[Role, tuple[str, ...]] = {
    Role.KOORDINATOR: KOORDINATOR_ACTIONS,
    Role.LIAISON: LIAISON_ACTIONS,
    Role.VIEWER: (),
}


# What may be done to a complaint that follows a case: what concerns its own reporter (the
# public reply under their own TikTok comment included). Everything else is the case's, done on
# the primary complaint (docs/clusters.md).
FOLLOWER_ACTIONS = frozenset({"anonymise", "reply", "merge", "uncluster", "tiktok_posted"})


def available_actions(principal: Principal, complaint: Complaint) -> list[str]:
    """The actions to offer on the page: allowed for the role and possible in this state."""
    status = Status(complaint.status)
    follower = lifecycle.is_follower(complaint)
    reachable = complaint.reply_channel is not None and complaint.reply_address is not None
    possible = {
        "verify": status is S.RECEIVED,
        "anonymise": status in actions.MASKABLE_STATES,
        "dispose": status is S.VERIFIED,
        # LAPOR!'s citizen is asked through LAPOR! (no channel here).
        "pend": status in (S.RECEIVED, S.VERIFIED)
        and (reachable or complaint.origin_channel == "lapor"),
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
        "tiktok_posted": complaint.origin_channel == "tiktok" and status is not S.MERGED,
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
class EventView:
    at: datetime
    actor: str  # a display name, or a role word ("reporter", "system") to translate
    actor_is_user: bool
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None  # what a person wrote (shown verbatim, quoted)
    public: bool
    label: str = ""  # what happened, in the reader's language
    detail: str | None = None  # what the event recorded, as a sentence (replaces a raw note)


@dataclass
class DeadlineView:
    clock: str  # verify | answer | feedback
    due_at: datetime
    state: str  # overdue | due_soon | ok | done
    running: bool


@dataclass
class DuplicateView:
    """One other complaint and `normalizer.dedup.judge()`'s verdict on the pair, in words."""

    other: Complaint
    relation: str  # cluster | merged | near_miss
    decision: str
    text: float
    evidence: float
    reasons: list[str]  # plain text; the template escapes it


@dataclass
class ComplaintView:
    complaint: Complaint
    agency: Agency | None
    show_identity: bool
    show_original: bool
    reporter: Reporter | None = None
    identities: list[ReporterIdentity] = field(default_factory=list)
    # Reporter photos of no message of this complaint (the others are in the conversation,
    # gateway/admin/conversation.py).
    loose_photos: list[Attachment] = field(default_factory=list)
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
    core_status: str | None = None  # the core's status word, in the reader's language
    forwarded: CoreReport | None = None  # what the core receives (gateway.disclosure)
    published: dict[int, str] = field(default_factory=dict)  # complaint id → forwarded text
    duplicates: list[DuplicateView] = field(default_factory=list)  # why clustered, why not


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


# --- why clustered, why not ----------------------------------------------------------------

NEAR_MISSES_SHOWN = 5


def reason_texts(lang: str) -> dict[str, str]:
    """`Judgement.reasons()` templates from the message catalog, in the reader's language."""
    from normalizer.dedup import default_reason_texts

    return {
        code: t(lang, f"triage.reasons.{code}")
        for code in (*default_reason_texts(), "below_text_floor")
    }


def duplicate_views(
    gateway: Linked,
    session: Session,
    complaint: Complaint,
    cluster: Sequence[Complaint],
    lang: str,
) -> list[DuplicateView]:
    """The complaints this one was clustered or merged with, and the similar open ones it was
    not, each with the reasons `judge()` gives now (what the admin needs to undo or to merge by
    hand)."""
    linked = {c.id for c in cluster if c.id is not None}
    if complaint.merged_into_id:
        linked.add(complaint.merged_into_id)
    texts = reason_texts(lang)
    views = []
    misses = 0
    for other, judgement in dedup.considered(gateway, session, complaint, include=linked):
        if other.id in linked:
            relation = "merged" if other.id == complaint.merged_into_id else "cluster"
        elif other.merged_into_id == complaint.id:
            relation = "merged"
        elif judgement.text >= dedup.NEAR_MISS_TEXT and misses < NEAR_MISSES_SHOWN:
            relation = "near_miss"
            misses += 1
        else:
            continue
        views.append(
            DuplicateView(
                other=other,
                relation=relation,
                decision=judgement.decision,
                text=judgement.text,
                evidence=judgement.evidence,
                reasons=judgement.reasons(texts),
            )
        )
    order = {"merged": 0, "cluster": 1, "near_miss": 2}
    views.sort(key=lambda v: order[v.relation])
    return views


# --- the timeline in words -----------------------------------------------------------------

# How gateway/complaints/dedup.py notes a duplicate, and how gateway/sla/sweeps.py noted a reminder
# before the reminder's idempotency key was read from the event's `after` (older rows).
_SIMILAR = re.compile(r"^(?P<code>LPR-[0-9A-Z]+) \(kemiripan (?P<score>\d+(?:\.\d+)?)%\)$")
_REMINDER = re.compile(
    r"^(?P<label>before-\d+|on-day|after-\d+) · (?P<date>\d{4}-\d{2}-\d{2}) · (?P<n>\d+)$"
)


def event_label(lang: str, action: str) -> str:
    """What happened, from the catalog; an action it does not know yet is still readable."""
    key = f"admin.event.{action}"
    if has(lang, key) or has(DEFAULT_LANGUAGE, key):
        return t(lang, key)
    return t(lang, "admin.event.other", action=action.replace("_", " "))


def core_status_label(lang: str, word: str) -> str:
    """A core status word ("in_process", "Belum Terverifikasi") in SP4N-LAPOR!'s own terms in
    the reader's language, through the one status table; an unknown word is shown as sent."""
    internal = to_internal(word)
    return t(lang, f"admin.core_status.{internal}") if internal else word


def _iso_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value else None
    except ValueError:
        return None


def _reminder(lang: str, event: ComplaintEvent) -> str | None:
    # The idempotency key in `after` says it all: sla:<code>:<clock>:<offset label>:<due date>.
    parts = str((event.after or {}).get("key") or "").split(":")
    recipients = (event.after or {}).get("recipients")
    if len(parts) == 5 and parts[0] == "sla":
        clock, label, due = parts[2], parts[3], _iso_date(parts[4])
    else:
        match = _REMINDER.match(event.note or "")
        if match is None:
            return None
        clock, label, due = "answer", match["label"], _iso_date(match["date"])
        recipients = int(match["n"])
    if due is None:
        return None
    kind, _, days = label.partition("-")
    key = {"before": "reminder_before", "on": "reminder_on_day", "after": "reminder_after"}.get(
        kind
    )
    if key is None:
        return None
    return t(
        lang,
        f"admin.timeline.{key}",
        days=days,
        clock=t(lang, f"admin.timeline.clock.{clock}"),
        date=long_date(lang, due),
        n=recipients if recipients is not None else "?",
    )


def _escalated(lang: str, event: ComplaintEvent) -> str | None:
    due = _iso_date(event.note)
    return t(lang, "admin.timeline.escalated", date=long_date(lang, due)) if due else None


def _core_status(lang: str, event: ComplaintEvent) -> str | None:
    if not event.note:
        return None
    return t(lang, "admin.timeline.core_status", status=core_status_label(lang, event.note))


def _core_ref(lang: str, event: ComplaintEvent) -> str | None:
    return t(lang, "admin.timeline.core_ref", ref=event.note) if event.note else None


def _other_complaint(lang: str, event: ComplaintEvent) -> str | None:
    note = (event.note or "").strip()
    match = _SIMILAR.match(note)
    if match:
        score = f"{float(match['score']):.0f}"
        return t(lang, "admin.timeline.similar", code=match["code"], score=score)
    if re.fullmatch(r"LPR-[0-9A-Z]+", note):
        return t(lang, "admin.timeline.other_complaint", code=note)
    return None


def _manual_entry(lang: str, event: ComplaintEvent) -> str | None:
    source, _, url = (event.note or "").partition(" ")
    if not source or not has(DEFAULT_LANGUAGE, f"admin.source.{source}"):
        return None
    return " ".join(filter(None, [t(lang, f"admin.source.{source}"), url]))


# Events whose note is data, not words: how to say it. Any other note is what a person wrote
# (a question, an answer, a reason) or a provider's error, and is shown as it is.
EVENT_DETAILS: dict[str, Callable[[str, ComplaintEvent], str | None]] = {
    "sla_reminder": _reminder,
    "escalated": _escalated,
    "core_status": _core_status,
    "core_submitted": _core_ref,
    "core_ref_recorded": _core_ref,
    "clustered": _other_complaint,
    "auto_merged": _other_complaint,
    "merged": _other_complaint,
    "merged_in": _other_complaint,
    "unmerged": _other_complaint,
    "unmerged_out": _other_complaint,
    "manual_entry": _manual_entry,
}


def _timeline(session: Session, complaint: Complaint, lang: str) -> list[EventView]:
    events = session.scalars(
        select(ComplaintEvent)
        .where(col(ComplaintEvent.complaint_id) == complaint.id)
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
            select(col(User.id), col(User.display_name), col(User.username)).where(
                col(User.id).in_(user_ids)
            )
        )
        names = {f"user:{r.id}": r.display_name or r.username for r in rows}
    views = []
    for e in events:
        describe = EVENT_DETAILS.get(e.action)
        detail = describe(lang, e) if describe else None
        views.append(
            EventView(
                at=e.created_at,
                actor=names.get(e.actor, e.actor),
                actor_is_user=e.actor in names,
                action=e.action,
                from_status=e.from_status,
                to_status=e.to_status,
                note=None if detail else e.note,
                public=e.public,
                label=event_label(lang, e.action),
                detail=detail,
            )
        )
    return views


def build(
    session: Session,
    complaint: Complaint,
    principal: Principal,
    *,
    now: datetime,
    soon: timedelta,
    lang: str = DEFAULT_LANGUAGE,
    gateway: Linked | None = None,
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
        own_messages = set(
            session.scalars(
                select(col(InboundMessage.id)).where(
                    col(InboundMessage.complaint_id) == complaint.id
                )
            )
        )
        for message_id, leftovers in by_message.items():
            if message_id not in own_messages:
                view.loose_photos.extend(leftovers)
        if complaint.reporter_id:
            view.identities = list(
                session.scalars(
                    select(ReporterIdentity).where(
                        col(ReporterIdentity.reporter_id) == complaint.reporter_id
                    )
                ).all()
            )
    if view.show_identity and complaint.reporter_id:
        view.reporter = session.get(Reporter, complaint.reporter_id)
    view.cluster = [c for c in notify.cluster_members(session, complaint) if c.id != complaint.id]
    if gateway is not None:
        view.forwarded = disclosure.core_report(gateway, session, complaint)
    for shown in (complaint, *view.cluster):
        view.published[shown.id] = disclosure.description(  # type: ignore[index]
            shown, disclosure.reporter_of(session, shown)
        )
    if lifecycle.is_follower(complaint):
        view.case = lifecycle.case_of(session, complaint)
    else:
        followers = lifecycle.followers(session, complaint)
        view.case_members = [complaint, *followers] if followers else []
    if full and complaint.merged_into_id:
        view.merged_into = session.get(Complaint, complaint.merged_into_id)
    view.timeline = _timeline(session, complaint, lang)
    if gateway is not None:
        view.duplicates = duplicate_views(gateway, session, complaint, view.cluster, lang)
    if complaint.core_status:
        view.core_status = core_status_label(lang, complaint.core_status)
    if not full:
        # Notes are read in their own panel, each only by those it is meant for (admin/notes).
        view.timeline = [e for e in view.timeline if e.action != "note_added"]
        # What reporters wrote later is their own words, unmasked: the koordinator's to read.
        for event in view.timeline:
            if not event.actor_is_user and event.actor == "reporter":
                event.note = None
    view.deadlines = _deadlines(complaint, now, soon)
    view.actions = available_actions(principal, complaint)
    view.agencies = list(
        session.scalars(
            select(Agency).where(col(Agency.active).is_(True)).order_by(Agency.name)
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
