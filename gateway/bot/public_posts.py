"""Public posts: what the gateway says, and never says, under a comment anyone can read.

A comment under the regency's own post (Instagram, Facebook; later a public mention on X) is a
citizen's message like any other, but it is public. The policy, in one place for every channel:

- A comment with nothing to act on (praise, a greeting, emoji, "hadir") is recorded and left
  alone (`worth_answering`): no public reply, no conversation.
- Otherwise the bot's conversation runs as for a direct message, but its replies do not go to
  the comment. Under the comment goes only a short, neutral acknowledgement (`public.ack`:
  no name, no number, nothing of the complaint) and the conversation continues privately:
  on Meta by its private reply to the comment, which is one message only, so the bot's replies
  of that turn are joined into it (`replies_to_comment`). Channels without a private reply to a
  post (X) send them as a direct message.
- Meta answers the private reply with the person's messaging id, which may differ from the
  comment's author id on Facebook: `reporters.link_private_thread` (called by the outbox once
  it is sent) joins that id to the commenter's reporter and conversation, so the direct
  messages that follow continue the same draft.
- When the complaint is answered, the answer goes to the private thread as for every reporter,
  and under the comment a short public note with the tracking code (`answered_notes`) unless
  the reporter chose `rahasia`.

The flags of a public row are kept in `InboundMessage.extra` (`public`, `thread_ref`,
`permalink`) by intake (gateway/intake/inbound.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session, col

from channels.base import Button, ReplyMode
from config.messages import t
from gateway.outbox.delivery import REPLY
from gateway.outbox.payloads import ChannelPayload
from gateway.outbox.queue import OutboxMessage
from gateway.store.models import Complaint, InboundMessage

if TYPE_CHECKING:
    from gateway.parts import Configured, Receiving

log = logging.getLogger(__name__)

# Where a channel continues a public comment privately. Meta's private reply is addressed to
# the comment itself (the commenter may never have written to the account); elsewhere the bot
# writes a direct message to the author.
PRIVATE_MODE: dict[str, ReplyMode] = {
    "instagram": ReplyMode.PRIVATE_REPLY,
    "facebook": ReplyMode.PRIVATE_REPLY,
}
# A private reply is one message: Instagram's limit is the lower of the two (1000 characters).
PRIVATE_REPLY_MAX_CHARS = 1000

# Words that make no request by themselves: praise, thanks, greetings, blessings, fillers.
# A comment needs two words outside this list (after letters repeated for emphasis are
# collapsed: "mantaaap") to be worth a conversation.
NOT_A_REQUEST = frozenset(
    """
    mantap mantab mantul keren bagus hebat top jos joss gas sip siip oke ok okey wow luar biasa
    sukses semangat lanjutkan setuju mendukung dukung salut bangga cinta love like nice good
    great amazing awesome cool thanks thank you terima kasih makasih trims tq thx matur nuwun
    semoga sehat selalu berkah amin aamiin amiin aaamiin barakallah alhamdulillah masyaallah
    mashaallah subhanallah jaya maju terus kabupaten kab pemkab rembang bupati wakil pak bu ibu
    bapak kak mas mbak min admin halo hallo hai hi hello hey p permisi selamat pagi siang sore
    malam assalamualaikum salam wr wb hadir nyimak first pertamax wkwk wkwkwk haha hehe hihi
    yang dan di ke ya yg nya sangat sekali banget bgt dong deh kok lah pun juga the a is so very
    for and
    """.split()
)
TRACKING_CODE = re.compile(r"\bLPR-?[0-9A-Z]{6}\b", re.IGNORECASE)


def is_public(row: InboundMessage) -> bool:
    return bool((row.extra or {}).get("public"))


def thread_ref(row: InboundMessage) -> str | None:
    return (row.extra or {}).get("thread_ref") or None


def _collapse(word: str) -> str:
    """Letters repeated for emphasis once: "mantaaaap" → "mantap", "kereeen" → "keren"."""
    return re.sub(r"(.)\1{2,}", r"\1", word)


def worth_answering(text: str) -> bool:
    """Whether a public comment may be a complaint (or a question about one) rather than
    praise, a greeting or emoji. Conservative the other way round: a short comment that names
    two things ("lampu mati", "jalan rusak") is worth a private message."""
    if TRACKING_CODE.search(text or ""):
        return True
    words = [_collapse(w) for w in re.findall(r"[^\W\d_]+", (text or "").lower())]
    meaningful = [w for w in words if len(w) > 1 and w not in NOT_A_REQUEST]
    return len(meaningful) >= 2


def _joined(texts: list[str]) -> str:
    """The turn's replies as one message, within the private reply's limit: when all do not
    fit, the last one (the question the person must answer) is what counts."""
    text = "\n\n".join(t_ for t_ in texts if t_.strip())
    if len(text) <= PRIVATE_REPLY_MAX_CHARS:
        return text
    last = texts[-1] if texts else ""
    return last[:PRIVATE_REPLY_MAX_CHARS]


def replies_to_comment(
    gateway: Configured, row: InboundMessage, replies: list[OutboxMessage], *, language: str
) -> list[OutboxMessage]:
    """What goes out for one public comment instead of the bot's `replies`: the neutral public
    acknowledgement under it (PUBLIC_COMMENT_REPLIES) and one private message with what the
    bot said. Keys are the comment's, so processing it again queues nothing new."""
    channel, author, ref = row.channel, row.sender, thread_ref(row)
    if not ref:
        return replies  # nothing to reply under: the bot's replies go as direct messages
    said = [r.payload for r in replies if isinstance(r.payload, ChannelPayload)]
    texts = [p.text for p in said]
    buttons: tuple[Button, ...] = ()
    for payload in said:
        if payload.buttons:
            buttons = payload.buttons
    text = _joined(texts) or t(language, "public.private_default")
    mode = PRIVATE_MODE.get(channel, ReplyMode.DIRECT)
    complaint_id = next((r.complaint_id for r in replies if r.complaint_id), None)
    out: list[OutboxMessage] = []
    if gateway.settings.public_comment_replies:
        out.append(public_ack(channel, ref, author, language))
    out.append(
        OutboxMessage(
            kind=REPLY,
            key=f"bot:{channel}:{author}:in{row.id}:private",
            channel=channel,
            recipient=author,
            complaint_id=complaint_id,
            payload=ChannelPayload(
                text,
                kind="question" if buttons else "reply",
                language=language,
                buttons=buttons,
                template_variables={"text": text},
                reply_mode=mode,
                reply_to=ref if mode is not ReplyMode.DIRECT else None,
            ),
        )
    )
    return out


def public_ack(channel: str, ref: str, author: str, language: str) -> OutboxMessage:
    """The neutral public reply under a comment: the same words for everyone, whatever the
    comment said, so it can never disclose anything."""
    return OutboxMessage(
        kind=REPLY,
        key=f"public:{channel}:{ref}:ack",
        channel=channel,
        recipient=author,  # the line of the dispatcher: after nothing, before the private reply
        payload=ChannelPayload(
            t(language, "public.ack"),
            kind="public",
            language=language,
            reply_mode=ReplyMode.PUBLIC,
            reply_to=ref,
        ),
    )


def comments_of(session: Session, complaint_ids: Iterable[int]) -> list[InboundMessage]:
    """The public comments that became part of these complaints, oldest first."""
    ids = list(complaint_ids)
    if not ids:
        return []
    rows = session.scalars(
        select(InboundMessage)
        .where(col(InboundMessage.complaint_id).in_(ids))
        .order_by(col(InboundMessage.id))
    ).all()
    return [row for row in rows if is_public(row) and thread_ref(row)]


def answered_notes(
    gateway: Configured, session: Session, members: Iterable[Complaint]
) -> list[OutboxMessage]:
    """A short public note under the comment a complaint started from, once it is answered:
    "sudah ditindaklanjuti, kode LPR-…" and its public status page. Never for a `rahasia`
    complaint (its reporter asked that nothing be published), never with the answer itself."""
    if not gateway.settings.public_comment_replies:
        return []
    by_id = {m.id: m for m in members if m.id is not None and not m.rahasia}
    notes: dict[tuple[str, str], OutboxMessage] = {}
    for row in comments_of(session, by_id):
        complaint = by_id[row.complaint_id]  # type: ignore[index]
        ref = thread_ref(row)
        assert ref is not None
        if (row.channel, ref) in notes:
            continue
        code = complaint.tracking_code
        link = f"{gateway.settings.public_base_url}/status/{code}"
        notes[(row.channel, ref)] = OutboxMessage(
            kind=REPLY,
            key=f"{code}:public-answered:{row.channel}:{ref}",
            channel=row.channel,
            recipient=row.sender,
            complaint_id=complaint.id,
            payload=ChannelPayload(
                t(complaint.language, "public.answered", code=code, link=link),
                kind="public",
                language=complaint.language,
                reply_mode=ReplyMode.PUBLIC,
                reply_to=ref,
            ),
        )
    return list(notes.values())


def _post_link_of(row: InboundMessage) -> Any:
    from channels.base import InboundMessage as Message

    return Message(
        channel=row.channel,
        external_id=row.external_id,
        sender=row.sender,
        received_at=row.received_at,
        extra=dict(row.extra or {}),
        public=True,
        thread_ref=thread_ref(row),
        permalink=(row.extra or {}).get("permalink"),
    )


async def resolve_permalinks(gateway: Receiving, inbound_ids: Iterable[int]) -> int:
    """Ask the channel where the post of each public comment is (Instagram's comment webhook
    does not say; Facebook's does) and keep the link with the comment. Done after the webhook
    was acknowledged; a link that cannot be had now is simply missing. Returns how many were
    found."""
    import asyncio

    def load() -> list[InboundMessage]:
        with gateway.db.read_session() as session:
            rows = session.scalars(
                select(InboundMessage).where(col(InboundMessage.id).in_(list(inbound_ids)))
            ).all()
        return [r for r in rows if is_public(r) and not (r.extra or {}).get("permalink")]

    def store(inbound_id: int, link: str) -> None:
        with gateway.db.session() as session:
            row = session.get(InboundMessage, inbound_id)
            if row is not None:
                row.extra = {**(row.extra or {}), "permalink": link[:2000]}
                session.add(row)
                session.commit()

    found = 0
    for row in await asyncio.to_thread(load):
        post_link = getattr(gateway.channels.get(row.channel), "post_link", None)
        if post_link is None:
            continue
        link = await post_link(_post_link_of(row))
        if link:
            await asyncio.to_thread(store, row.id, link)  # type: ignore[arg-type]
            found += 1
    return found
