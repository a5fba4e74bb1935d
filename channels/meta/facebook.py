"""Facebook Page: Messenger conversations and comments under the regency's own posts.

Provider: Messenger Platform and Pages API. Credentials: META_APP_SECRET, META_VERIFY_TOKEN,
FACEBOOK_PAGE_ID, FACEBOOK_PAGE_ACCESS_TOKEN (pages_messaging, pages_manage_engagement,
pages_read_engagement, pages_manage_metadata). Webhook: the Meta app's Page subscription calls
`<public base>/webhooks/facebook` (object `page`, fields `messages`, `message_deliveries`,
`messaging_postbacks` and `feed`).

Direct messages: see `channels.meta.messenger` (Messenger's text limit is 2000 characters;
tags outside the window per kind in FACEBOOK_MESSAGE_TAGS, e.g. ACCOUNT_UPDATE).

Comments (`entry[].changes[]` with field `feed`, `item=comment`, `verb=add`): a comment by anyone
but our Page is an InboundMessage with `public=True`, external id and `thread_ref` the comment
id, sender the commenter's id, `sender_name` their name, `permalink` the post's link
(`post.permalink_url`), `extra["post_id"]`; a photo or video in the comment is `Media`. When
Meta leaves out `from` (it does for some people), the sender is `comment:<comment id>` and
`extra["author_unknown"]` is set: the private reply still reaches them.
Recognised and ignored: our Page's own comments, edits and removals, reactions, likes, shares,
and posts (a visitor's post on the Page is not a comment under ours; logged).

Sending: see `channels.meta.messenger`; a PUBLIC reply is `POST /{comment-id}/comments`.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from channels.base import InboundMessage, Media, PayloadError
from channels.meta.graph import GraphClient
from channels.meta.messenger import MessengerChannel
from channels.meta.payloads import Entry, FeedChange, first_error
from channels.meta.webhook import from_epoch

logger = logging.getLogger(__name__)


class FacebookChannel(MessengerChannel):
    name = "facebook"
    object_name = "page"
    text_limit = 2000

    def _graph_client(self) -> GraphClient:
        settings = self.settings
        return GraphClient(
            settings.meta_graph_base_url,
            settings.meta_graph_api_version,
            settings.facebook_page_access_token,
            timeout=settings.meta_timeout_seconds,
            name="Facebook",
        )

    @property
    def account_id(self) -> str:
        return self.settings.facebook_page_id

    def message_tags(self) -> dict[str, str]:
        return self.settings.facebook_message_tags

    def public_reply_path(self, comment_id: str) -> str:
        return f"{comment_id}/comments"

    def comment_messages(self, entry: Entry) -> list[InboundMessage]:
        messages = []
        for change in entry.changes:
            if change.field != "feed":
                logger.info("facebook change %r ignored", change.field)
                continue
            try:
                feed = FeedChange.model_validate(change.value)
            except ValidationError as exc:
                raise PayloadError(f"facebook feed change: {first_error(exc)}") from None
            if feed.item != "comment" or feed.verb != "add":
                logger.info("facebook feed %s/%s ignored", feed.item, feed.verb)
                continue
            if not feed.comment_id:
                raise PayloadError("facebook feed comment without comment_id")
            author = feed.author
            if author is not None and author.id in (entry.id, self.account_id):
                continue  # our Page's own reply
            media = tuple(
                Media(url=url, content_type=kind)
                for url, kind in ((feed.photo, "image/jpeg"), (feed.video, "video/mp4"))
                if url
            )
            if not (feed.message.strip() or media):
                continue
            received_at, time_extra = from_epoch(feed.created_time or entry.time, self.now())
            extra = {"field": "feed", **time_extra}
            if author is None:
                # Meta leaves `from` out for some people; the private reply still reaches them
                # through the comment id, and its answer names their PSID.
                extra["author_unknown"] = "true"
            if feed.post_id:
                extra["post_id"] = feed.post_id
            parent = feed.parent_id if feed.parent_id != feed.post_id else None
            if parent:
                extra["parent_id"] = parent
            messages.append(
                InboundMessage(
                    channel=self.name,
                    external_id=feed.comment_id,
                    sender=author.id if author else f"comment:{feed.comment_id}",
                    received_at=received_at,
                    text=feed.message,
                    sender_name=author.name if author else None,
                    media=media,
                    reply_to=parent,
                    extra=extra,
                    public=True,
                    thread_ref=feed.comment_id,
                    permalink=feed.post.permalink_url if feed.post else None,
                )
            )
        return messages
