"""Public posts: what the gateway says, and never says, under a comment anyone can read.

A comment under the regency's own post (Instagram, Facebook), a mention of its X account or a
comment on its YouTube channel is a citizen's message like any other, but it is public. The
policy, in one place for every channel:

- A comment with nothing to act on (praise, a greeting, emoji, "hadir") is recorded and left
  alone (`worth_answering`): no public reply, no conversation.
- Otherwise the bot's conversation runs as for a direct message, but its replies do not go to
  the comment. Under the comment goes only a short, neutral acknowledgement (`public.ack`:
  no name, no number, nothing of the complaint) and the conversation continues privately:
  on Meta by its private reply to the comment, which is one message only, so the bot's replies
  of that turn are joined into it (`replies_to_comment`). Channels without a private reply to a
  post (X) send them as a direct message, and the public reply asks for one (`public.ack_dm`).
  A message the bot sets aside as no report ("bukan laporan": thanks, chit-chat) gets no
  public reply, only the bot's word in private on how to report.
- A channel with no private messages at all (YouTube: `PUBLIC_ONLY`) cannot hold the
  conversation: the comment is filed at once (gateway/bot/public_only.py) and the public reply
  under it gives the tracking code, the status page and the private channels (`filed_note`).
- Meta answers the private reply with the person's messaging id, which may differ from the
  comment's author id on Facebook: `reporters.link_private_thread` (called by the outbox once
  it is sent) joins that id to the commenter's reporter and conversation, so the direct
  messages that follow continue the same draft.
- When the complaint is answered, the answer goes to the private thread as for every reporter,
  and under the comment a short public note with the tracking code (`answered_notes`) unless
  the complaint is `rahasia`: then nothing more in public, except on a `PUBLIC_ONLY` channel,
  where the citizen has no private thread to read it in, a neutral note with no code.
- On X a public reply starts with the author's @handle (`ADDRESSED`): the handle is on the
  post replied to anyway, and X refuses a second post with the same text, which the same
  neutral words for everyone would otherwise be.

The flags of a public row are kept in `InboundMessage.extra` (`public`, `thread_ref`,
`permalink`) by intake (gateway/intake/inbound.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session, col

from channels.base import Button, ReplyMode
from config.messages import t
from gateway.outbox.delivery import REPLY
from gateway.outbox.payloads import ChannelPayload
from gateway.outbox.queue import OutboxMessage
from gateway.store.models import Complaint, InboundMessage, InboundStatus

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
# Channels with no private messages at all: a comment is filed at once, answered in public.
PUBLIC_ONLY = frozenset({"youtube"})
# Channels whose public replies start with the author's @handle (kept as `username` in extra).
ADDRESSED = frozenset({"x"})
# The neutral public acknowledgement, where it differs: on X it asks the person to DM us.
ACK_KEYS: dict[str, str] = {"x": "public.ack_dm"}
# Channels where a person gets at most one public acknowledgement a day: X refuses a post with
# the text of an earlier one (the @handle and the same neutral words), and a bot repeating
# itself under every post of one account reads as spam. The DMs carry the rest.
ONE_ACK_A_DAY = frozenset({"x"})
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


def first_link(rows: Iterable[InboundMessage]) -> str | None:
    """Where the first public post among `rows` can be seen (a complaint's `source_url`)."""
    for row in rows:
        link = (row.extra or {}).get("permalink")
        if is_public(row) and link:
            return str(link)
    return None


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


def _acknowledged_today(session: Session, row: InboundMessage) -> bool:
    """Did an earlier public post of this conversation, within a day, get the public ack?"""
    if row.conversation_id is None:
        return False
    earlier = session.scalars(
        select(InboundMessage)
        .where(col(InboundMessage.conversation_id) == row.conversation_id)
        .where(col(InboundMessage.id) != row.id)
        .where(col(InboundMessage.received_at) >= row.received_at - timedelta(days=1))
        .where(col(InboundMessage.status) != InboundStatus.IGNORED.value)
    ).all()
    return any(is_public(r) and thread_ref(r) for r in earlier)


def replies_to_comment(
    gateway: Configured,
    session: Session,
    row: InboundMessage,
    replies: list[OutboxMessage],
    *,
    language: str,
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
    # Set aside as no report ("bukan laporan"): the bot's word on how to report goes privately,
    # and nothing is said in public.
    set_aside = row.status == InboundStatus.IGNORED.value
    once = channel in ONE_ACK_A_DAY and _acknowledged_today(session, row)
    if gateway.settings.public_comment_replies and not set_aside and not once:
        out.append(public_ack(row, ref, language))
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


def addressed(row: InboundMessage, text: str) -> str:
    """A public reply's text as the channel writes it: on X after the author's @handle; on
    YouTube after the @handle of a comment that answered another (its reply goes under the
    thread's first comment, so it says whom it is for)."""
    extra = row.extra or {}
    username = extra.get("username")
    if row.channel in ADDRESSED and username:
        return f"@{username} {text}"
    handle = (row.sender_name or "").strip()
    answered_another = row.channel in PUBLIC_ONLY and extra.get("kind") == "comment_reply"
    if answered_another and handle.startswith("@") and " " not in handle:
        return f"{handle} {text}"
    return text


def _public(
    row: InboundMessage, key: str, ref: str, text: str, language: str, complaint_id: int | None
) -> OutboxMessage:
    return OutboxMessage(
        kind=REPLY,
        key=key,
        channel=row.channel,
        # The line of the dispatcher: in the author's order, before the private reply.
        recipient=row.sender,
        complaint_id=complaint_id,
        payload=ChannelPayload(
            addressed(row, text),
            kind="public",
            language=language,
            reply_mode=ReplyMode.PUBLIC,
            reply_to=ref,
        ),
    )


def public_ack(row: InboundMessage, ref: str, language: str) -> OutboxMessage:
    """The neutral public reply under a comment: the same words for everyone, whatever the
    comment said, so it can never disclose anything."""
    text = t(language, ACK_KEYS.get(row.channel, "public.ack"))
    return _public(row, f"public:{row.channel}:{ref}:ack", ref, text, language, None)


def status_link(gateway: Configured, code: str) -> str:
    return f"{gateway.settings.public_base_url}/status/{code}"


def filed_note(gateway: Configured, row: InboundMessage, complaint: Complaint) -> OutboxMessage:
    """Under a comment filed at once (a `PUBLIC_ONLY` channel): the tracking code, its public
    status page and where to go on privately. Nothing of the complaint, no name."""
    ref = thread_ref(row) or row.external_id
    code = complaint.tracking_code
    text = t(
        complaint.language,
        "public.filed",
        code=code,
        link=status_link(gateway, code),
        form=f"{gateway.settings.public_base_url}/lapor",
    )
    key = f"public:{row.channel}:{row.external_id}:filed"
    return _public(row, key, ref, text, complaint.language, complaint.id)


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
    "sudah ditindaklanjuti, kode LPR-…" and its public status page, never the answer itself.
    For a `rahasia` complaint nothing, where the answer reached a private thread; on a
    `PUBLIC_ONLY` channel (no private thread) only that it was followed up, with no code and
    no link, and where to ask privately."""
    if not gateway.settings.public_comment_replies:
        return []
    by_id = {m.id: m for m in members if m.id is not None}
    notes: dict[tuple[str, str], OutboxMessage] = {}
    for row in comments_of(session, by_id):
        complaint = by_id[row.complaint_id]  # type: ignore[index]
        ref = thread_ref(row)
        assert ref is not None
        if (row.channel, ref) in notes:
            continue
        code, language = complaint.tracking_code, complaint.language
        if not complaint.rahasia:
            text = t(language, "public.answered", code=code, link=status_link(gateway, code))
        elif row.channel in PUBLIC_ONLY:
            form = f"{gateway.settings.public_base_url}/lapor"
            text = t(language, "public.answered_quiet", form=form)
        else:
            continue
        key = f"{code}:public-answered:{row.channel}:{ref}"
        notes[(row.channel, ref)] = _public(row, key, ref, text, language, complaint.id)
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
