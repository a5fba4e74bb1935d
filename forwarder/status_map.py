"""The one table that turns an SP4N-LAPOR core status word into our complaint state.

Cores speak in their own words: SP4N-LAPOR!'s public pages show Indonesian labels ("Belum
Terverifikasi", "Proses", "Selesai" ...), our simulator's API sends machine words
("unverified", "in_process" ...). Both go through `to_internal`; a word it does not know
gives `None`, and the caller logs it and leaves the complaint as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

# Our complaint states (docs: /work/shared/DESIGN.md, "States").
INTERNAL_STATES: frozenset[str] = frozenset(
    {
        "received",
        "verified",
        "disposed",
        "in_progress",
        "answered",
        "closed",
        "pending",
        "archived",
        "returned",
        "merged",
    }
)

# Keys are normalised (see `normalize_status`): lower case, single spaces, no punctuation.
_TABLE: dict[str, str] = {
    # received: the core has the report, nobody has looked at it yet
    "belum terverifikasi": "received",
    "belum diverifikasi": "received",
    "baru": "received",
    "unverified": "received",
    # verified: accepted by the admin, not yet at an agency ("Belum Ditindaklanjuti" is how
    # LAPOR! shows a verified report that no agency has acted on)
    "terverifikasi": "verified",
    "diverifikasi": "verified",
    "belum ditindaklanjuti": "verified",
    "verified": "verified",
    # disposed: sent to the competent agency (OPD)
    "didisposisikan": "disposed",
    "disposisi": "disposed",
    "diteruskan": "disposed",
    "disposed": "disposed",
    # in_progress: the agency is working on it
    "proses": "in_progress",
    "diproses": "in_progress",
    "dalam proses": "in_progress",
    "sedang diproses": "in_progress",
    "in process": "in_progress",
    "in progress": "in_progress",
    # answered: the agency replied (LAPOR! shows "Selesai" once the answer is published)
    "selesai": "answered",
    "ditindaklanjuti": "answered",
    "sudah ditindaklanjuti": "answered",
    "dijawab": "answered",
    "answered": "answered",
    # closed: no further follow-up (reporter satisfied or 10 working days of silence)
    "ditutup": "closed",
    "tutup": "closed",
    "closed": "closed",
    # side states
    "ditunda": "pending",
    "menunggu kelengkapan": "pending",
    "menunggu tanggapan pelapor": "pending",  # the simulator: a question to the reporter
    "pending": "pending",
    "diarsipkan": "archived",
    "arsip": "archived",
    "archived": "archived",
    "dikembalikan": "returned",
    "ditolak": "returned",
    "returned": "returned",
    "digabungkan": "merged",
    "merged": "merged",
}

CORE_STATUS_TO_INTERNAL: Mapping[str, str] = MappingProxyType(_TABLE)

_SEPARATORS = re.compile(r"[\s_\-./]+")


def normalize_status(core_status: str) -> str:
    """Fold case, underscores, hyphens and spacing so "IN_PROCESS" and "In process" agree."""
    return _SEPARATORS.sub(" ", core_status.strip().casefold()).strip()


def to_internal(core_status: str | None) -> str | None:
    """Our state for a core status word, or None when the word is unknown (caller logs it)."""
    if not core_status:
        return None
    return CORE_STATUS_TO_INTERNAL.get(normalize_status(core_status))
