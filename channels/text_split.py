"""Cutting a long reply into parts a provider accepts, at sentence or word boundaries.

One greedy splitter serves SMS (a part must fit N segments) and Telegram (a part must fit 4096
characters): the caller says what fits. Cuts prefer the end of a sentence or line in the second
half of a part, then a space; a word longer than a whole part is cut by characters, but never
inside a tracking code such as ``LPR-7K3M9Q``. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# A tracking code as the gateway writes them (LPR-7K3M9Q); a cut inside one would make it useless.
TRACKING_CODE = re.compile(r"[A-Z]{2,5}-[0-9A-Z]{4,12}")
# Where a sentence (or a line) ends: the cut goes after the whitespace that follows.
_SENTENCE_END = re.compile(r"(?:[.!?…:;][\"')\]]*[ \t]+|\n\s*)")

Fits = Callable[[str], bool]


def split_text(text: str, fits: Fits) -> list[str]:
    """Parts of `text` for which `fits(part)` holds, cut at the best boundary available.

    Whitespace at the cuts is dropped, so joining the parts with a space gives the text back,
    up to whitespace. An empty text gives no parts.
    """
    text = text.strip()
    if not text:
        return []
    if fits(text):
        return [text]

    parts: list[str] = []
    current = ""
    for token in re.findall(r"\S+\s*", text):
        if fits((current + token).rstrip()):
            current += token
            continue
        if current:
            head, current = _cut_at_sentence(current)
            parts.append(head)
            if fits((current + token).rstrip()):
                current += token
                continue
            if current.strip():
                parts.append(current.rstrip())
            current = ""
        if fits(token.rstrip()):
            current = token
        else:
            pieces = _hard_split(token.rstrip(), fits)
            parts.extend(pieces[:-1])
            current = pieces[-1] + token[len(token.rstrip()) :]
    if current.strip():
        parts.append(current.rstrip())
    return parts


def _cut_at_sentence(part: str) -> tuple[str, str]:
    """Split a full part at its last sentence end, if that keeps at least half of it."""
    ends = [match.end() for match in _SENTENCE_END.finditer(part.rstrip())]
    if ends and ends[-1] >= len(part) // 2:
        return part[: ends[-1]].rstrip(), part[ends[-1] :]
    return part.rstrip(), ""


def _hard_split(word: str, fits: Fits) -> list[str]:
    """Cut a word that fits in no part by characters, moving cuts out of tracking codes."""
    codes = [(m.start(), m.end()) for m in TRACKING_CODE.finditer(word)]
    pieces: list[str] = []
    start = 0
    while start < len(word):
        end = start + 1
        while end < len(word) and fits(word[start : end + 1]):
            end += 1
        for code_start, code_end in codes:
            if start < code_start < end < code_end:
                end = code_start
        pieces.append(word[start:end])
        start = end
    return pieces
