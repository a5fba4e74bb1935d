"""A comment on a channel with no private messages (YouTube: `public_posts.PUBLIC_ONLY`),
filed as a complaint at once.

The bot cannot hold its conversation there (no consent question, no "where exactly?", no
KIRIM), so a comment worth answering (`public_posts.worth_answering`) is the whole report:

- Chatter ("bukan laporan": thanks, chit-chat, a joke; gateway/bot/chatter.py) and bot commands
  are recorded and left alone: no complaint, no public reply.
- A later comment of the same author in the same thread adds to the complaint that thread
  started (the admin reads it), with no second public reply.
- Anything else becomes a complaint `received` like every other (enriched, duplicates folded,
  its deadlines started), kept with the comment's link (`source_url`). It is `anonim`: the
  person was never asked to agree that their name go further, so it does not leave the gateway
  unless an admin decides so. There is no private channel to answer on (`reply_channel` is
  empty, as for a manual entry): under the comment goes the tracking code, its public status
  page and where to go on privately (`public_posts.filed_note`), and when it is answered a note
  with the code (`public_posts.answered_notes`). A complaint the normalizer suggests is spam or
  a promotion is filed for the admin to archive, with nothing said in public.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import Session, col

from gateway.bot import chatter, public_posts
from gateway.bot.commands import parse_command
from gateway.bot.reporters import identify
from gateway.complaints import dedup, workflow
from gateway.complaints.create import attachments_from, file_complaint
from gateway.outbox.queue import enqueue
from gateway.store.models import Complaint, InboundMessage, InboundStatus
from normalizer.language import guess_language

if TYPE_CHECKING:
    from gateway.parts import Conversing


def _set_aside(session: Session, row: InboundMessage, why: str) -> None:
    row.status = InboundStatus.IGNORED.value
    row.last_error = why
    session.add(row)


def _thread_complaint(session: Session, row: InboundMessage) -> Complaint | None:
    """The open complaint an earlier comment of the same author in this thread started."""
    ref = public_posts.thread_ref(row)
    earlier = session.scalars(
        select(InboundMessage)
        .where(col(InboundMessage.channel) == row.channel)
        .where(col(InboundMessage.sender) == row.sender)
        .where(col(InboundMessage.complaint_id).is_not(None))
        .where(col(InboundMessage.id) != row.id)
        .order_by(col(InboundMessage.id).desc())
        .limit(200)
    ).all()
    for candidate in earlier:
        if ref and public_posts.thread_ref(candidate) == ref:
            complaint = session.get(Complaint, candidate.complaint_id)
            if complaint is not None and complaint.status in workflow.OPEN_STATES:
                return complaint
    return None


def file_comment(gateway: Conversing, session: Session, row: InboundMessage, now: datetime) -> None:
    """One comment on a `PUBLIC_ONLY` channel: set aside, added to its thread's complaint, or
    filed as a complaint with the tracking code said under it."""
    text = (row.text or "").strip()
    if parse_command(text, row.button_payload) is not None:
        _set_aside(session, row, "a bot command in a public comment: no private thread to answer")
        return
    if chatter.is_chatter(gateway, session, row, text):
        _set_aside(session, row, "bukan laporan: thanks or chit-chat in a public comment")
        return
    reporter, _identity = identify(
        session,
        row.channel,
        row.sender,
        now=now,
        display_name=row.sender_name,
        opens_window=False,
    )
    row.reporter_id = reporter.id
    session.add(row)
    open_case = _thread_complaint(session, row)
    if open_case is not None:
        row.complaint_id = open_case.id
        for attachment in attachments_from(row, open_case.id):  # type: ignore[arg-type]
            session.add(attachment)
        workflow.record(
            session, open_case, actor="reporter", action="reporter_message", note=text, now=now
        )
        return
    from gateway.intake.inbound import _free_code

    complaint = Complaint(
        tracking_code=_free_code(session),
        reporter_id=reporter.id,
        origin_channel=row.channel,
        reply_channel=None,  # no private thread: the public replies are all there is
        reply_address=None,
        language=row.language or guess_language(text) or "id",
        original_text=text,
        source_url=public_posts.first_link([row]),
        anonim=True,  # never asked to agree that the name go further
        rahasia=False,
        received_at=row.received_at,
    )
    match = file_complaint(gateway, session, complaint, now=now)
    row.complaint_id = complaint.id
    session.add(row)
    for attachment in attachments_from(row, complaint.id):  # type: ignore[arg-type]
        session.add(attachment)
    case = complaint
    if match is not None and match.decision == dedup.SAME_REPORTER_DUPLICATE:
        case = match.other  # they said this before: the code they follow is that one
    if complaint.not_report or not gateway.settings.public_comment_replies:
        return  # spam or a promotion, by the normalizer's guess: the admin decides, silently
    enqueue(session, public_posts.filed_note(gateway, row, case))
