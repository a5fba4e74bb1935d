"""The complaint mailbox: what the gateway does with one mail (the `email` channel's processor).

E-mail is not a chat. A mail (or a thread) is one complaint: there is no consent question, no
draft and no KIRIM — writing to the regency's complaint address is the report, as submitting
the web form is, and the receipt says how the data is used. So:

- A mail that starts a thread becomes a complaint at once (its subject and text, its
  attachments), answered with the receipt and the tracking code in the subject.
- A mail in the thread of an open complaint (the code in the subject, else `In-Reply-To` /
  `References`; see gateway/outbox/mail_threads.py) is an addition to it: its words go to the
  timeline, its attachments to the complaint; it answers the admin's question (pending), and
  after an answer it is the reporter's response (PUAS, TIDAK PUAS, a rating). A mail about a
  complaint that is closed (or not theirs) starts a new one.
- Automatic mail (auto-replies, bounces, lists, our own) is kept and never answered, so two
  auto-responders can never loop; in a thread it is noted on the complaint's timeline (whoever
  sent it: a bounce comes from the mail system), and a bounce of one of our mails (the returned
  Message-ID is an outbox row's) sets the complaint's delivery problem, as a failed send does.
- Thanks, chit-chat or a joke with no attachment (the normalizer's "bukan laporan") gets the
  same answer as in a chat and is set aside; spam and promotions become complaints the inbox
  offers for archiving, as for every channel. A mail with nothing in it is asked for the report.
- Broken MIME, an unknown charset or no text: the mail is kept with what could be read; the
  complaint page shows what was wrong (`extra["defects"]`, `no_text`, large attachments).

Every reply is an outbox row keyed by the mail, so processing a mail twice never answers twice.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

from config.messages import t
from gateway.bot import chatter
from gateway.bot.reporters import identify
from gateway.clock import utcnow
from gateway.complaints import actions, dedup, feedback, workflow
from gateway.complaints.create import attachments_from, file_complaint
from gateway.intake.inbound import _free_code as free_code
from gateway.outbox import mail_threads
from gateway.outbox import recipients as notify
from gateway.outbox.payloads import ChannelPayload
from gateway.outbox.queue import OutboxMessage, enqueue
from gateway.store.models import Complaint, InboundMessage, InboundStatus, OutboxItem, Status
from normalizer.language import guess_language
from normalizer.title import shorten

if TYPE_CHECKING:
    from gateway.parts import Intake

CHANNEL = mail_threads.CHANNEL
# A thread about a complaint in one of these states starts a new complaint.
_FINISHED = frozenset({Status.CLOSED, Status.ARCHIVED, Status.RETURNED})
# Subjects that say nothing about the problem are not put in front of the text.
_EMPTY_SUBJECT = re.compile(
    r"^(?:(?:re|aw|fwd?|balas|tr)\s*:\s*)*(?:laporan|pengaduan|aduan|keluhan|lapor|"
    r"no subject|tanpa subjek|\(no subject\))?\s*$",
    re.IGNORECASE,
)


_FLAG_LINE = re.compile(r"^\s*(ANONIM|RAHASIA)\s*[.!]?\s*$", re.IGNORECASE | re.MULTILINE)


def flags_in(text: str) -> set[str]:
    """ANONIM / RAHASIA written on a line of their own (the chat's commands, in a mail)."""
    return {m.group(1).lower() for m in _FLAG_LINE.finditer(text or "")}


def _subject(row: InboundMessage) -> str:
    return str((row.extra or {}).get("subject") or "").strip()


def complaint_text(row: InboundMessage) -> str:
    """What the complaint says: the subject (unless it says nothing) and the mail's new words
    (quotes and signature cut by the channel; the whole mail stays in the raw record)."""
    subject = mail_threads.bare_subject(_subject(row))
    body = (row.text or "").strip()
    if not subject or _EMPTY_SUBJECT.match(subject) or subject.lower() in body.lower():
        return body
    return f"{subject}\n\n{body}".strip()


def _language(row: InboundMessage, text: str) -> str:
    return row.language or guess_language(text) or "id"


def _reply(
    row: InboundMessage,
    complaint: Complaint | None,
    text: str,
    *,
    language: str,
    name: str,
) -> OutboxMessage:
    """A mail to the sender in the thread of `row`, about `complaint` when there is one."""
    subject = mail_threads.reply_subject(_subject(row), t(language, "mail.subject"))
    references = str((row.extra or {}).get("references") or "")
    own_id = row.external_id if row.external_id.startswith("<") else None
    variables = {"text": text, "subject": subject, "references": references}
    if complaint is not None:
        variables["tracking_code"] = complaint.tracking_code
    return OutboxMessage(
        kind="reply",
        key=f"mail:{row.id}:{name}",
        channel=CHANNEL,
        recipient=row.sender,
        complaint_id=complaint.id if complaint is not None else None,
        payload=ChannelPayload(
            text,
            kind="reply",
            language=language,
            template_variables=variables,
            reply_to=own_id,
        ),
    )


def handle_mail(gateway: Intake, session: Session, row: InboundMessage) -> None:
    """The `email` channel's processor (see the module's rules)."""
    now = utcnow()
    extra = row.extra or {}
    complaint = mail_threads.thread_of(session, row, any_sender=bool(extra.get("automatic")))
    if complaint is not None and complaint.merged_into_id is not None:
        followed = session.get(Complaint, complaint.merged_into_id)
        complaint = followed if followed is not None else complaint
    if extra.get("automatic"):
        _keep_automatic(session, row, complaint, str(extra["automatic"]), now)
        return
    if not row.sender:
        row.status = InboundStatus.IGNORED.value
        row.last_error = "no sender address"
        session.add(row)
        return
    reporter, _ = identify(
        session,
        CHANNEL,
        row.sender,
        now=now,
        display_name=row.sender_name,
        email=row.sender,
        language=row.language,
    )
    row.reporter_id = reporter.id
    # Writing to the complaint address is the report (as the web form is): the receipt says how
    # the data is used.
    reporter.consent_at = reporter.consent_at or row.received_at
    if complaint is not None and Status(complaint.status) not in _FINISHED:
        _add_to(gateway, session, complaint, row, now)
        return
    _new_complaint(gateway, session, row, reporter.id, now)  # type: ignore[arg-type]


def _keep_automatic(
    session: Session,
    row: InboundMessage,
    complaint: Complaint | None,
    reason: str,
    now: datetime,
) -> None:
    """Kept, never answered; in a thread, noted on the complaint (a bounce of our reply tells
    the admin the reporter did not get it)."""
    if complaint is None:
        row.status = InboundStatus.IGNORED.value
        row.last_error = f"automatic mail ({reason}): kept, not answered"
        session.add(row)
        return
    row.complaint_id = complaint.id
    session.add(row)
    changes = {}
    returned = (row.extra or {}).get("returned_message_id")
    if returned and _ours(session, complaint, str(returned)):
        # Our mail to the reporter bounced: the complaint page says so, as for a failed send.
        changes["delivery_problem"] = f"email → {complaint.reply_address}: {reason}"[:2000]
    workflow.record(
        session,
        complaint,
        actor="system",
        action="automatic_mail",
        changes=changes,
        note=f"{reason}: {_subject(row)}"[:2000],
        now=now,
    )


def _ours(session: Session, complaint: Complaint, message_id: str) -> bool:
    """Whether `message_id` is a mail we sent about `complaint`."""
    return (
        session.scalar(
            select(col(OutboxItem.id))
            .where(col(OutboxItem.complaint_id) == complaint.id)
            .where(col(OutboxItem.channel) == CHANNEL)
            .where(col(OutboxItem.provider_message_id) == message_id)
            .limit(1)
        )
        is not None
    )


def _add_to(
    gateway: Intake, session: Session, complaint: Complaint, row: InboundMessage, now: datetime
) -> None:
    """A mail in the thread of an open complaint is part of it."""
    row.complaint_id = complaint.id
    session.add(row)
    for attachment in attachments_from(row, complaint.id):  # type: ignore[arg-type]
        session.add(attachment)
    note = (row.text or "").strip() or None
    code = complaint.tracking_code
    flags = flags_in(note or "")
    if flags and not _FLAG_LINE.sub("", note or "").strip():
        # Only the word: the reporter asks for the flag, nothing to add.
        for flag in sorted(flags):
            if not getattr(complaint, flag):
                workflow.record(
                    session,
                    complaint,
                    actor="reporter",
                    action=f"set_{flag}",
                    changes={flag: True},
                    now=now,
                )
        text = " ".join(t(complaint.language, f"bot.flag_{flag}") for flag in sorted(flags))
    elif complaint.status == Status.PENDING:
        actions.resume_from_pending(
            session, complaint, "reporter", gateway=gateway, note=note, now=now
        )
        text = t(complaint.language, "bot.resumed", code=code)
    elif complaint.status == Status.ANSWERED and note:
        result = feedback.give(gateway, session, complaint, note, key=f"in{row.id}", now=now)
        key = (
            "reporter.feedback_reopened"
            if result.outcome is feedback.Outcome.REOPENED
            else "reporter.feedback_thanks"
        )
        text = t(complaint.language, key, code=code)
    else:
        workflow.record(
            session, complaint, actor="reporter", action="reporter_message", note=note, now=now
        )
        text = t(complaint.language, "mail.added", code=code)
    _send(session, notify.to_reporter(session, complaint, text, event_key=f"mail{row.id}"))


def _send(session: Session, message: OutboxMessage | None) -> None:
    if message is not None:
        enqueue(session, message)


def _new_complaint(
    gateway: Intake, session: Session, row: InboundMessage, reporter_id: int, now: datetime
) -> None:
    text = complaint_text(row)
    language = _language(row, text)
    if not row.media:
        if not text:
            row.status = InboundStatus.IGNORED.value
            row.last_error = "empty mail: asked for the report"
            session.add(row)
            _send(
                session,
                _reply(row, None, t(language, "mail.empty"), language=language, name="empty"),
            )
            return
        if chatter.is_chatter(gateway, session, row, text):
            row.status = InboundStatus.IGNORED.value
            row.last_error = "not a report (thanks, chit-chat): answered with how to report"
            session.add(row)
            reply = _reply(
                row, None, t(language, "mail.not_a_report"), language=language, name="not"
            )
            _send(session, reply)
            return
    complaint = Complaint(
        tracking_code=free_code(session),
        reporter_id=reporter_id,
        origin_channel=CHANNEL,
        reply_channel=CHANNEL,
        reply_address=row.sender,
        language=language,
        original_text=text,
        anonim="anonim" in flags_in(row.text or ""),
        rahasia="rahasia" in flags_in(row.text or ""),
        received_at=row.received_at,
    )
    match = file_complaint(gateway, session, complaint, now=now)
    row.complaint_id = complaint.id
    session.add(row)
    for attachment in attachments_from(row, complaint.id):  # type: ignore[arg-type]
        session.add(attachment)
    if match is not None and match.decision == dedup.SAME_REPORTER_DUPLICATE:
        # They sent this before: answered in this mail's thread, with the code they already have.
        said = t(language, "mail.merged", code=match.other.tracking_code)
        _send(session, notify.to_reporter(session, complaint, said, event_key=f"mail{row.id}"))
        return
    summary = (complaint.title or shorten(complaint.clean_text)).rstrip(".!?… ")
    files = len(row.media or [])
    details = t(language, "mail.received_files", count=files) if files else ""
    code = complaint.tracking_code
    link = f"{gateway.settings.public_base_url}/status/{code}"
    receipt = t(language, "mail.received", code=code, summary=summary, details=details, link=link)
    _send(session, notify.to_reporter(session, complaint, receipt, event_key=f"mail{row.id}"))
