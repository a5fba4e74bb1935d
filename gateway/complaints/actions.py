"""What admins and liaison officers do to a complaint: the actions of the Rembang SOP (step 3)
and the agency's side of it (Rembang step 4, Tarakan's "sedang diproses" and proof of
completion), each a plain function over `gateway.complaints.workflow`.

An action works inside the caller's session: the state change (or the audited change that
keeps the state), its audit event and every outbox row it causes — the forward to the SP4N
core, WhatsApp notices to liaison officers, messages to reporters on their own channel. The
caller commits once with `workflow.commit()`, so an action happens completely or not at all.

Every action that changes the case goes through `lifecycle.step` (transition → deadlines →
each reporter of the case told once → outbox → the complaints that follow the case mirror it).
Asked of a complaint that follows another one's case, such an action is refused with
`lifecycle.FollowsCase`, naming the primary complaint where it belongs (docs/clusters.md); what
concerns only that complaint's reporter (reply, anonymise, uncluster) stays allowed.

Four things can stop an action, and then the caller rolls back and nothing has changed:
- `NotAllowed` (or `workflow.TransitionError`): not in the complaint's current state;
- `lifecycle.FollowsCase`: the complaint follows a case; act on the case's primary complaint;
- `workflow.ConcurrentUpdate`: someone else changed the complaint since the page was read;
- `ActionInvalid`: the input is wrong (missing reason, unknown agency...). Its `key` names the
  message under `admin.errors.` in `config/messages/`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from channels.base import Media
from config.messages import t
from gateway.clock import as_utc, utcnow
from gateway.complaints import lifecycle, workflow
from gateway.core import sync as core_sync
from gateway.outbox import queue as outbox
from gateway.outbox import recipients as notify
from gateway.outbox.payloads import CorePayload
from gateway.outbox.queue import OutboxMessage
from gateway.store.files import StoredFile
from gateway.store.models import (
    Agency,
    Attachment,
    AttachmentStatus,
    Category,
    Complaint,
    ComplaintEvent,
    ComplaintNote,
    Status,
)
from normalizer.pii import mask_personal_data

if TYPE_CHECKING:
    from gateway.parts import CaseParts

log = logging.getLogger(__name__)
S = Status

# Before the complaint leaves for an agency its published text can still be masked.
MASKABLE_STATES = frozenset({S.RECEIVED, S.VERIFIED, S.PENDING})
# Complaints other reports can be folded into: still being handled.
MERGE_TARGET_STATES = frozenset(
    {S.RECEIVED, S.VERIFIED, S.PENDING, S.DISPOSED, S.IN_PROGRESS, S.ANSWERED}
)
LIAISON_WORK_STATES = frozenset({S.DISPOSED, S.IN_PROGRESS})
MAX_TEXT = 4000
MIN_ANSWER = 10


class ActionInvalid(ValueError):
    """The input of an action is wrong; `key` names the message (admin.errors.<key>)."""

    def __init__(self, key: str, **values: Any) -> None:
        self.key = key
        self.values = values
        super().__init__(key)

    def message(self, lang: str) -> str:
        return t(lang, f"admin.errors.{self.key}", **self.values)


class NotAllowed(Exception):
    """The action is not possible in the complaint's current state."""

    def __init__(self, complaint: Complaint, action: str) -> None:
        self.status = complaint.status
        self.action = action
        super().__init__(f"{complaint.tracking_code}: {action} not allowed in {complaint.status}")


# --- small helpers --------------------------------------------------------------------------


def _required(value: str | None, key: str, *, min_chars: int = 1, max_chars: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if len(text) < min_chars:
        raise ActionInvalid(key, min=min_chars)
    if len(text) > max_chars:
        raise ActionInvalid("too_long", max=max_chars)
    return text


def _optional(value: str | None, max_chars: int) -> str | None:
    text = (value or "").strip()
    if len(text) > max_chars:
        raise ActionInvalid("too_long", max=max_chars)
    return text or None


def _require_state(complaint: Complaint, allowed: Iterable[Status], action: str) -> None:
    if Status(complaint.status) not in set(allowed):
        raise NotAllowed(complaint, action)


def _enqueue(session: Session, messages: Iterable[OutboxMessage | None]) -> int:
    queued = 0
    for message in messages:
        if message is not None:
            queued += outbox.enqueue(session, message)
    return queued


def _tell_reporter(
    session: Session, complaint: Complaint, text: str, event_key: str, kind: str
) -> None:
    """Queue one message to the complaint's reporter on their channel (none if unreachable)."""
    _enqueue(
        session, [notify.to_reporter(session, complaint, text, event_key=event_key, kind=kind)]
    )


def _event_id(session: Session, event: ComplaintEvent) -> int:
    """The event's id: idempotency keys of what it causes are built from it."""
    session.flush()
    assert event.id is not None
    return event.id


def _agency(session: Session, agency_id: int | None) -> Agency:
    agency = session.get(Agency, agency_id) if agency_id else None
    if agency is None or not agency.active:
        raise ActionInvalid("agency_unknown")
    return agency


def deadline_text(gateway: CaseParts, complaint: Complaint, lang: str = "id") -> str:
    """The answer deadline as a liaison officer reads it (local date)."""
    if complaint.answer_due_at is None:
        return t(lang, "admin.deadline_not_set")
    local = as_utc(complaint.answer_due_at).astimezone(ZoneInfo(gateway.settings.timezone))
    return local.strftime("%d-%m-%Y")


# --- the koordinator's actions (Rembang SOP step 3) -------------------------------------------


def verify(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    relevant: bool,
    complete: bool,
    clear: bool,
    title: str,
    category: str,
    kecamatan: str | None = None,
    kelurahan: str | None = None,
    location_text: str | None = None,
    now: datetime | None = None,
) -> ComplaintEvent:
    """The complaint is relevant, complete and clear: set its title, class and place."""
    now = now or utcnow()
    lifecycle.require_case(session, complaint, "verify")
    _require_state(complaint, {S.RECEIVED}, "verify")
    if not (relevant and complete and clear):
        raise ActionInvalid("verify_checks")
    if category not in {c.value for c in Category}:
        raise ActionInvalid("category_required")
    changes: dict[str, Any] = {
        "title": _required(title, "title_required", max_chars=200),
        "category": category,
        # None: not given (keep what the normalizer found); "": cleared by the admin.
        "kecamatan": complaint.kecamatan if kecamatan is None else _optional(kecamatan, 100),
        "kelurahan": complaint.kelurahan if kelurahan is None else _optional(kelurahan, 100),
    }
    if location_text is not None:
        changes["location_text"] = _optional(location_text, 500)
    return lifecycle.step(
        gateway,
        session,
        complaint,
        S.VERIFIED,
        actor=actor,
        action="verified",
        changes=changes,
        public=True,
        notice=lifecycle.Notice(S.VERIFIED),
        messages=lambda event_id: [
            core_sync.sop_message(
                session, complaint, core_sync.CORE_VERIFY, event_id, CorePayload()
            )
        ],
        now=now,
    )


def anonymise(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    anonim: bool,
    rahasia: bool,
    masked_text: str | None = None,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Set the text that is forwarded and published (the admin's edit; left empty, the clean
    text with personal data masked) and `anonim` (identity hidden from the agency) and
    `rahasia` (never published). Whatever is typed, `gateway.complaints.disclosure` masks personal
    data again on the way out."""
    _require_state(complaint, MASKABLE_STATES, "anonymise")
    masked = (masked_text or "").strip() or mask_personal_data(
        complaint.masked_text or complaint.clean_text or complaint.original_text
    )
    if len(masked) > 20000:
        raise ActionInvalid("too_long", max=20000)
    return workflow.record(
        session,
        complaint,
        actor=actor,
        action="anonymised",
        changes={"masked_text": masked, "anonim": anonim, "rahasia": rahasia},
        now=now,
    )


def dispose(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    agency_id: int,
    note: str | None = None,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Send a verified complaint to the competent agency: queue the forward to the SP4N core
    and a WhatsApp notice to each of the agency's liaison officers; tell the reporter(s).

    The koordinator's note is for the agency, not for the public: it becomes an internal note
    the agency's liaison officers read (`ComplaintNote`), never the text of the public
    `disposed` event, which the status page and the core's history are built from."""
    now = now or utcnow()
    lifecycle.require_case(session, complaint, "dispose")
    _require_state(complaint, {S.VERIFIED}, "dispose")
    agency = _agency(session, agency_id)
    note_text = _optional(note, MAX_TEXT)

    def consequences(event_id: int) -> list[OutboxMessage | None]:
        notices: list[OutboxMessage | None] = list(
            _liaison_notices(
                gateway, session, complaint, agency, "notify.liaison_disposed", event_id
            )
        )
        if core_sync.lapor_record(session, complaint) is not None:
            # The case already has its record in LAPOR! (it was filed there): the disposition
            # goes to that record, and the case is never filed a second time.
            payload = CorePayload(_optional(note, MAX_TEXT) or "", agency_code=agency.code)
            notices.append(
                core_sync.sop_message(session, complaint, core_sync.CORE_DISPOSE, event_id, payload)
            )
        else:
            # The case goes to the core once, from its primary complaint (followers never do).
            core_sync.enqueue_submit(session, complaint)
        return notices

    event = lifecycle.step(
        gateway,
        session,
        complaint,
        S.DISPOSED,
        actor=actor,
        action="disposed",
        changes={"agency_id": agency.id, "redisposition_requested_at": None},
        public=True,
        notice=lifecycle.Notice(S.DISPOSED),
        messages=consequences,
        now=now,
    )
    if note_text:
        session.add(
            ComplaintNote(
                complaint_id=complaint.id,  # type: ignore[arg-type]
                author=actor,
                body=note_text,
                for_agency=True,
                created_at=now,
            )
        )
    return event


def redispose(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    agency_id: int,
    reason: str,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Send a disposed complaint to another agency (a mistake, or the liaison asked for it);
    the new agency's liaison officers are told."""
    now = now or utcnow()
    lifecycle.require_case(session, complaint, "redispose")
    _require_state(complaint, LIAISON_WORK_STATES, "redispose")
    agency = _agency(session, agency_id)
    if agency.id == complaint.agency_id:
        raise ActionInvalid("same_agency")
    return lifecycle.step(
        gateway,
        session,
        complaint,
        S.DISPOSED,
        actor=actor,
        action="redisposed",
        changes={"agency_id": agency.id, "redisposition_requested_at": None},
        note=_required(reason, "reason_required"),
        public=True,
        messages=lambda event_id: [
            *_liaison_notices(
                gateway, session, complaint, agency, "notify.liaison_redisposed", event_id
            ),
            _redispose_message(session, complaint, agency, reason, event_id),
        ],
        now=now,
    )


def _redispose_message(
    session: Session, complaint: Complaint, agency: Agency, reason: str, event_id: int
) -> OutboxMessage | None:
    """A LAPOR! record is disposed again, once per key (`core_dispose`); the gateway's own
    report is moved with the keyless re-disposition (`core_redispose`)."""
    if core_sync.lapor_record(session, complaint) is not None:
        payload = CorePayload(reason.strip(), agency_code=agency.code)
        return core_sync.sop_message(session, complaint, core_sync.CORE_DISPOSE, event_id, payload)
    return core_sync.redispose_message(complaint, event_id)


def _liaison_notices(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    agency: Agency,
    text_key: str,
    event_id: int,
) -> list[OutboxMessage]:
    return notify.to_liaisons(
        session,
        complaint,
        agency,
        text_key,
        event_key=f"disposed:{event_id}",
        base_url=gateway.settings.public_base_url,
        channel=gateway.settings.liaison_whatsapp_channel,
        deadline=deadline_text(gateway, complaint),
    )


def pend(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    question: str,
    now: datetime | None = None,
) -> ComplaintEvent:
    """The complaint is incomplete: ask the reporter on their channel and wait (the clock is
    paused). Their answer joins the complaint and `resume_from_pending` brings it back."""
    now = now or utcnow()
    lifecycle.require_case(session, complaint, "pend")
    question = _required(question, "question_required", min_chars=5)
    through_lapor = complaint.origin_channel == core_sync.LAPOR_CHANNEL and bool(
        core_sync.lapor_record(session, complaint)
    )
    if not through_lapor and (not complaint.reply_channel or not complaint.reply_address):
        raise ActionInvalid("no_reply_channel")
    text = t(
        complaint.language, "reporter.question", code=complaint.tracking_code, question=question
    )

    def ask(event_id: int) -> list[OutboxMessage | None]:
        if through_lapor:
            # LAPOR!'s citizen has no channel here: the question goes to them through LAPOR!,
            # whose reply comes back as a `reporter_reply` event (gateway/core/sync.py).
            payload = CorePayload(question)
            return [
                core_sync.sop_message(session, complaint, core_sync.CORE_ASK, event_id, payload)
            ]
        return [
            notify.to_reporter(
                session, complaint, text, event_key=f"pending:{event_id}", kind="question"
            )
        ]

    return lifecycle.step(
        gateway,
        session,
        complaint,
        S.PENDING,
        actor=actor,
        action="pending",
        note=question,
        public=True,
        messages=ask,
        now=now,
    )


def resume_from_pending(
    session: Session,
    complaint: Complaint,
    actor: str,
    *,
    gateway: CaseParts,
    note: str | None = None,
    now: datetime | None = None,
) -> ComplaintEvent:
    """The reporter answered the question: the complaint returns to the inbox in the state it
    was pended from (received or verified). Called by the conversation code, or by an admin.
    A reporter of a follower answering resumes the case (their words count for it); an admin
    resumes the case on its primary complaint."""
    now = now or utcnow()
    if actor == "reporter":
        complaint = lifecycle.case_of(session, complaint)
    lifecycle.require_case(session, complaint, "resume")
    _require_state(complaint, {S.PENDING}, "resume")
    back = Status(complaint.status_before_pending or S.RECEIVED.value)
    return lifecycle.step(
        gateway,
        session,
        complaint,
        back,
        actor=actor,
        action="resumed",
        changes={"status_before_pending": None},
        note=note,
        public=True,
        now=now,
    )


def archive(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Irrelevant or spam: archived with a reason (the reporter is told when "archived" is in
    REPORTER_STATUS_NOTICES)."""
    return _close_with_reason(
        gateway, session, complaint, S.ARCHIVED, "archived", actor=actor, reason=reason, now=now
    )


def return_complaint(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Not the regency's authority: returned (to the national SP4N-LAPOR admin) with a reason,
    which the reporter is told (REPORTER_STATUS_NOTICES "returned")."""
    return _close_with_reason(
        gateway, session, complaint, S.RETURNED, "returned", actor=actor, reason=reason, now=now
    )


def _close_with_reason(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    to: Status,
    action: str,
    *,
    actor: str,
    reason: str,
    now: datetime | None,
) -> ComplaintEvent:
    now = now or utcnow()
    lifecycle.require_case(session, complaint, action)
    reason = _required(reason, "reason_required")
    kind = core_sync.CORE_ARCHIVE if to is S.ARCHIVED else core_sync.CORE_RETURN
    return lifecycle.step(
        gateway,
        session,
        complaint,
        to,
        actor=actor,
        action=action,
        note=reason,
        public=True,
        notice=lifecycle.Notice(to, reason=reason),
        # A case with a LAPOR! record is archived or returned to LAPOR!'s national admin there.
        messages=lambda event_id: [
            core_sync.sop_message(session, complaint, kind, event_id, CorePayload(reason))
        ],
        now=now,
    )


def merge(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    target: Complaint,
    *,
    actor: str,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Fold a duplicate into another complaint: it joins that complaint's cluster, its reporter
    gets the answer with everyone else's. Audited on both; `unmerge` undoes it."""
    now = now or utcnow()
    if target.id == complaint.id or target.merged_into_id == complaint.id:
        raise ActionInvalid("merge_same")
    if Status(target.status) not in MERGE_TARGET_STATES:
        raise ActionInvalid("merge_target_closed", code=target.tracking_code)
    members = session.scalar(
        select(col(Complaint.id)).where(col(Complaint.merged_into_id) == complaint.id).limit(1)
    )
    if members is not None:
        # Its own duplicates would lose their way to the answer; merge the other way round.
        raise ActionInvalid("merge_has_members")
    if lifecycle.followers(session, complaint):
        # The reporters following this case would follow a merged complaint.
        raise ActionInvalid("merge_has_followers")
    text = t(
        complaint.language,
        "reporter.merged",
        code=complaint.tracking_code,
        target=target.tracking_code,
    )
    event = lifecycle.step_own(
        gateway,
        session,
        complaint,
        S.MERGED,
        actor=actor,
        action="merged",
        changes={"merged_into_id": target.id, "cluster_id": target.cluster_id or target.id},
        note=target.tracking_code,
        public=True,
        messages=lambda event_id: [
            notify.to_reporter(
                session, complaint, text, event_key=f"merged:{event_id}", kind="status"
            )
        ],
        now=now,
    )
    workflow.record(
        session, target, actor=actor, action="merged_in", note=complaint.tracking_code, now=now
    )
    return event


def unmerge(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Undo a merge: the complaint is on its own again (back in the inbox as received), with
    the cluster it had before."""
    now = now or utcnow()
    _require_state(complaint, {S.MERGED}, "unmerge")
    merged = session.scalar(
        select(ComplaintEvent)
        .where(col(ComplaintEvent.complaint_id) == complaint.id)
        .where(col(ComplaintEvent.action).in_(("merged", "auto_merged")))
        .order_by(col(ComplaintEvent.id).desc())
        .limit(1)
    )
    # The cluster it had before the merge (an automatic merge by the duplicate finder keeps it).
    before = (merged.before or {}) if merged is not None else {}
    cluster_before = before.get("cluster_id") if "cluster_id" in before else complaint.cluster_id
    target = session.get(Complaint, complaint.merged_into_id) if complaint.merged_into_id else None
    event = lifecycle.step_own(
        gateway,
        session,
        complaint,
        S.RECEIVED,
        actor=actor,
        action="unmerged",
        changes={"merged_into_id": None, "cluster_id": cluster_before},
        note=target.tracking_code if target else None,
        public=True,
        now=now,
    )
    if target is not None:
        workflow.record(
            session,
            target,
            actor=actor,
            action="unmerged_out",
            note=complaint.tracking_code,
            now=now,
        )
    if lifecycle.is_follower(complaint):
        # Back in the case it followed before the merge: it takes the case's state at once.
        workflow.follow(session, complaint, lifecycle.case_of(session, complaint), now=now)
    return event


def uncluster(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    now: datetime | None = None,
) -> ComplaintEvent:
    """Not the same problem after all: the complaint leaves the case it follows and gets back
    its own life (its own status, back in the inbox, its own deadlines; no more case notices).
    """
    if not lifecycle.is_follower(complaint):
        raise NotAllowed(complaint, "uncluster")
    case = lifecycle.case_of(session, complaint)
    event = lifecycle.leave(gateway, session, complaint, actor=actor, now=now)
    if Status(case.status) in (S.DISPOSED, S.IN_PROGRESS, S.ANSWERED) and not core_sync.in_core(
        session, core_sync.core_owner(session, case)
    ):
        # The case was disposed while a LAPOR! report that joined it stood for it in the core;
        # that report has its own life again, so the case gets its own record now.
        session.flush()
        core_sync.enqueue_submit(session, case)
    return event


def reply(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    text: str,
    now: datetime | None = None,
) -> ComplaintEvent:
    """A message to the reporter on their channel; the complaint's state does not change."""
    text = _required(text, "text_required", min_chars=2)
    if not complaint.reply_channel or not complaint.reply_address:
        raise ActionInvalid("no_reply_channel")
    event = workflow.record(session, complaint, actor=actor, action="reply", note=text, now=now)
    event_id = _event_id(session, event)
    message = t(complaint.language, "reporter.reply", code=complaint.tracking_code, text=text)
    _tell_reporter(session, complaint, message, f"reply:{event_id}", "reply")
    return event


# --- the liaison officer's actions (Rembang step 4, Tarakan) -----------------------------------


def acknowledge(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    now: datetime | None = None,
) -> ComplaintEvent:
    """The agency is on it ("sedang diproses"); every reporter of the cluster is told."""
    now = now or utcnow()
    lifecycle.require_case(session, complaint, "acknowledge")
    _require_state(complaint, {S.DISPOSED}, "acknowledge")
    event = lifecycle.step(
        gateway,
        session,
        complaint,
        S.IN_PROGRESS,
        actor=actor,
        action="in_progress",
        public=True,
        notice=lifecycle.Notice(S.IN_PROGRESS),
        now=now,
    )
    core_sync.enqueue(
        session, core_sync.progress_message(session, complaint, _event_id(session, event))
    )
    return event


def answer(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    text: str,
    photos: Sequence[tuple[StoredFile, str | None]] = (),
    now: datetime | None = None,
) -> ComplaintEvent:
    """The agency's answer, with photos of the result (proof of completion). The photos are
    kept as the complaint's attachments; the answer is queued to every reporter of the cluster
    on their own channel (REPORTER_STATUS_NOTICES "answered", as for answers from the core), and
    the reporters' 10 working days to respond start."""
    now = now or utcnow()
    lifecycle.require_case(session, complaint, "answer")
    text = _required(text, "answer_required", min_chars=MIN_ANSWER)
    if not workflow.can_transition(complaint.status, S.ANSWERED):
        raise workflow.TransitionError(complaint, S.ANSWERED)
    kept = []
    for stored, filename in photos:
        attachment = Attachment(
            complaint_id=complaint.id,
            source="liaison",
            kind="photo",
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            storage_key=stored.key,
            original_name=(filename or "")[:255] or None,
            status=AttachmentStatus.STORED,
            created_at=now,
        )
        session.add(attachment)
        kept.append(attachment)
    session.flush()
    # Providers fetch the photos through signed, expiring links (WhatsApp, SMS-MMS).
    media = tuple(
        Media(
            url=gateway.media_links.url(a.id),  # type: ignore[arg-type]
            ref=a.storage_key,
            content_type=a.content_type,
            size=a.size,
            filename=a.original_name,
        )
        for a in kept
    )
    event = lifecycle.step(
        gateway,
        session,
        complaint,
        S.ANSWERED,
        actor=actor,
        action="answered",
        changes={"redisposition_requested_at": None},
        note=text,
        public=True,
        notice=lifecycle.Notice(S.ANSWERED, media=media, answer=text),
        now=now,
    )
    core_sync.enqueue(
        session, core_sync.answer_message(session, complaint, _event_id(session, event), text, kept)
    )
    return event


def request_redisposition(
    gateway: CaseParts,
    session: Session,
    complaint: Complaint,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> ComplaintEvent:
    """ "Not our agency's task": the complaint is flagged in the koordinator's inbox for
    re-disposition; it stays with the agency until the koordinator moves it."""
    now = now or utcnow()
    lifecycle.require_case(session, complaint, "request_redisposition")
    _require_state(complaint, LIAISON_WORK_STATES, "request_redisposition")
    return workflow.record(
        session,
        complaint,
        actor=actor,
        action="redisposition_requested",
        changes={"redisposition_requested_at": now},
        note=_required(reason, "reason_required"),
        now=now,
    )
