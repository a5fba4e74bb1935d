"""Words that do not mean what a keyword list thinks: "jalan" as the verb "to go", idioms and
jokes ("banjir air mata" is no flood), courtesy formulas ("maaf mengganggu" is no nuisance).

Routing, the class suggestion and the not-a-report suggestion all read a complaint's *literal*
tokens: idioms and formulas blanked out, words in another sense renamed. The rules are data
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


@dataclass(frozen=True, eq=False)  # identity equality: hashable, usable as a cache key
class SenseRules:
    word_senses: tuple[WordSense, ...] = ()
    figurative: tuple[tuple[str, ...], ...] = ()  # folded idioms, longest first
    formulas: tuple[tuple[str, ...], ...] = ()  # folded courtesy formulas ("maaf mengganggu")
    _by_first: Mapping[str, tuple[tuple[tuple[str, ...], bool], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_first: dict[str, list[tuple[tuple[str, ...], bool]]] = defaultdict(list)
        phrases = [(p, True) for p in self.figurative] + [(p, False) for p in self.formulas]
        for phrase, idiom in sorted(phrases, key=lambda pi: -len(pi[0])):
            by_first[phrase[0]].append((phrase, idiom))
        object.__setattr__(self, "_by_first", {k: tuple(v) for k, v in by_first.items()})

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
        return cls(
            word_senses=tuple(senses),
            figurative=_phrases(data, "figurative", source),
            formulas=_phrases(data, "formulas", source),
        )


def load_sense_rules(path: Path | str | None = None) -> SenseRules:
    path = Path(path) if path else data_file("senses.yaml")
    return SenseRules.from_mapping(read_yaml(path), str(path))


@lru_cache(maxsize=1)
def default_sense_rules() -> SenseRules:
    return load_sense_rules()


def _phrases(data: Mapping[str, Any], key: str, source: str) -> tuple[tuple[str, ...], ...]:
    folded = {tuple(fold(p).split()) for p in strings(data.get(key, []), key, source)}
    return tuple(sorted((p for p in folded if p), key=lambda p: (-len(p), p)))


def _phrase_spans(tokens: Sequence[str], rules: SenseRules) -> list[tuple[int, int, bool]]:
    """Token ranges of idioms and formulas (start, end, is an idiom), left to right."""
    spans: list[tuple[int, int, bool]] = []
    i = 0
    while i < len(tokens):
        for phrase, idiom in rules._by_first.get(tokens[i], ()):  # longest first
            if tuple(tokens[i : i + len(phrase)]) == phrase:
                spans.append((i, i + len(phrase), idiom))
                i += len(phrase) - 1
                break
        i += 1
    return spans


def figurative_phrases(tokens: Sequence[str], rules: SenseRules | None = None) -> list[str]:
    """The idioms found ("banjir air mata"), in folded form, left to right."""
    spans = _phrase_spans(tokens, rules or default_sense_rules())
    return [" ".join(tokens[start:end]) for start, end, idiom in spans if idiom]


def literal_tokens(tokens: Sequence[str], rules: SenseRules | None = None) -> tuple[str, ...]:
    """The tokens read literally: idioms blanked out, words in another sense renamed
    ("mau jalan jalan ke pantai" -> "mau berjalan berjalan ke pantai")."""
    # Class rules, routing and the not-a-report suggestion all ask for the same text.
    return _literal(tuple(tokens), rules or default_sense_rules())


@lru_cache(maxsize=256)
def _literal(tokens: tuple[str, ...], rules: SenseRules) -> tuple[str, ...]:
    out = list(tokens)
    for start, end, _ in _phrase_spans(tokens, rules):
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
