"""Messages that are no report at all: thanks alone, chit-chat or a joke (the normalizer's
"bukan laporan" kinds `obrolan` and `candaan`). The bot sets them aside instead of starting a
draft, and a comment on a channel without private messages (gateway/bot/public_only.py) is not
filed. Spam and promotions are not chatter: they become complaints that the inbox offers for
archiving, so the admin decides, not the bot."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlmodel import Session

from gateway.store.models import InboundMessage

if TYPE_CHECKING:
    from gateway.parts import Enriching

# Thanks alone ("makasih min", "terima kasih banyak ya") is courtesy, not a report.
THANKS = re.compile(
    r"^(?:(?:terima\s*kasih|terimakasih|makasih|makasi|mksh|trims|tq|thanks?|thank\s+you|"
    r"matur\s+nuwun|suwun|nuwun)\b[\s!.,]*(?:banyak|ya|yah|min|admin|kak|pak|bu|mas|mbak|"
    r"semua|sekali|sudah|udah|dibantu|infonya)?[\s!.,]*)+$",
    re.IGNORECASE,
)
CHAT_KINDS = frozenset({"obrolan", "candaan"})


def is_chatter(gateway: Enriching, session: Session, row: InboundMessage, text: str) -> bool:
    """Only thanks, chit-chat or a joke, with no photo or location to act on."""
    if row.media or row.latitude is not None or row.location_label:
        return False
    if THANKS.match(text.strip()):
        return True
    suggestion = gateway.enricher.normalize_text(session, text).not_report
    return suggestion is not None and suggestion.kind in CHAT_KINDS
