"""The reporter's response to the answer (PUAS / TIDAK PUAS, a rating 1-5, or words), whatever
they answered on: a chat channel (gateway/bot/conversation.py) or the web-form reporter's private
page (gateway/api/routes/reporter_page.py). One function, `give()`, for both.

Feedback counts for the case, not only for the complaint it was written on (docs/clusters.md):

- TIDAK PUAS (or 1-2) from any reporter reopens the follow-up: the case goes back to
  `in_progress`, the other reporters are told once, the core gets the feedback.
- PUAS (or 4-5) closes the case when every reporter of the case who can answer has said PUAS
  since the latest answer; until then it is noted and the case waits for the others (or for the
  feedback window, after which it closes saying that feedback was received — never "no
  response").
- Anything else is kept on the complaint and passed to the core.

Every response is forwarded to the core as feedback on the case's one report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

from gateway.bot.commands import Feedback, parse_feedback
from gateway.clock import utcnow
from gateway.complaints import lifecycle, workflow
from gateway.core import sync as core_sync
from gateway.outbox import queue as outbox
from gateway.outbox import recipients as notify
from gateway.outbox import status_notices
from gateway.store.models import Complaint, ComplaintEvent, Status

if TYPE_CHECKING:
    from gateway.parts import CaseParts

SATISFIED = "reporter_satisfied"  # PUAS noted; the case waits for the other reporters
UNSATISFIED = "reporter_unsatisfied"  # TIDAK PUAS on a follower (the case reopened)
WORDS = "reporter_feedback"


class Outcome(StrEnum):
    REOPENED = "reopened"  # the case is followed up again
    CLOSED = "closed"  # the case is closed
    NOTED = "noted"  # PUAS noted, the case waits for the other reporters
    RECORDED = "recorded"  # words, kept and forwarded


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    case: Complaint


def awaits_feedback(session: Session, complaint: Complaint) -> bool:
    """The case of this complaint has an answer its reporters may respond to."""
    return lifecycle.case_of(session, complaint).status == Status.ANSWERED.value


def give(
    gateway: CaseParts,
    session: Session,
    member: Complaint,
    text: str,
    *,
    key: str,
    satisfied: bool | None = None,
    now: datetime | None = None,
) -> Result:
    """Record a reporter's response to the answer of `member`'s case (see the module's rules).
    `key` names the response (the inbound message, the page's form) so that it reaches the
    core once; `satisfied` is the reporter's explicit choice (the private page's buttons), else
    it is read from the words (PUAS, TIDAK PUAS, 1-5). The caller thanks the reporter; the
    other reporters are told here."""
    now = now or utcnow()
    case = lifecycle.case_of(session, member)
    if case.status != Status.ANSWERED.value:
        raise workflow.TransitionError(case, Status.CLOSED)
    feedback = parse_feedback(text)
    if satisfied is not None:
        feedback = Feedback(satisfied, None, text.strip())
    note = f"{feedback.rating}/5: {feedback.text}" if feedback.rating else feedback.text
    forward = core_sync.feedback_message(case, feedback.text, feedback.rating, key=key)
    forwards = [forward] if forward is not None else []
    giver = frozenset(
        notify.routes_of(
            session,
            member,
            sms_copies=status_notices.sms_copies(gateway),
            mail_copies=status_notices.mail_copies(gateway),
        )
    )
    on_member = member.id != case.id

    if feedback.satisfied is False:
        lifecycle.step(
            gateway,
            session,
            case,
            Status.IN_PROGRESS,
            actor="reporter",
            action="reopened",
            note=note,
            public=True,
            notice=lifecycle.Notice(
                Status.IN_PROGRESS, text_key="reporter.status_reopened", exclude=giver
            ),
            messages=forwards,
            now=now,
        )
        if on_member:
            workflow.record(
                session, member, actor="reporter", action=UNSATISFIED, note=note, now=now
            )
        return Result(Outcome.REOPENED, case)

    if feedback.satisfied is True and not _others_waiting(session, case, member):
        lifecycle.step(
            gateway,
            session,
            case,
            Status.CLOSED,
            actor="reporter",
            action="closed",
            note=note,
            public=True,
            notice=lifecycle.Notice(Status.CLOSED, exclude=giver),
            messages=forwards,
            now=now,
        )
        if on_member:
            workflow.record(session, member, actor="reporter", action=SATISFIED, note=note, now=now)
        core_sync.enqueue(
            session, core_sync.close_message(gateway, session, case, core_sync.CLOSED_BY_REPORTER)
        )
        return Result(Outcome.CLOSED, case)

    action = SATISFIED if feedback.satisfied else WORDS
    workflow.record(session, member, actor="reporter", action=action, note=note, now=now)
    for message in forwards:
        outbox.enqueue(session, message)
    return Result(Outcome.NOTED if feedback.satisfied else Outcome.RECORDED, case)


def _others_waiting(session: Session, case: Complaint, member: Complaint) -> bool:
    """Some other reporter of the case has not said PUAS since the latest answer."""
    giver = (member.reply_channel, member.reply_address)
    others = {
        route: ids for route, ids in lifecycle.reporter_routes(session, case).items()
        if route != giver
    }  # fmt: skip
    if not others:
        return False
    satisfied = set(
        session.scalars(
            select(col(ComplaintEvent.complaint_id))
            .where(
                col(ComplaintEvent.complaint_id).in_([i for ids in others.values() for i in ids])
            )
            .where(col(ComplaintEvent.action) == SATISFIED)
            .where(col(ComplaintEvent.created_at) >= case.answered_at)
        ).all()
    )
    return any(not satisfied.intersection(ids) for ids in others.values())


def anyone_answered(session: Session, case: Complaint) -> bool:
    """A reporter of the case wrote something since the latest answer (then nobody is told
    the case closed "without response")."""
    if case.answered_at is None:
        return False
    ids = [m.id for m in notify.cluster_members(session, case)]
    found = session.scalar(
        select(col(ComplaintEvent.id))
        .where(col(ComplaintEvent.complaint_id).in_(ids))
        .where(col(ComplaintEvent.actor) == "reporter")
        .where(col(ComplaintEvent.created_at) >= case.answered_at)
        .limit(1)
    )
    return found is not None
