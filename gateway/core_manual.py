"""The manual backend (CORE_BACKEND=manual), for regencies without SP4N-LAPOR! API access: the
gateway prepares each report ready to paste into the LAPOR! website, the admin types back the
tracking id LAPOR! gave it, and answers read in LAPOR! are typed or pasted on the complaint page.
They then travel the same path as answers from an API: the reporter of every complaint in the
cluster gets them on their own channel, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session

from forwarder.base import CoreEventKind, ManualTask
from forwarder.manual import InvalidTrackingId, ManualCoreClient, manual_event
from gateway import core_sync, lifecycle, workflow
from gateway.actions import ActionInvalid, NotAllowed
from gateway.clock import utcnow
from gateway.models import Complaint, Status

if TYPE_CHECKING:
    from gateway.context import Gateway

NOT_FOR_CORE = frozenset({Status.ARCHIVED, Status.RETURNED, Status.MERGED})
ANSWERABLE = frozenset({Status.DISPOSED, Status.IN_PROGRESS, Status.ANSWERED})


def is_manual(gateway: Gateway) -> bool:
    return gateway.settings.core_backend == "manual"


def needs_filing(gateway: Gateway, complaint: Complaint) -> bool:
    return (
        is_manual(gateway)
        and not complaint.core_ref
        and not lifecycle.is_follower(complaint)  # a case is filed once, from its primary
        and Status(complaint.status) not in NOT_FOR_CORE
    )


def can_enter_answer(gateway: Gateway, complaint: Complaint) -> bool:
    return (
        is_manual(gateway) and bool(complaint.core_ref) and Status(complaint.status) in ANSWERABLE
    )


def task(gateway: Gateway, session: Session, complaint: Complaint, language: str) -> ManualTask:
    """The paste-ready report (text and single fields) for the LAPOR! form."""
    client = ManualCoreClient.from_settings(gateway.settings, language)
    report = core_sync.build_report(gateway, session, complaint)
    return client.task_for(report, complaint.tracking_code)


def record_tracking_id(
    gateway: Gateway,
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


def record_answer(
    gateway: Gateway,
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
