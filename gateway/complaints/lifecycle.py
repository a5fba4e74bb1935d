"""The one lifecycle seam: every change of a case goes through `step()`.

A case is a complaint and the complaints that follow it. Different reporters describing the
same problem are clustered (gateway/complaints/dedup.py): the first complaint is the case's primary
(the cluster's root, `cluster_id or id`), the others follow it (`cluster_id == root`). The case has
one life: one verification, one disposition, one report to the SP4N core, one answer, one close.
`step()` does, in the caller's transaction and in this order:

1. the transition (`workflow.transition`) or an audited change that keeps the state
   (`workflow.record`), on the primary;
2. its deadlines (`deadlines.refresh`);
3. the status notice, once per reporter of the case, whatever complaint they wrote
   (`status_notices` → `notify.to_cluster`);
4. the other outbox rows the change causes (the core, liaison officers);
5. propagation: each follower mirrors the primary's state, stamps, deadlines, agency and
   class (`workflow.follow`, audited on the follower as `follows_case`).

A follower never acts by itself: an admin action that changes the case, asked of a follower, is
refused with `FollowsCase` (naming the primary); the reporter's own words (an answer to a
question, feedback on the answer) count for the case. `join()` brings a complaint into a case
(it takes the case's state at once and its reporter is told where the case stands) and
`leave()` gives it back its own life. The rule in words: docs/clusters.md.

This module knows nothing of HTTP; the admin routes, the bot, the core sync and the sweeps call
it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, or_, select
from sqlmodel import Session, col

from channels.base import Media
from config.messages import t
from gateway.clock import utcnow
from gateway.complaints import workflow
from gateway.outbox import queue as outbox
from gateway.outbox import recipients as notify
from gateway.outbox import status_notices
from gateway.outbox.queue import OutboxMessage
from gateway.sla import deadlines
from gateway.store.models import Attachment, AttachmentStatus, Complaint, ComplaintEvent, Status

if TYPE_CHECKING:
    from gateway.parts import CaseParts

S = Status
JOINED = "clustered"  # the audit action of a complaint joining a case
MEMBER_LEFT = "member_left"  # ... and, on the primary, of one leaving it


class FollowsCase(Exception):
    """The action changes the case, and this complaint follows another one: act there."""

    def __init__(self, complaint: Complaint, case_code: str, action: str) -> None:
        self.tracking_code = complaint.tracking_code
        self.case_code = case_code
        self.action = action
        super().__init__(f"{complaint.tracking_code} follows {case_code}: {action} refused")


class NotAFollower(Exception):
    """Only a complaint that follows a case can leave it."""


# --- who is in the case ------------------------------------------------------------------------


def is_follower(complaint: Complaint) -> bool:
    """The complaint follows another one's case (a merged complaint is folded, not following)."""
    return (
        complaint.cluster_id is not None
        and complaint.cluster_id != complaint.id
        and complaint.status != S.MERGED.value
    )


def not_follower() -> ColumnElement[bool]:
    """SQL: the complaint is not a follower — one row per case in lists and counts (a merged
    complaint is folded, not following: it keeps its own row)."""
    return or_(
        col(Complaint.cluster_id).is_(None),
        col(Complaint.merged_into_id).is_not(None),
    )


def case_of(session: Session, complaint: Complaint) -> Complaint:
    """The primary complaint of the complaint's case (itself when it follows nobody)."""
    if not is_follower(complaint):
        return complaint
    return session.get(Complaint, complaint.cluster_id) or complaint


def require_case(session: Session, complaint: Complaint, action: str) -> None:
    """Refuse an action that changes the case when it is asked of a follower."""
    if is_follower(complaint):
        raise FollowsCase(complaint, case_of(session, complaint).tracking_code, action)


def followers(session: Session, case: Complaint) -> list[Complaint]:
    if case.id is None:
        return []
    return list(
        session.scalars(
            select(Complaint)
            .where(col(Complaint.cluster_id) == case.id)
            .where(col(Complaint.status) != S.MERGED.value)
            .order_by(col(Complaint.id))
        ).all()
    )


def reporter_routes(session: Session, case: Complaint) -> dict[notify.Route, list[int]]:
    """The reporters of the case who can answer (the primary's and each follower's), by the
    route they are reached on, with the ids of their complaints in the case."""
    routes: dict[notify.Route, list[int]] = {}
    for member in [case, *followers(session, case)]:
        if member.reply_channel and member.reply_address and member.id is not None:
            routes.setdefault((member.reply_channel, member.reply_address), []).append(member.id)
    return routes


# --- the step ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """What the reporters of the case are told about a step (status_notices.notices)."""

    status: Status
    key: str | None = None  # the idempotency part; None: "<action>:<event id>"
    text_key: str | None = None
    media: tuple[Media, ...] = ()
    answer: str = ""
    reason: str = ""
    exclude: frozenset[notify.Route] = frozenset()  # told otherwise (they gave the feedback)
    values: Mapping[str, str] = field(default_factory=dict)


Messages = Iterable[OutboxMessage | None] | Callable[[int], Iterable[OutboxMessage | None]]


def step(
    gateway: CaseParts,
    session: Session,
    case: Complaint,
    to: Status | None,
    *,
    actor: str,
    action: str,
    changes: Mapping[str, Any] | None = None,
    note: str | None = None,
    public: bool = False,
    notice: Notice | None = None,
    messages: Messages = (),
    now: datetime | None = None,
) -> ComplaintEvent:
    """One change of the case: transition (or audited change when `to` is None) → deadlines →
    notices to each reporter once → outbox rows → the followers mirror it. `messages` may be a
    function of the event's id (idempotency keys are built from it)."""
    require_case(session, case, action)
    now = now or utcnow()
    event = step_own(
        gateway,
        session,
        case,
        to,
        actor=actor,
        action=action,
        changes=changes,
        note=note,
        public=public,
        notice=notice,
        messages=messages,
        now=now,
    )
    propagate(session, case, now)
    return event


def step_own(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    to: Status | None,
    *,
    actor: str,
    action: str,
    changes: Mapping[str, Any] | None = None,
    note: str | None = None,
    public: bool = False,
    notice: Notice | None = None,
    messages: Messages = (),
    now: datetime | None = None,
) -> ComplaintEvent:
    """A change of one complaint's own record, in the seam's order (transition → deadlines →
    notices → outbox rows) but without the case's rules: used by `step()` for the case, and
    directly where a complaint changes alone — a merge folds it into another complaint (a
    follower may be merged) and an unmerge gives it back; nothing propagates."""
    now = now or utcnow()
    audit: dict[str, Any] = {
        "actor": actor,
        "action": action,
        "changes": changes,
        "note": note,
        "public": public,
        "now": now,
    }
    if to is None:
        event = workflow.record(session, complaint, **audit)
    else:
        event = workflow.transition(session, complaint, to, **audit)
    session.flush()
    assert event.id is not None
    deadlines.refresh(gateway, session, complaint, now)
    if notice is not None:
        _enqueue(
            session,
            status_notices.notices(
                gateway,
                session,
                complaint,
                notice.status,
                event_key=notice.key or f"{action}:{event.id}",
                media=notice.media,
                answer=notice.answer,
                reason=notice.reason,
                text_key=notice.text_key,
                exclude=notice.exclude,
                values=notice.values,
            ),
        )
    _enqueue(session, messages(event.id) if callable(messages) else messages)
    return event


def propagate(session: Session, case: Complaint, now: datetime | None = None) -> int:
    """Every follower mirrors the case; returns how many changed notably (audited)."""
    changed = 0
    for follower in followers(session, case):
        changed += workflow.follow(session, follower, case, now=now) is not None
    return changed


def _enqueue(session: Session, messages: Iterable[OutboxMessage | None]) -> None:
    for message in messages:
        if message is not None:
            outbox.enqueue(session, message)


# --- joining and leaving -------------------------------------------------------------------------


def join(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    case: Complaint,
    *,
    actor: str = "system",
    note: str | None = None,
    now: datetime | None = None,
) -> ComplaintEvent:
    """The complaint joins the case (`case` or the case `case` follows): it takes the case's
    state at once, and its reporter is told where the case stands (with the answer, when there
    is one). Nothing is told while the case waits for verification: nothing has happened."""
    now = now or utcnow()
    case = case_of(session, case)
    if case.id == complaint.id:
        raise ValueError("a complaint cannot follow itself")
    event = workflow.record(
        session,
        complaint,
        actor=actor,
        action=JOINED,
        changes={"cluster_id": case.id},
        note=note,
        public=True,  # its public page then tells the case's story (public_status)
        now=now,
    )
    workflow.follow(session, complaint, case, now=now)
    session.flush()
    _enqueue(session, joined_notices(gateway, session, complaint, case, f"joined:{event.id}"))
    return event


def joined_notices(
    gateway: CaseParts, session: Session, complaint: Complaint, case: Complaint, key: str
) -> list[OutboxMessage]:
    """What a reporter whose complaint just joined the case is told."""
    status = Status(case.status)
    if status in (S.RECEIVED, S.MERGED):
        return []
    if status is S.ANSWERED:
        text, media = case_answer(gateway, session, case)
        return status_notices.notices(
            gateway,
            session,
            case,
            S.ANSWERED,
            event_key=key,
            media=media,
            answer=text,
            members=[complaint],
            always=True,
        )
    return notify.to_cluster(
        session,
        case,
        "reporter.joined_case",
        event_key=key,
        kind="status",
        sms_copies=status_notices.sms_copies(gateway),
        mail_copies=status_notices.mail_copies(gateway),
        members=[complaint],
        status=t(complaint.language, f"status.{status.value}"),
    )


def case_answer(
    gateway: CaseParts, session: Session, case: Complaint
) -> tuple[str, tuple[Media, ...]]:
    """The case's latest answer and its proof photos (for a reporter who joins afterwards)."""
    answer = session.scalar(
        select(col(ComplaintEvent.note))
        .where(col(ComplaintEvent.complaint_id) == case.id)
        .where(col(ComplaintEvent.action) == "answered")
        .order_by(col(ComplaintEvent.id).desc())
        .limit(1)
    )
    return answer or "", answer_media(gateway, session, case)


def answer_media(gateway: CaseParts, session: Session, case: Complaint) -> tuple[Media, ...]:
    """The proof photos of the case's answer, as providers fetch them: the agency's through
    signed links, the core's from where the core keeps them."""
    photos = session.scalars(
        select(Attachment)
        .where(col(Attachment.complaint_id) == case.id)
        .where(col(Attachment.source).in_(("liaison", "core")))
        .order_by(col(Attachment.id))
    ).all()
    media = []
    for a in photos:
        if a.source == "liaison" and a.status == AttachmentStatus.STORED:
            url = gateway.media_links.url(a.id)  # type: ignore[arg-type]
        elif a.source == "core" and a.original_url:
            url = a.original_url
        else:
            continue
        media.append(
            Media(
                url=url,
                ref=a.storage_key,
                content_type=a.content_type,
                size=a.size,
                filename=a.original_name,
            )
        )
    return tuple(media)


def leave(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Unclustering: the follower gets back its own life — the state and fields it had before
    it followed the case (from its own history), its own deadlines, no more case notices.
    Audited on both complaints."""
    if not is_follower(complaint):
        raise NotAFollower(complaint.tracking_code)
    now = now or utcnow()
    case = case_of(session, complaint)
    event = workflow.leave_case(
        session,
        complaint,
        restore=own_values(session, complaint),
        actor=actor,
        note=case.tracking_code,
        now=now,
    )
    deadlines.refresh(gateway, session, complaint, now)
    workflow.record(
        session, case, actor=actor, action=MEMBER_LEFT, note=complaint.tracking_code, now=now
    )
    return event


def own_values(session: Session, complaint: Complaint) -> dict[str, Any]:
    """The values of the mirrored fields the complaint had of its own, before it followed its
    current case: the first `before` of each field in the `follows_case` events since it
    joined."""
    case_id = complaint.cluster_id
    events = session.scalars(
        select(ComplaintEvent)
        .where(col(ComplaintEvent.complaint_id) == complaint.id)
        .order_by(col(ComplaintEvent.id))
    ).all()
    joined_at = max(
        (i for i, e in enumerate(events) if (e.after or {}).get("cluster_id") == case_id),
        default=-1,
    )
    restore: dict[str, Any] = {}
    for event in events[joined_at + 1 :]:
        if event.action != workflow.FOLLOWS_CASE:
            continue
        for name, value in (event.before or {}).items():
            if name in workflow.MIRRORED_FIELDS and name not in restore:
                restore[name] = _from_json(name, value)
    return restore


def _from_json(name: str, value: Any) -> Any:
    if name.endswith("_at") and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value
