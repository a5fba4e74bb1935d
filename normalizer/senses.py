"""Words that do not mean what a keyword list thinks: "jalan" as the verb "to go", idioms and
jokes ("banjir air mata" is no flood).

Routing, the class suggestion and the not-a-report suggestion all read a complaint's *literal*
tokens: figurative phrases blanked out, words in another sense renamed. The rules are data
(`config/normalizer/senses.yaml`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from normalizer.resources import DataFileError, data_file, read_yaml, strings
from normalizer.text import fold

# A figurative phrase's words become this token, which no rule or keyword matches.
BLANK = "_"


@dataclass(frozen=True, slots=True)
class WordSense:
    """A word with another sense: where a pattern's group `word` matches, the token is read as
    `reading` ("jalan" -> "berjalan" in "mau jalan ke pasar")."""

    word: str
    reading: str
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class SenseRules:
    word_senses: tuple[WordSense, ...] = ()
    figurative: tuple[tuple[str, ...], ...] = ()  # folded phrases, longest first
    _figurative_by_first: Mapping[str, tuple[tuple[str, ...], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_first: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for phrase in self.figurative:
            by_first[phrase[0]].append(phrase)
        object.__setattr__(self, "_figurative_by_first", {k: tuple(v) for k, v in by_first.items()})

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "sense rules") -> SenseRules:
        senses = []
        for raw in data.get("word_senses") or []:
            if not isinstance(raw, dict) or "word" not in raw or "reading" not in raw:
                raise DataFileError(f"{source}: every word sense needs a word and a reading")
            patterns = strings(raw.get("patterns", []), f"word_senses.{raw['word']}", source)
            compiled = tuple(re.compile(p) for p in patterns)
            if any("word" not in p.groupindex for p in compiled):
                raise DataFileError(f"{source}: word sense patterns need a group named 'word'")
            senses.append(WordSense(str(raw["word"]), str(raw["reading"]), compiled))
        phrases = {
            tuple(fold(p).split())
            for p in strings(data.get("figurative", []), "figurative", source)
        }
        return cls(
            word_senses=tuple(senses),
            figurative=tuple(sorted((p for p in phrases if p), key=lambda p: (-len(p), p))),
        )


def load_sense_rules(path: Path | str | None = None) -> SenseRules:
    path = Path(path) if path else data_file("senses.yaml")
    return SenseRules.from_mapping(read_yaml(path), str(path))


@lru_cache(maxsize=1)
def default_sense_rules() -> SenseRules:
    return load_sense_rules()


def figurative_spans(
    tokens: Sequence[str], rules: SenseRules | None = None
) -> list[tuple[int, int]]:
    """Token ranges of the idioms in `figurative` ("banjir air mata"), left to right."""
    rules = rules or default_sense_rules()
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        for phrase in rules._figurative_by_first.get(tokens[i], ()):  # longest first
            if tuple(tokens[i : i + len(phrase)]) == phrase:
                spans.append((i, i + len(phrase)))
                i += len(phrase) - 1
                break
        i += 1
    return spans


def figurative_phrases(tokens: Sequence[str], rules: SenseRules | None = None) -> list[str]:
    """The idioms found, as written in folded form ("banjir air mata")."""
    return [" ".join(tokens[start:end]) for start, end in figurative_spans(tokens, rules)]


def literal_tokens(tokens: Sequence[str], rules: SenseRules | None = None) -> tuple[str, ...]:
    """The tokens read literally: idioms blanked out, words in another sense renamed
    ("mau jalan jalan ke pantai" -> "mau berjalan berjalan ke pantai")."""
    rules = rules or default_sense_rules()
    out = list(tokens)
    for start, end in figurative_spans(tokens, rules):
        out[start:end] = [BLANK] * (end - start)
    if rules.word_senses:
        joined, starts = _joined(out)
        for sense in rules.word_senses:
            if sense.word not in out:
                continue
            for pattern in sense.patterns:
                for match in pattern.finditer(joined):
                    index = starts.get(match.start("word"))
                    if index is not None and out[index] == sense.word:
                        out[index] = sense.reading
    return tuple(out)


def _joined(tokens: Sequence[str]) -> tuple[str, dict[int, int]]:
    starts: dict[int, int] = {}
    position = 0
    for index, token in enumerate(tokens):
        starts[position] = index
        position += len(token) + 1
    return " ".join(tokens), starts
