"""The SP4N-LAPOR! box of the complaint page: everything the gateway queued for the core about
this case, each row in the state it is really in — queued, sent (accepted by the core, with its
LAPOR! number), waiting for manual input (with the copy-ready text), pasted, or failed (with the
reason and a button to send it again). Nothing says "sent" before the core said so.

For a member of a cluster the rows are the primary's: one report per case stands in the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

from forwarder.base import ManualTask
from forwarder.status_map import to_internal
from gateway.admin.sessions import Principal
from gateway.core import manual as core_manual
from gateway.core import sync as core_sync
from gateway.outbox.payloads import CorePayload
from gateway.store.models import (
    Attachment,
    AttachmentStatus,
    Complaint,
    OutboxItem,
    OutboxStatus,
    Role,
)

if TYPE_CHECKING:
    from gateway.parts import CaseParts

QUEUED = "queued"
SENT = "sent"
MANUAL = "manual"
PASTED = "pasted"
FAILED = "failed"


@dataclass
class CoreRow:
    item: OutboxItem
    state: str  # queued | sent | manual | pasted | failed
    task: ManualTask | None = None  # the copy-ready text, while it waits for the admin
    photos: list[Attachment] = field(default_factory=list)


@dataclass
class CoreBox:
    owner: Complaint  # the complaint whose report stands for the case in the core
    via: str | None  # the owner's tracking code when it is not the complaint shown
    rows: list[CoreRow]
    can_act: bool  # may paste, resend, type back ids and answers (koordinator)
    manual: bool
    submit_task: ManualTask | None = None
    can_enter_answer: bool = False

    @property
    def core_state(self) -> str | None:
        """The core's status word as one of our states (shown in words), if it maps."""
        return to_internal(self.owner.core_status)


def state_of(item: OutboxItem, owner: Complaint) -> str:
    if item.status in (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT):
        return QUEUED
    if item.status == OutboxStatus.DEAD:
        return FAILED
    if item.delivery_state == core_sync.PASTED:
        return PASTED
    if item.delivery_state == core_sync.MANUAL:
        # A manual submission is done once the admin typed back LAPOR!'s number.
        return PASTED if item.kind == core_sync.CORE_SUBMIT and owner.core_ref else MANUAL
    return SENT


def build(
    gateway: CaseParts, session: Session, complaint: Complaint, principal: Principal, language: str
) -> CoreBox:
    owner = core_sync.core_owner(session, complaint)
    items = session.scalars(
        select(OutboxItem)
        .where(col(OutboxItem.complaint_id) == owner.id)
        .where(col(OutboxItem.kind).in_(core_sync.CORE_KINDS))
        .order_by(col(OutboxItem.id))
    ).all()
    rows = []
    for item in items:
        state = state_of(item, owner)
        rows.append(
            CoreRow(
                item=item,
                state=state,
                task=core_manual.followup_task(gateway, session, item, language)
                if state == MANUAL
                else None,
                photos=_photos(session, item),
            )
        )
    can_act = principal.role is Role.KOORDINATOR
    manual = core_manual.is_manual(gateway)
    return CoreBox(
        owner=owner,
        via=owner.tracking_code if owner.id != complaint.id else None,
        rows=rows,
        can_act=can_act,
        manual=manual,
        submit_task=core_manual.task(gateway, session, complaint, language)
        if can_act and core_manual.needs_filing(gateway, complaint) and owner.id == complaint.id
        else None,
        can_enter_answer=can_act and core_manual.can_enter_answer(gateway, complaint),
    )


def _photos(session: Session, item: OutboxItem) -> list[Attachment]:
    ids = list(CorePayload.from_json(item.payload).attachment_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Attachment)
            .where(col(Attachment.id).in_(ids))
            .where(col(Attachment.status) == AttachmentStatus.STORED)
            .order_by(col(Attachment.id))
        ).all()
    )
