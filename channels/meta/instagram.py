"""Instagram: direct messages and comments under the regency's own posts.

Provider: Instagram Platform (Instagram API with Facebook Login: graph.facebook.com and the
linked Page's access token; or with Instagram Login: INSTAGRAM_GRAPH_BASE_URL=
https://graph.instagram.com and an Instagram user token). Credentials: META_APP_SECRET,
META_VERIFY_TOKEN, INSTAGRAM_ACCOUNT_ID, INSTAGRAM_ACCESS_TOKEN. Webhook: the Meta app's
Instagram product calls `<public base>/webhooks/instagram` (object `instagram`, fields
`messages`, `messaging_seen` and `comments`).

Direct messages: see `channels.meta.messenger` (Instagram's text limit is 1000 characters;
its only message tag is HUMAN_AGENT, up to 7 days: INSTAGRAM_MESSAGE_TAGS).

Comments (`entry[].changes[]` with field `comments`, or `live_comments`): a comment by anyone but
our own account is an InboundMessage with `public=True`, external id and `thread_ref` the
comment id, sender the commenter's IGSID (the id their direct messages carry), `sender_name`
and `extra["username"]` their @username, `extra["media_id"]` the post. The webhook has no link
to the post: `permalink` is None here and `post_link()` asks the Graph API for it (the gateway
calls it while processing, never in the webhook). Our own comments and replies are ignored; so
are `mentions` and anything else under `changes`.

Sending: see `channels.meta.messenger`; a PUBLIC reply is `POST /{comment-id}/replies`.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from channels.base import InboundMessage, PayloadError
from channels.meta.graph import GraphClient, GraphError
from channels.meta.messenger import MessengerChannel
from channels.meta.payloads import Entry, IgComment, IgMediaInfo, first_error
from channels.meta.webhook import from_epoch

COMMENT_FIELDS = frozenset({"comments", "live_comments"})

logger = logging.getLogger(__name__)


class InstagramChannel(MessengerChannel):
    name = "instagram"
    object_name = "instagram"
    text_limit = 1000

    def _graph_client(self) -> GraphClient:
        settings = self.settings
        return GraphClient(
            settings.instagram_graph_base_url or settings.meta_graph_base_url,
            settings.meta_graph_api_version,
            settings.instagram_access_token,
            timeout=settings.meta_timeout_seconds,
            name="Instagram",
        )

    @property
    def account_id(self) -> str:
        return self.settings.instagram_account_id

    def message_tags(self) -> dict[str, str]:
        return self.settings.instagram_message_tags

    def public_reply_path(self, comment_id: str) -> str:
        return f"{comment_id}/replies"

    def comment_messages(self, entry: Entry) -> list[InboundMessage]:
        messages = []
        for change in entry.changes:
            if change.field not in COMMENT_FIELDS:
                logger.info("instagram change %r ignored", change.field)
                continue
            try:
                comment = IgComment.model_validate(change.value)
            except ValidationError as exc:
                raise PayloadError(f"instagram comment: {first_error(exc)}") from None
            if comment.author.id in (entry.id, self.account_id):
                continue  # our own reply under a post
            if not comment.text.strip():
                continue
            received_at, time_extra = from_epoch(entry.time, self.now())
            extra = {"field": change.field, **time_extra}
            if comment.author.username:
                extra["username"] = comment.author.username
            if comment.media is not None:
                extra["media_id"] = comment.media.id
                if comment.media.media_product_type:
                    extra["media_product_type"] = comment.media.media_product_type
            if comment.parent_id:
                extra["parent_id"] = comment.parent_id
            messages.append(
                InboundMessage(
                    channel=self.name,
                    external_id=comment.id,
                    sender=comment.author.id,
                    received_at=received_at,
                    text=comment.text,
                    sender_name=comment.author.username,
                    reply_to=comment.parent_id,
                    extra=extra,
                    public=True,
                    thread_ref=comment.id,
                )
            )
        return messages

    async def post_link(self, message: InboundMessage) -> str | None:
        """The link to the post a comment is under (`GET /{media-id}?fields=permalink`).

        None when it cannot be had now (no media id, Graph unreachable): the comment is kept
        without it and the gateway may ask again later.
        """
        if message.permalink:
            return message.permalink
        media_id = message.extra.get("media_id")
        if not media_id or not self.configured:
            return None
        try:
            answer = await self.graph.get(media_id, {"fields": "permalink"})
            return IgMediaInfo.model_validate(answer).permalink
        except (GraphError, ValidationError) as exc:
            logger.warning("instagram permalink of %s not found: %s", media_id, exc)
            return None
