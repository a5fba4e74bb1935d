"""A complaint's title, and a short summary of any text, made from what the complaint says.

`make_title()` takes the first sentence that says something — greetings and filler ("Selamat
pagi min", "saya mau lapor", "Hello, I want to report a problem", "mohon ditindaklanjuti") are
dropped from the start and end of every sentence, and a sentence made only of them is skipped —
and joins a very short one with the next. A title longer than `TITLE_MAX_CHARS` is cut at a
phrase boundary (a comma, or before "dan", "karena", "sejak"...) and never inside a word or
phrase: no dangling "di", "sudah 3" or "RT" at its end; it then ends with "…". `shorten()` cuts
any text the same way (the bot's summary when a complaint has no title).

The word lists are data (`config/normalizer/title.yaml`, with the greetings of lexicon.yaml).
Pure: text in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from normalizer.resources import data_file, read_yaml, require, strings
from normalizer.text import (
    TITLE_MAX_CHARS,
    CleanText,
    Lexicon,
    _is_shouting,
    clean_text,
    default_lexicon,
    fold,
)

ELLIPSIS = "…"
# A sentence ends at . ! ? followed by a capital (not after a number: "sudah 3. Bulan" is one
# sentence, "No. 12" too), or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\d\.)\s+(?=[^\W\d_a-z])|\n")
_CLAUSE_END = re.compile(r"(?<=[.!?])\s+")
_MASK_PLACEHOLDER = re.compile(r"\[[A-Z]+\]")
_RT_RW_WORD = re.compile(r"\b(?:rt|rw)\b")
_EDGE = " ,;:-–—/"
_TRAILING = re.compile(r"[\s,;:\-–—/(]+$")
_PUNCTUATION_BREAK = re.compile(r"\s*(?:[,;:]|\s[-–—]|\()\s")
_NUMBERISH = re.compile(r"^[\d.,/:-]+$")
_WORD = re.compile(r"\s([^\W\d_]+)\b")
_CLOSING_REACH = 70  # characters from the end of a sentence its closing filler may take


@dataclass(frozen=True)
class TitleRules:
    """The title's word lists (see title.yaml)."""

    openings: tuple[str, ...]
    closings: tuple[str, ...]
    filler_words: frozenset[str]
    breaks: frozenset[str]
    dangling: frozenset[str]
    min_cut: int

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "title") -> TitleRules:
        data = dict(data)

        def words(key: str) -> frozenset[str]:
            return frozenset(
                w.lower() for w in strings(require(data, key, list, source), key, source)
            )

        min_cut = require(data, "min_cut", int, source)
        for key in ("openings", "closings"):
            for pattern in strings(require(data, key, list, source), key, source):
                re.compile(pattern)  # a broken pattern fails at load time, naming nothing else
        return cls(
            openings=tuple(strings(data["openings"], "openings", source)),
            closings=tuple(strings(data["closings"], "closings", source)),
            filler_words=words("filler_words"),
            breaks=words("breaks"),
            dangling=words("dangling"),
            min_cut=min_cut,
        )


def load_title_rules(path: Path | str | None = None) -> TitleRules:
    path = Path(path) if path else data_file("title.yaml")
    return TitleRules.from_mapping(read_yaml(path), str(path))


@lru_cache(maxsize=1)
def default_title_rules() -> TitleRules:
    return load_title_rules()


@lru_cache(maxsize=8)
def _edges(greetings: tuple[str, ...], openings: tuple[str, ...], closings: tuple[str, ...]):
    """The compiled "opens a sentence" and "closes a sentence" patterns."""
    starts = "|".join(f"(?:{p})" for p in (*greetings, *openings)) or r"(?!x)x"
    ends = "|".join(f"(?:{p})" for p in closings) or r"(?!x)x"
    opening = re.compile(rf"^(?:(?:{starts})(?![^\W_])[\s,.!:;/-]*)+", re.IGNORECASE)
    closing = re.compile(rf"(?:[\s,.!:;/-]*(?<![^\W_])(?:{ends}))+[\s.!?]*$", re.IGNORECASE)
    return opening, closing


def make_title(
    text: str | CleanText,
    lexicon: Lexicon | None = None,
    rules: TitleRules | None = None,
    limit: int = TITLE_MAX_CHARS,
) -> str:
    """The title of a complaint (at most `limit` characters); "" when the text says nothing
    but greetings and filler (the inbox shows its own placeholder)."""
    lexicon = lexicon or default_lexicon()
    rules = rules or default_title_rules()
    clean = text if isinstance(text, CleanText) else clean_text(text, lexicon)
    opening, closing = _edges(lexicon.greetings, rules.openings, rules.closings)
    title = ""
    identity: list[str] = []  # sentences that are only the reporter's masked identity
    for sentence in _SENTENCE_END.split(clean.text):
        content = _content(sentence, opening, closing, rules)
        if not content:
            continue
        if _MASK_PLACEHOLDER.search(content):
            identity.append(content)  # a poor title: only when nothing else is said
            continue
        # A very short first sentence ("Jalan rusak.") reads better with the next one.
        title = f"{title} {content}" if title else content
        if len(title) >= 25:
            break
    if not title:
        title = " ".join(identity)
    if not title:
        return ""
    if _is_shouting(title):
        title = _RT_RW_WORD.sub(lambda m: m.group().upper(), title.lower())
    title = shorten(title, limit, rules)
    return title[:1].upper() + title[1:]


def shorten(text: str, limit: int = TITLE_MAX_CHARS, rules: TitleRules | None = None) -> str:
    """`text` on one line, at most `limit` characters: whole when it fits, else cut at the last
    phrase boundary (or word) that leaves it readable, with "…"."""
    rules = rules or default_title_rules()
    text = " ".join(text.split()).strip(_EDGE)
    if len(text) <= limit:
        return text
    budget = limit - len(ELLIPSIS)
    cut = _phrase_cut(text, budget, rules) or _word_cut(text, budget, rules)
    return cut + ELLIPSIS


_MENTIONS = re.compile(r"^(?:RT\s+)?@\w[\w.]*:?(?:[\s,]+@\w[\w.]*:?)*[\s,:]*", re.IGNORECASE)


def _content(
    sentence: str, opening: re.Pattern[str], closing: re.Pattern[str], rules: TitleRules
) -> str:
    """The sentence without greetings and filler at either end; "" when nothing is left that
    says anything."""
    previous = None
    sentence = sentence.strip()
    while sentence != previous:
        previous = sentence
        # Tweets open with whom they address ("@BupatiRembang @dpupr ...", "RT @warga:"): an
        # account name says nothing about the problem and never starts a title.
        sentence = _MENTIONS.sub("", sentence, count=1)
        sentence = opening.sub("", sentence, count=1).lstrip(_EDGE + ".!?").rstrip(_EDGE)
        sentence = _without_closing(sentence, closing)
        # SMS rarely capitalises after a full stop, so "...report a problem. lampu mati" is one
        # sentence to the splitter: a leading clause of filler goes too.
        clause = _CLAUSE_END.search(sentence)
        if clause and not _says_something(sentence[: clause.start()], rules):
            sentence = sentence[clause.end() :]
    return sentence if _says_something(sentence, rules) else ""


def _without_closing(sentence: str, closing: re.Pattern[str]) -> str:
    """The sentence without its closing filler; only its tail is searched (closings are short,
    and a pattern anchored at the end would otherwise be tried at every position)."""
    start = sentence.find(" ", max(0, len(sentence) - _CLOSING_REACH))
    start = 0 if start < 0 or len(sentence) <= _CLOSING_REACH else start
    tail = closing.sub("", sentence[start:], count=1)
    return (sentence[:start] + tail).rstrip(_EDGE)


def _says_something(text: str, rules: TitleRules) -> bool:
    return any(w not in rules.filler_words and not w.isdigit() for w in fold(text).split())


def _phrase_cut(text: str, budget: int, rules: TitleRules) -> str | None:
    """The text up to its last phrase boundary within `budget`, when that keeps enough."""
    best = None
    for match in _PUNCTUATION_BREAK.finditer(text):
        if rules.min_cut <= match.start() <= budget:
            best = match.start()
    for match in _WORD.finditer(text, rules.min_cut, budget + 1):
        if match.group(1).lower() in rules.breaks:
            best = max(best or 0, match.start())
    if best is None:
        return None
    return _without_dangling(text[:best], rules) or None


def _word_cut(text: str, budget: int, rules: TitleRules) -> str:
    """The text cut after its last whole word within `budget` (a single overlong word is cut
    where it must be: nothing else fits)."""
    head = text[: budget + 1]
    space = head.rfind(" ")
    head = head[:space] if space > 0 else text[:budget]
    return _without_dangling(head, rules) or head.rstrip(_EDGE)


def _without_dangling(text: str, rules: TitleRules) -> str:
    """Drop the words a phrase cannot end with ("di", "sudah", "3", "RT") from the end."""
    words = _TRAILING.sub("", text).split(" ")
    while words:
        last = words[-1].strip(_EDGE + ".")
        folded = fold(last)
        if (
            last
            and folded not in rules.dangling
            and not _NUMBERISH.match(last)
            and not ("/" in last and folded.split()[-1:] and folded.split()[-1] in rules.dangling)
        ):
            break
        words.pop()
    return _TRAILING.sub("", " ".join(words)).rstrip(_EDGE)
