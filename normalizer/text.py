"""Clean Indonesian complaint text for display and matching (titles: normalizer/title.py).

The original text is never changed (the caller keeps it verbatim; `CleanText.original` is the
same object). `clean_text()` produces:

- `text`: the display form — Unicode NFKC, control and invisible characters removed, emoji
  removed (the original keeps them; an emoji carries mood, not facts an admin acts on, and
  descriptions such as "pouting face" would be English noise in an Indonesian inbox), URLs kept
  verbatim (they are often evidence links), elongations collapsed (`rusakkkk` -> `rusak`), SMS
  abbreviations and colloquial forms expanded from the word list in
  `config/normalizer/lexicon.yaml`, RT/RW written one way (`RT 03/RW 05`), whitespace tidied.
- `folded`: the matching form — lower case, no accents, no punctuation, no URLs.
- `tokens`: `folded` split into words.

Input longer than `MAX_CHARS` is cut there and `truncated` says so.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from normalizer.language import ENGLISH_WORDS
from normalizer.resources import DataFileError, data_file, read_yaml, require, strings

MAX_CHARS = 20_000
TITLE_MAX_CHARS = 80

# Text a URL or e-mail address is made of; such spans are copied verbatim, never "cleaned".
_PROTECTED = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]"
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    re.IGNORECASE,
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)

# Emoji blocks, pictographs, dingbats, arrows/stars, variation selectors, keycap and tag marks.
_EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"
    "\u2600-\u27bf"
    "\u2b00-\u2bff"
    "\u2190-\u21ff"
    "\ufe0e\ufe0f\u20e3"
    "\U000e0020-\U000e007f"
    "]+"
)
_REPEATED_PUNCT = re.compile(r"([!?,;:])\1+|\.{4,}")
_ELONGATED_WORD = re.compile(r"[^\W\d_]*([^\W\d_])\1{2,}[^\W\d_]*")
_LETTER_RUN = re.compile(r"([^\W\d_])\1{2,}")
# "anak2" -> "anak-anak", "org2" -> "orang-orang", "kata2nya" -> "kata-katanya": Indonesian
# writes reduplication with a 2 in SMS; the base is expanded first when it is an abbreviation.
_REDUPLICATION = re.compile(r"\b([^\W\d_]{3,})2([^\W\d_]{0,4})\b")
# Words after which a name follows: the colloquial lexicon leaves that name alone.
_NAME_WORDS = frozenset(
    "desa ds dusun dsn dukuh dk kampung kelurahan kel kecamatan kec kabupaten kab jalan jl jln "
    "gang gg pak bu bapak ibu mas mbak nama bernama".split()
)
_LAST_WORD = re.compile(r"([^\W\d_]+)\.?\s+$")
_WORD = re.compile(r"(?<![\w.@/-])[^\W\d_]{2,}(?![\w@]|-\w)")
_RT_RW = re.compile(
    r"\b(?:rt|r\.t\.?)\s*[.:]?\s*(?:no\.?\s*)?0*(\d{1,3})"
    r"(?:(?:\s*/\s*(?:rw\.?\s*)?|\s*[,-]?\s*(?:rw|r\.w\.?)\s*[.:]?\s*)0*(\d{1,3}))?\b"
    r"|\brw\s*[.:]?\s*0*(\d{1,3})\b",
    re.IGNORECASE,
)
_RT_RW_PAIR = re.compile(r"\brt\s*/\s*rw\s*[.:]?\s*0*(\d{1,3})\s*/\s*0*(\d{1,3})\b", re.IGNORECASE)
_LETTERS = re.compile(r"[^\W\d_]")
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_NON_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class Abbreviation:
    """One word-list entry: the spellings citizens use and the standard replacement."""

    forms: tuple[str, ...]
    to: str
    note: str


@dataclass(frozen=True)
class Lexicon:
    """The word list `clean_text()` and `title.make_title()` work from (see lexicon.yaml).

    `colloquial` is the public colloquial-Indonesian lexicon (informal form -> standard form),
    loaded as data (see `load_colloquial()`); the project's own `abbreviations` win where both
    have a form.
    """

    abbreviations: tuple[Abbreviation, ...]
    keep_double: frozenset[str]
    greetings: tuple[str, ...]
    stopwords: frozenset[str]
    colloquial: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        replacements: dict[str, str] = {}
        for entry in self.abbreviations:
            for form in entry.forms:
                replacements[form] = entry.to
        # Longest first so "jln." wins over "jln" and "no.rek" over "no.".
        alternatives = sorted(replacements, key=len, reverse=True)
        dotted = "|".join(re.escape(f) for f in alternatives if f.endswith(".") or "/" in f)
        plain = "|".join(re.escape(f) for f in alternatives if not (f.endswith(".") or "/" in f))
        parts = []
        if dotted:
            parts.append(f"(?:{dotted})")
        if plain:
            # A plain form must end the word; "tdk." at a sentence end still counts.
            parts.append(f"(?:{plain})(?![\\w@]|\\.\\w)")
        pattern = r"(?<![\w.@/-])(?:" + "|".join(parts) + ")" if parts else r"(?!x)x"
        object.__setattr__(self, "_replacements", replacements)
        object.__setattr__(self, "_abbreviation_re", re.compile(pattern, re.IGNORECASE))
        greeting = "|".join(f"(?:{g})" for g in self.greetings) or r"(?!x)x"
        object.__setattr__(
            self,
            "_greeting_re",
            re.compile(rf"^(?:(?:{greeting})(?![^\W_])[\s,.!:;/-]*)+", re.IGNORECASE),
        )

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        source: str = "lexicon",
        colloquial: Mapping[str, str] | None = None,
    ) -> Lexicon:
        entries = []
        for raw in require(dict(data), "abbreviations", list, source):
            if not isinstance(raw, dict) or "forms" not in raw or "to" not in raw:
                raise DataFileError(f"{source}: every abbreviation needs 'forms' and 'to'")
            forms = tuple(strings(raw["forms"], "forms", source))
            entries.append(Abbreviation(forms, str(raw["to"]), str(raw.get("note", ""))))
        return cls(
            abbreviations=tuple(entries),
            keep_double=frozenset(
                w.lower() for w in strings(data.get("keep_double", []), "keep_double", source)
            ),
            greetings=tuple(strings(data.get("greetings", []), "greetings", source)),
            stopwords=frozenset(
                w.lower() for w in strings(data.get("stopwords", []), "stopwords", source)
            ),
            colloquial=_resolved(colloquial or {}, entries),
        )

    def expansion(self, form: str) -> str | None:
        lowered = form.lower()
        found = self._replacements.get(lowered)  # type: ignore[attr-defined]
        return found if found is not None else self.colloquial.get(lowered)


def _resolved(
    colloquial: Mapping[str, str], abbreviations: Sequence[Abbreviation]
) -> dict[str, str]:
    """The public lexicon with each target written the way our own rules write it, so cleaning
    twice changes nothing: the lexicon says "ak" -> "aku", our rules "aku" -> "saya"."""
    ours = {form.lower(): entry.to for entry in abbreviations for form in entry.forms}
    table = dict(colloquial)
    for form, target in table.items():
        for _ in range(3):  # chains are short; a cycle just stops here
            words = [ours.get(w, colloquial.get(w, w)) for w in target.split()]
            if " ".join(words) == target:
                break
            target = " ".join(words)
        table[form] = target
    return table


def load_lexicon(path: Path | str | None = None, *, public: bool = True) -> Lexicon:
    """Read a word list; the default is `config/normalizer/lexicon.yaml`. With `public`, the
    public colloquial lexicon named in its `colloquial` section is loaded beside it."""
    path = Path(path) if path else data_file("lexicon.yaml")
    data = read_yaml(path)
    colloquial = load_colloquial(data, str(path)) if public else {}
    return Lexicon.from_mapping(data, str(path), colloquial)


def load_colloquial(data: Mapping[str, Any], source: str = "lexicon") -> dict[str, str]:
    """The public colloquial lexicon (informal -> standard form), filtered by the rules of the
    word list's `colloquial` section.

    The pairs are Salsabila et al.'s Colloquial Indonesian Lexicon (IALP 2018) as distributed
    in the `indoNLP` package (MIT licence; `indoNLP.preprocessing.slang_data.SLANG_DATA`).
    Kept out: forms in `never` (two meanings, or words that matter here such as "kk" =
    Kartu Keluarga), common English words, forms that are themselves a standard form somewhere
    in the lexicon (real words), one-letter forms, forms with digits (reduplication is a rule),
    and identity pairs.
    """
    rules = data.get("colloquial") or {}
    if not isinstance(rules, dict):
        raise DataFileError(f"{source}: 'colloquial' must be a mapping")
    try:
        from indoNLP.preprocessing.slang_data import SLANG_DATA
    except ImportError:  # pragma: no cover - a declared dependency; keep working without it
        return {}
    never = {w.lower() for w in strings(rules.get("never", []), "colloquial.never", source)}
    # Reporters write English too: an English word is never read as Indonesian slang ("to" is
    # "tapi" in the lexicon, "in" "ini").
    never |= ENGLISH_WORDS
    never |= {w.lower() for w in strings(rules.get("english", []), "colloquial.english", source)}
    min_length = int(rules.get("min_length", 2))
    standard = {w for value in SLANG_DATA.values() for w in value.lower().split()}
    table: dict[str, str] = {}
    for form, target in SLANG_DATA.items():
        form, target = form.lower().strip(), target.lower().strip()
        if (
            len(form) < min_length
            or not form.isalpha()
            or not form.isascii()
            or form in never
            or form in standard
            or form == target
            or not target
        ):
            continue
        table[form] = target
    return table


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return load_lexicon()


@dataclass(frozen=True, slots=True)
class CleanText:
    """A complaint text in three forms: verbatim, cleaned for display, folded for matching."""

    original: str
    text: str
    folded: str
    tokens: tuple[str, ...]
    urls: tuple[str, ...]
    truncated: bool


def clean_text(text: str, lexicon: Lexicon | None = None) -> CleanText:
    """Clean one complaint text (see the module docstring for what "clean" means)."""
    lexicon = lexicon or default_lexicon()
    truncated = len(text) > MAX_CHARS
    # Invisible characters go first: dropping them later could leave combining marks that NFKC
    # would have ordered differently.
    work = unicodedata.normalize("NFKC", _visible(text[:MAX_CHARS] if truncated else text))
    shouting = _is_shouting(work)
    pieces: list[str] = []
    position = 0
    for protected in _PROTECTED.finditer(work):
        pieces.append(_clean_words(work[position : protected.start()], lexicon, shouting))
        pieces.append(protected.group())
        position = protected.end()
    pieces.append(_clean_words(work[position:], lexicon, shouting))
    display = _tidy_whitespace("".join(pieces))
    folded = fold(_URL.sub(" ", display))
    return CleanText(
        original=text,
        text=display,
        folded=folded,
        tokens=tuple(folded.split()),
        urls=tuple(m.group() for m in _URL.finditer(display)),
        truncated=truncated,
    )


def fold(text: str) -> str:
    """Lower case, accents removed, anything but letters and digits turned into single spaces."""
    text = text.casefold()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", text).strip()


def _visible(text: str) -> str:
    """Drop emoji and invisible characters; control characters become spaces."""
    text = _EMOJI.sub(" ", text)
    if text.isascii():
        if text.isprintable():
            return text
        return "".join(c if c.isprintable() or c == "\n" else " " for c in text)
    out = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc":
            out.append("\n" if char in "\n\r\v\f\x85" else " ")
        elif category in ("Cf", "Cs", "Co", "Cn"):
            continue  # zero-width joiners, lone surrogates, private use, unassigned
        elif category.startswith("Z"):
            out.append("\n" if char in "\u2028\u2029" else " ")
        else:
            out.append(char)
    return "".join(out)


def _is_shouting(text: str) -> bool:
    """Mostly capital letters (common in SMS): capitals then say nothing about acronyms."""
    letters = _LETTERS.findall(text[:2000])
    if len(letters) < 8:
        return False
    return sum(map(str.isupper, letters)) / len(letters) > 0.7


def _clean_words(segment: str, lexicon: Lexicon, shouting: bool) -> str:
    if not segment:
        return segment
    segment = _REPEATED_PUNCT.sub(lambda m: m.group(1) or "...", segment)
    if _LETTER_RUN.search(segment):
        segment = _ELONGATED_WORD.sub(lambda m: _collapse(m.group(), lexicon.keep_double), segment)
    segment = _REDUPLICATION.sub(lambda m: _reduplicate(m, lexicon), segment)
    segment = _normalise_rt_rw(segment)
    segment = lexicon._abbreviation_re.sub(  # type: ignore[attr-defined]
        lambda m: _expand(m.group(), lexicon, shouting), segment
    )
    if not lexicon.colloquial:
        return segment
    return _WORD.sub(lambda m: _expand_colloquial(m, lexicon, shouting), segment)


def _reduplicate(match: re.Match[str], lexicon: Lexicon) -> str:
    base, suffix = match.group(1), match.group(2)
    expanded = lexicon.expansion(base)
    if expanded is not None and " " not in expanded:
        base = _with_case(base, expanded)
    return f"{base}-{base.lower() if base[:1].isupper() else base}{suffix}"


def _expand_colloquial(match: re.Match[str], lexicon: Lexicon, shouting: bool) -> str:
    found = match.group()
    replacement = lexicon.colloquial.get(found.lower())
    if replacement is None:
        return found
    before_word = _LAST_WORD.search(match.string[max(0, match.start() - 24) : match.start()])
    if before_word and before_word.group(1).lower() in _NAME_WORDS:
        return found  # "desa ngiri", "jl. gede": a place name, whatever it means as slang
    if not shouting and found[:1].isupper() and not found.isupper():
        # A capitalised word inside a sentence is a name ("Dusun Ngemplak", "Pak Ade"), not slang.
        before = match.string[: match.start()].rstrip()
        if before and before[-1] not in ".!?:\n":
            return found
    return _cased(found, replacement, shouting)


def _collapse(word: str, keep_double: Iterable[str]) -> str:
    """Collapse letter runs of three or more; keep real doubles (`maaaaf` -> `maaf`)."""
    doubled = _LETTER_RUN.sub(lambda m: m.group(1) * 2, word)
    if doubled.lower() in keep_double:
        return doubled

    def single(match: re.Match[str]) -> str:
        char = match.group(1)
        start, end = match.span()
        # Indonesian "ngg" before a vowel is real: "tinggggi" -> "tinggi", "tolonggg" -> "tolong".
        if char in "gG" and start > 0 and word[start - 1] in "nN" and end < len(word):
            return char * 2
        return char

    return _LETTER_RUN.sub(single, word)


def _normalise_rt_rw(segment: str) -> str:
    if "rt" not in segment.lower() and "rw" not in segment.lower():
        return segment
    segment = _RT_RW_PAIR.sub(lambda m: f"RT {int(m[1]):02d}/RW {int(m[2]):02d}", segment)

    def one(match: re.Match[str]) -> str:
        if match.group(3) is not None:
            return f"RW {int(match.group(3)):02d}"
        if match.group(2) is not None:
            return f"RT {int(match.group(1)):02d}/RW {int(match.group(2)):02d}"
        return f"RT {int(match.group(1)):02d}"

    return _RT_RW.sub(one, segment)


def _expand(found: str, lexicon: Lexicon, shouting: bool) -> str:
    replacement = lexicon._replacements.get(found.lower())  # type: ignore[attr-defined]
    if replacement is None:
        return found
    return _cased(found, replacement, shouting)


def _with_case(original: str, replacement: str) -> str:
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _cased(found: str, replacement: str, shouting: bool) -> str:
    letters = [c for c in found if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        if len(letters) == 2 and not shouting and not found.endswith("."):
            return found  # probably an acronym ("PD", "SM") in normally written text
        return replacement.upper() if len(letters) > 1 else replacement.capitalize()
    if found[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _tidy_whitespace(text: str) -> str:
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    # No space before punctuation that ends a clause (left behind by removed emoji).
    text = re.sub(r"(?<=[^,.!?;:\s]) +([,.!?;:])", r"\1", text)
    return text.strip()
