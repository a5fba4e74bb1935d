"""Enrichment: what the normalizer adds to a complaint (clean text, title, personal data,
place, class and agency suggestions, duplicate signature).

Until the normalizer is wired in, this only derives a title and a whitespace-clean text, and
says so: nothing here pretends to suggest a class or an agency.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gateway.models import Complaint

if TYPE_CHECKING:
    from gateway.context import Gateway

TITLE_CHARS = 80


def enrich(gateway: Gateway, complaint: Complaint) -> None:
    clean = re.sub(r"\s+", " ", complaint.original_text).strip()
    complaint.clean_text = clean
    complaint.masked_text = clean
    title = clean[:TITLE_CHARS]
    if len(clean) > TITLE_CHARS:
        title = title.rsplit(" ", 1)[0] + "…"
    complaint.title = title
