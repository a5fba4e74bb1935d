"""The manual backend (CORE_BACKEND=manual), for regencies without SP4N-LAPOR! API access: the
gateway prepares each report ready to paste into the LAPOR! website, the admin types back the
tracking id LAPOR! gave it, and answers read in LAPOR! are typed or pasted on the complaint page.
They then travel the same path as answers from an API: the reporter of every complaint in the
cluster gets them on their own channel, once.

The other way round, what happens in the gateway (a liaison officer's "sedang diproses" and
answer, the gateway's closes, a re-disposition) waits on the complaint page as a copy-ready task
until the admin says it is pasted into LAPOR! (`record_pasted`). A core row that failed can be
sent again from the same page (`resend`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

from forwarder.base import CoreEventKind, ManualTask
from forwarder.manual import InvalidTrackingId, ManualCoreClient, manual_event
from gateway.clock import utcnow
from gateway.complaints import lifecycle, workflow
from gateway.complaints.actions import ActionInvalid, NotAllowed
from gateway.core import sync as core_sync
from gateway.outbox import queue as outbox
from gateway.outbox.payloads import CorePayload
from gateway.store.models import Complaint, OutboxItem, OutboxStatus, Status

if TYPE_CHECKING:
    from gateway.parts import CaseParts, Filing

NOT_FOR_CORE = frozenset({Status.ARCHIVED, Status.RETURNED, Status.MERGED})
# The rows an admin pastes into LAPOR! by hand (the submission has its own form: the id typed back).
PASTEABLE = frozenset({core_sync.CORE_REDISPOSE, *core_sync.FOLLOWUPS})
ANSWERABLE = frozenset({Status.DISPOSED, Status.IN_PROGRESS, Status.ANSWERED})


def is_manual(gateway: CaseParts) -> bool:
    return gateway.settings.core_backend == "manual"


def needs_filing(gateway: CaseParts, complaint: Complaint) -> bool:
    return (
        is_manual(gateway)
        and not complaint.core_ref
        and not lifecycle.is_follower(complaint)  # a case is filed once, from its primary
        and Status(complaint.status) not in NOT_FOR_CORE
    )


def can_enter_answer(gateway: CaseParts, complaint: Complaint) -> bool:
    return (
        is_manual(gateway) and bool(complaint.core_ref) and Status(complaint.status) in ANSWERABLE
    )


def task(gateway: CaseParts, session: Session, complaint: Complaint, language: str) -> ManualTask:
    """The paste-ready report (text and single fields) for the LAPOR! form."""
    client = ManualCoreClient.from_settings(gateway.settings, language)
    report = core_sync.build_report(gateway, session, complaint)
    return client.task_for(report, complaint.tracking_code)


def record_tracking_id(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    typed: str,
    language: str,
) -> None:
    client = ManualCoreClient.from_settings(gateway.settings, language)
    try:
        ref = client.confirm(typed)
    except InvalidTrackingId as exc:
        raise ActionInvalid("core_ref_invalid", detail=exc.message) from None
    if not needs_filing(gateway, complaint):
        raise NotAllowed(complaint, "core_ref")
    workflow.record(
        session,
        complaint,
        actor=actor,
        action="core_ref_recorded",
        changes={"core_ref": ref.core_id, "core_status": ref.status},
        note=ref.core_id,
        public=True,
    )
    submit = session.scalar(
        select(OutboxItem)
        .where(col(OutboxItem.complaint_id) == complaint.id)
        .where(col(OutboxItem.kind) == core_sync.CORE_SUBMIT)
    )
    if submit is not None:
        submit.delivery_state = core_sync.PASTED
        session.add(submit)
    core_sync.release_after_filing(session, complaint)


def followup_task(
    gateway: CaseParts, session: Session, item: OutboxItem, language: str
) -> ManualTask | None:
    """The copy-ready text of a follow-up row: what the outbox handed the admin, built by the
    same function (None for a row that is not a follow-up)."""
    kind = core_sync.FOLLOWUPS.get(item.kind)
    if kind is None:
        return None
    owner = session.get(Complaint, item.complaint_id)
    client = ManualCoreClient.from_settings(gateway.settings, language)
    return client.followup_task(
        kind,
        owner.core_ref if owner else None,
        CorePayload.from_json(item.payload).text,
        core_sync.followup_attachments(gateway, session, item),
        item.idempotency_key,
        agency_code=CorePayload.from_json(item.payload).agency_code,
    )


def _core_row(session: Session, complaint: Complaint, item_id: str) -> OutboxItem | None:
    """One of the case's rows for the core, by the id the page sent (None if it is not)."""
    try:
        row = session.get(OutboxItem, int(item_id))
    except ValueError:
        return None
    owner = core_sync.core_owner(session, complaint)
    if row is None or row.complaint_id != owner.id or row.kind not in core_sync.CORE_KINDS:
        return None
    return row


def record_pasted(
    gateway: CaseParts, session: Session, complaint: Complaint, *, actor: str, item_id: str
) -> None:
    """The admin pasted a follow-up into LAPOR! ("sudah ditempel di LAPOR!"); a second click on
    the same task changes nothing."""
    row = _core_row(session, complaint, item_id)
    if row is None or row.kind not in PASTEABLE:
        raise ActionInvalid("core_task_unknown")
    if row.delivery_state == core_sync.PASTED:
        return
    if row.delivery_state != core_sync.MANUAL:
        raise ActionInvalid("core_task_unknown")
    owner = core_sync.core_owner(session, complaint)
    if not owner.core_ref:
        raise ActionInvalid("core_file_first")
    row.delivery_state = core_sync.PASTED
    row.updated_at = utcnow()
    session.add(row)
    workflow.record(
        session,
        owner,
        actor=actor,
        action="core_pasted",
        note=CorePayload.from_json(row.payload).text or None,
    )


def resend(
    gateway: CaseParts, session: Session, complaint: Complaint, *, actor: str, item_id: str
) -> None:
    """Queue a failed row for the core again (the cause fixed, or the core back)."""
    row = _core_row(session, complaint, item_id)
    if row is None or row.status != OutboxStatus.DEAD:
        raise ActionInvalid("core_not_failed")
    outbox.requeue_dead(session, row.id)  # type: ignore[arg-type]
    owner = core_sync.core_owner(session, complaint)
    workflow.note(session, owner, actor=actor, action="core_resent", note=row.kind)


def record_answer(
    gateway: Filing,  # the core's events may file a LAPOR! report, so filing is in reach
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    text: str,
    entry_id: str,
) -> str:
    """An answer the admin read in LAPOR!, applied like one the core sent (idempotent on the
    form's entry id, so a double click answers once)."""
    if not can_enter_answer(gateway, complaint):
        raise NotAllowed(complaint, "core_answer")
    if not text.strip():
        raise ActionInvalid("core_answer_empty")
    event = manual_event(
        complaint.core_ref or "",
        CoreEventKind.ANSWER,
        entry_id=entry_id,
        occurred_at=utcnow(),
        text=text.strip(),
    )
    return core_sync.apply_event_in(gateway, session, event, "manual")
