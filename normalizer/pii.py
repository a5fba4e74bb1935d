"""Find and mask personal data in a complaint: NIK, KK, phone, e-mail, bank account, names.

Spans are offsets into the ORIGINAL text (so the admin inbox can highlight them over the text
it shows); the masked text replaces each span with a placeholder (`[NIK]`, `[TELEPON]`, ...)
and `mask_personal_data()` is the one function every text that leaves the gateway goes
through (to the SP4N core, to liaison officers, on public pages). Rules and word lists are data
(`config/normalizer/pii.yaml`).

What counts:
- NIK: 16 digits with the structure of a Nomor Induk Kependudukan — a real province code, a
  plausible kabupaten/kota and kecamatan code, a valid date of birth DDMMYY (women add 40 to the
  day) and a serial other than 0000. A 16-digit transaction code or card number is not a NIK.
  A NIK/KTP word just before the number makes it a NIK whatever its structure.
- KK: the same region structure with an issue date, told apart from a NIK by a KK word.
- Phone numbers: `phonenumbers.PhoneNumberMatcher` with region ID (0812..., +62 812-...,
  62812..., (0295) 691234).
- E-mail addresses; bank account numbers after a bank word; names after "nama saya", "atas
  nama", "a.n." and the like.
Once something is found, every other occurrence of it in the text is masked too.
"""

from __future__ import annotations

import bisect
import calendar
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import phonenumbers

from normalizer.resources import data_file, read_yaml, require, strings
from normalizer.text import MAX_CHARS, default_lexicon

NIK = "nik"
KK = "kk"
TELEPON = "telepon"
EMAIL = "email"
REKENING = "rekening"
NAMA = "nama"
KINDS = (NIK, KK, TELEPON, EMAIL, REKENING, NAMA)

# When two findings overlap, the one with the stronger evidence wins; then the longer one.
_PRIORITY = {NIK: 5, KK: 5, REKENING: 4, EMAIL: 3, TELEPON: 2, NAMA: 1}

_SIXTEEN_DIGITS = re.compile(r"(?<![0-9])(?<![0-9][ .-])[0-9](?:[ .-]?[0-9]){15}(?![ .-]?[0-9])")
_ACCOUNT_DIGITS = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){5,21}(?![0-9])")
_AMOUNT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?")
_PHONE_HINT = re.compile(r"[0-9](?:[\s().-]{0,3}[0-9]){6,}")
_MOBILE_RUN = re.compile(r"(?<![0-9])(?:\+62|62|0)8[1-9](?:[ .-]?[0-9]){6,10}(?![0-9])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_NAME_TOKEN = re.compile(r"[^\S\n]*([^\W\d_]+(?:['’-][^\W\d_]+)*\.?)")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One piece of personal data: its kind and where it stands in the original text."""

    kind: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class PiiResult:
    spans: tuple[PiiSpan, ...]
    masked_text: str
    truncated: bool

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(span.kind for span in self.spans)


@dataclass(frozen=True)
class PiiRules:
    """The data that drives detection (see `config/normalizer/pii.yaml`)."""

    province_codes: frozenset[int]
    kabupaten_max: int
    kota_max: int
    context_window: int
    nik_context: tuple[str, ...]
    kk_context: tuple[str, ...]
    not_nik_context: tuple[str, ...]
    bank_words: tuple[str, ...]
    bank_window: int
    contact_words: tuple[str, ...]
    not_account_words: tuple[str, ...]
    name_phrases: tuple[str, ...]
    name_honorifics: frozenset[str]
    name_stopwords: frozenset[str]
    name_max_words: int
    masks: Mapping[str, str]

    def __post_init__(self) -> None:
        compiled = {
            "_nik_re": _word_alternation(self.nik_context),
            "_kk_re": _word_alternation(self.kk_context),
            "_not_nik_re": _word_alternation(self.not_nik_context),
            "_bank_re": _word_alternation(self.bank_words),
            "_contact_re": _word_alternation(self.contact_words),
            "_not_account_re": _word_alternation(self.not_account_words),
            "_name_re": re.compile("|".join(f"(?:{p})" for p in self.name_phrases), re.I),
        }
        for name, value in compiled.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "pii rules") -> PiiRules:
        data = dict(data)
        regency = require(data, "regency_codes", dict, source)
        masks = require(data, "masks", dict, source)
        missing = [kind for kind in KINDS if kind not in masks]
        if missing:
            raise ValueError(f"{source}: masks missing for {missing}")
        return cls(
            province_codes=frozenset(int(c) for c in require(data, "province_codes", dict, source)),
            kabupaten_max=int(regency["kabupaten_max"]),
            kota_max=int(regency["kota_max"]),
            context_window=int(data.get("context_window", 32)),
            nik_context=tuple(strings(data.get("nik_context"), "nik_context", source)),
            kk_context=tuple(strings(data.get("kk_context"), "kk_context", source)),
            not_nik_context=tuple(strings(data.get("not_nik_context"), "not_nik_context", source)),
            bank_words=tuple(strings(data.get("bank_words"), "bank_words", source)),
            bank_window=int(data.get("bank_window", 24)),
            contact_words=tuple(strings(data.get("contact_words", []), "contact_words", source)),
            not_account_words=tuple(
                strings(data.get("not_account_words", []), "not_account_words", source)
            ),
            name_phrases=tuple(strings(data.get("name_phrases"), "name_phrases", source)),
            name_honorifics=_lowered(data, "name_honorifics", source),
            name_stopwords=_lowered(data, "name_stopwords", source),
            name_max_words=int(data.get("name_max_words", 4)),
            masks={str(k): str(v) for k, v in masks.items()},
        )


def load_pii_rules(path: Path | str | None = None) -> PiiRules:
    path = Path(path) if path else data_file("pii.yaml")
    return PiiRules.from_mapping(read_yaml(path), str(path))


@lru_cache(maxsize=1)
def default_pii_rules() -> PiiRules:
    return load_pii_rules()


def find_pii(text: str, rules: PiiRules | None = None) -> PiiResult:
    """Find personal data in `text` and mask it; spans index into `text` itself."""
    rules = rules or default_pii_rules()
    truncated = len(text) > MAX_CHARS
    text = text[:MAX_CHARS] if truncated else text
    view = _scan_view(text)
    lowered = view.lower()
    found: list[PiiSpan] = []
    found += _national_numbers(view, lowered, rules)
    found += _bank_accounts(view, lowered, rules)
    found += _emails(view)
    found += _phones(view)
    found += _names(view, rules)
    spans = _resolve_overlaps(_every_occurrence(found, view), text)
    return PiiResult(spans=spans, masked_text=mask(text, spans, rules), truncated=truncated)


def mask(text: str, spans: Iterable[PiiSpan], rules: PiiRules | None = None) -> str:
    """Replace non-overlapping spans (sorted by start) with their kind's placeholder."""
    rules = rules or default_pii_rules()
    pieces: list[str] = []
    position = 0
    for span in spans:
        pieces.append(text[position : span.start])
        pieces.append(rules.masks[span.kind])
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces)


def mask_personal_data(
    text: str, *, known: Iterable[str | None] = (), rules: PiiRules | None = None
) -> str:
    """`text` with every piece of personal data replaced by its placeholder: what `find_pii`
    finds, plus each of the `known` identifiers (the reporter's own name, phone number, e-mail)
    wherever it appears. The whole text is masked however long it is (`find_pii` reads only
    `MAX_CHARS`), and masking a masked text changes nothing, so it is safe to apply at every
    door out of the gateway."""
    rules = rules or default_pii_rules()
    literals = _known_literals(known)
    return "".join(_mask_chunk(chunk, literals, rules) for chunk in _chunks(text, MAX_CHARS))


def _mask_chunk(text: str, literals: list[tuple[str, re.Pattern[str]]], rules: PiiRules) -> str:
    found = list(find_pii(text, rules).spans)
    view = _scan_view(text)
    for kind, pattern in literals:
        found += [PiiSpan(kind, m.start(), m.end(), m.group()) for m in pattern.finditer(view)]
    return mask(text, _resolve_overlaps(found, text), rules)


def _chunks(text: str, size: int) -> list[str]:
    """Pieces of at most `size` characters, cut at whitespace where possible so no number or
    address is split between two pieces."""
    pieces = []
    while len(text) > size:
        cut = max(text.rfind(" ", 0, size), text.rfind("\n", 0, size))
        cut = cut if cut > size // 2 else size
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    return pieces


def _known_literals(known: Iterable[str | None]) -> list[tuple[str, re.Pattern[str]]]:
    """Patterns for identifiers we already know: an e-mail, a phone number in its usual
    spellings (+62812..., 62812..., 0812...), a name (whole, never its single words: a
    Telegram name like "Warga Leteh" must not mask the village)."""
    literals: list[tuple[str, re.Pattern[str]]] = []
    for value in known:
        value = (value or "").strip()
        if "@" in value:
            literals.append((EMAIL, re.compile(re.escape(value), re.I)))
        elif re.fullmatch(r"\+?[0-9][0-9 .-]{6,}", value):
            digits = re.sub(r"[^0-9]", "", value)
            spellings = {digits, "+" + digits}
            if digits.startswith("62"):
                spellings.add("0" + digits[2:])
            body = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
            literals.append((TELEPON, re.compile(rf"(?<![0-9+])(?:{body})(?![0-9])")))
        elif sum(c.isalpha() for c in value) >= 3:
            words = r"\s+".join(re.escape(w) for w in value.split())
            literals.append((NAMA, re.compile(rf"(?<![^\W\d_]){words}(?![^\W\d_])", re.I)))
    return literals


def nik_structure_ok(digits: str, rules: PiiRules | None = None) -> bool:
    """Whether 16 digits have the structure of a NIK (region, birth date with +40, serial)."""
    rules = rules or default_pii_rules()
    if len(digits) != 16 or not digits.isascii() or not digits.isdigit():
        return False
    day = int(digits[6:8])
    if day > 40:
        day -= 40  # women: day of birth + 40
    return _region_ok(digits, rules) and _date_ok(day, digits) and digits[12:] != "0000"


def kk_structure_ok(digits: str, rules: PiiRules | None = None) -> bool:
    """Whether 16 digits have the structure of a KK number (region, issue date, serial)."""
    rules = rules or default_pii_rules()
    if len(digits) != 16 or not digits.isascii() or not digits.isdigit():
        return False
    day = int(digits[6:8])
    return _region_ok(digits, rules) and _date_ok(day, digits) and digits[12:] != "0000"


def _region_ok(digits: str, rules: PiiRules) -> bool:
    province, regency, district = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    regency_ok = 1 <= regency <= rules.kabupaten_max or 71 <= regency <= rules.kota_max
    return province in rules.province_codes and regency_ok and district >= 1


def _date_ok(day: int, digits: str) -> bool:
    month = int(digits[8:10])
    if not 1 <= month <= 12 or day < 1:
        return False
    # The century is unknown, so 29 February is always allowed (2000 is a leap year).
    return day <= calendar.monthrange(2000, month)[1]


def _scan_view(text: str) -> str:
    """The text with full-width and other compatibility characters folded one-for-one.

    Keeping the length identical means offsets found in the view are offsets in the original.
    """
    if text.isascii():
        return text
    out = []
    for char in text:
        if char.isascii():
            out.append(char)
            continue
        decimal = unicodedata.decimal(char, None)
        if decimal is not None:
            out.append(str(decimal))
            continue
        folded = unicodedata.normalize("NFKC", char)
        out.append(folded if len(folded) == 1 else char)
    return "".join(out)


def _national_numbers(view: str, lowered: str, rules: PiiRules) -> list[PiiSpan]:
    spans = []
    for match in _SIXTEEN_DIGITS.finditer(view):
        digits = re.sub(r"[ .-]", "", match.group())
        before = lowered[max(0, match.start() - rules.context_window) : match.start()]
        nik_word = _last_match_end(rules._nik_re, before)  # type: ignore[attr-defined]
        kk_word = _last_match_end(rules._kk_re, before)  # type: ignore[attr-defined]
        other_word = _last_match_end(rules._not_nik_re, before)  # type: ignore[attr-defined]
        kind: str | None = None
        if kk_word > nik_word and kk_word > other_word:
            kind = KK
        elif nik_word > other_word or (other_word < 0 and nik_structure_ok(digits, rules)):
            kind = NIK
        if kind is not None:
            spans.append(PiiSpan(kind, match.start(), match.end(), match.group()))
    return spans


def _bank_accounts(view: str, lowered: str, rules: PiiRules) -> list[PiiSpan]:
    spans = []
    for word in rules._bank_re.finditer(lowered):  # type: ignore[attr-defined]
        window_end = word.end() + rules.bank_window + 30
        for number in _ACCOUNT_DIGITS.finditer(view, word.end(), min(len(view), window_end)):
            if number.start() - word.end() > rules.bank_window:
                break
            lead = lowered[max(0, number.start() - 4) : number.start()]
            if "rp" in lead or _AMOUNT.match(view, number.start()):
                continue  # an amount of money, not an account
            if _not_an_account(number.group()):
                continue  # a date or a call-centre number near a bank's name
            if rules._contact_re.search(lowered, word.end(), number.start()):  # type: ignore[attr-defined]
                break  # "bank ... hub LIA di 0857...": a number to call, not an account
            if rules._not_account_re.search(lowered, word.end(), number.start()):  # type: ignore[attr-defined]
                break  # "BRI ... kode cek 02599875": a code, not an account
            spans.append(PiiSpan(REKENING, number.start(), number.end(), number.group()))
            break
    return spans


_DATE_LIKE = re.compile(r"(?:0?[1-9]|[12][0-9]|3[01])[-/. ](?:0?[1-9]|1[0-2])[-/. ](?:19|20)?\d\d")
# Indonesian call-centre numbers: 14xxx, 1500xxx, 0800/0804 toll-free.
_CALL_CENTRE = re.compile(r"14\d{3}|1500\d{3,4}|080[04]\d{6,8}")


def _not_an_account(number: str) -> bool:
    digits = re.sub(r"\D", "", number)
    return bool(_DATE_LIKE.fullmatch(number.strip()) or _CALL_CENTRE.fullmatch(digits))


def _emails(view: str) -> list[PiiSpan]:
    return [PiiSpan(EMAIL, m.start(), m.end(), m.group()) for m in _EMAIL.finditer(view)]


def _phones(view: str) -> list[PiiSpan]:
    if not _PHONE_HINT.search(view):
        return []  # the matcher is the slowest step; skip it when no digit run could be a number
    spans = []
    try:
        for match in phonenumbers.PhoneNumberMatcher(view, "ID"):
            raw = match.raw_string
            # Indonesian numbers with their area or mobile prefix have at least 9 digits;
            # "Rp 1.500.000" would otherwise pass as a short local number.
            if sum(c.isdigit() for c in raw) < 9 or _AMOUNT.fullmatch(raw):
                continue
            spans.append(PiiSpan(TELEPON, match.start, match.end, raw))
    except (ValueError, IndexError):  # pragma: no cover - defensive: odd input must not crash
        pass
    # Mobile numbers the matcher misses: glued to a word ("Info 0889...berlaku"), or cut off.
    for run in _MOBILE_RUN.finditer(view):
        if not any(s.start < run.end() and run.start() < s.end for s in spans):
            spans.append(PiiSpan(TELEPON, run.start(), run.end(), run.group()))
    return spans


# "bernama: 1. Ani 2. Budi", "atas nama Ani Lestari dan Budi Santoso": more names after the first.
_ENUMERATOR = re.compile(r"[^\S\n]*\d{1,2}[.)][^\S\n]*")
_NEXT_NAME = re.compile(
    r"[^\S\n]*(?:,?[^\S\n]*(?:&|dan\b)|,?[^\S\n]*\d{1,2}[.)])[^\S\n]*(?:\d{1,2}[.)][^\S\n]*)?", re.I
)
_MORE_NAMES = 5


def _names(view: str, rules: PiiRules) -> list[PiiSpan]:
    spans = []
    # In text written normally (both cases), names are capitalised; in all-lower or all-upper
    # SMS text, case says nothing and only the stop words end a name.
    has_lower = any(c.islower() for c in view)
    has_upper = any(c.isupper() for c in view)
    want_capital = has_lower and has_upper and not _mostly_upper(view)
    for phrase in rules._name_re.finditer(view):  # type: ignore[attr-defined]
        position = phrase.end()
        listed = _ENUMERATOR.match(view, position)
        words, position = _name_at(view, listed.end() if listed else position, rules, want_capital)
        if not (words and any(len(view[s:e].rstrip(".")) >= 2 for s, e in words)):
            continue
        spans.append(PiiSpan(NAMA, words[0][0], words[-1][1], view[words[0][0] : words[-1][1]]))
        # A list of names after one phrase: each further name needs two words, so "nama saya
        # Budi dan anak saya ..." does not take "anak" for a name.
        for _ in range(_MORE_NAMES):
            joint = _NEXT_NAME.match(view, position)
            if joint is None:
                break
            more, after = _name_at(view, joint.end(), rules, want_capital)
            if len(more) < 2:
                break
            spans.append(PiiSpan(NAMA, more[0][0], more[-1][1], view[more[0][0] : more[-1][1]]))
            position = after
    return spans


@lru_cache(maxsize=4096)
def _ends_name(word: str, stopwords: frozenset[str]) -> bool:
    """A stop word, or a short form of one in the public colloquial lexicon or the SMS word list
    ("tdk", "blm", "yg"): "atas nama Ani Lestari TDK TERCANTUM" ends before "TDK"."""
    if word in stopwords:
        return True
    standard = default_lexicon().expansion(word)
    return standard is not None and standard.lower() in stopwords


def _name_at(
    view: str, position: int, rules: PiiRules, want_capital: bool
) -> tuple[list[tuple[int, int]], int]:
    """The words of the name starting at `position` (after a phrase), and where it ends."""
    capitalised = True
    words: list[tuple[int, int]] = []
    while len(words) < rules.name_max_words:
        token = _NAME_TOKEN.match(view, position)
        if token is None:
            break
        word = token.group(1)
        bare = word.rstrip(".")
        honorific = {word.lower(), bare.lower()} & rules.name_honorifics
        if not words and honorific:
            position = token.end()
            continue
        if _ends_name(bare.lower(), rules.name_stopwords):
            break
        if want_capital and not bare[:1].isupper() and ((words and capitalised) or len(words) >= 3):
            break  # a capitalised name ends at the first lower-case word
        if not words:
            # "nama saya budi santoso": after an explicit phrase a name may be written in
            # lower case even in normally written text; it then ends at a stop word.
            capitalised = bare[:1].isupper()
        start = token.start(1)
        ends_sentence = word.endswith(".") and len(bare) > 1
        words.append((start, start + len(bare) if ends_sentence else token.end(1)))
        position = token.end()
        if ends_sentence:
            break
    return words, position


def _every_occurrence(found: list[PiiSpan], view: str) -> list[PiiSpan]:
    """Add every other place the same personal data appears (a name said twice, a number
    repeated), so the masked text never shows it."""
    spans = list(found)
    seen: set[tuple[str, str]] = set()
    for span in found:
        key = (span.kind, span.text)
        if key in seen:
            continue
        seen.add(key)
        if span.kind == NAMA:
            parts = {span.text} | {w for w in re.split(r"\s+", span.text) if len(w.strip(".")) >= 3}
            for part in parts:
                pattern = re.compile(r"(?<![^\W\d_])" + re.escape(part) + r"(?![^\W\d_])")
                for match in pattern.finditer(view):
                    spans.append(PiiSpan(NAMA, match.start(), match.end(), match.group()))
        else:
            start = view.find(span.text)
            while start >= 0:
                spans.append(PiiSpan(span.kind, start, start + len(span.text), span.text))
                start = view.find(span.text, start + 1)
    return spans


def _resolve_overlaps(spans: list[PiiSpan], text: str) -> tuple[PiiSpan, ...]:
    kept: list[PiiSpan] = []
    starts: list[int] = []  # starts of kept spans, sorted, for a neighbour look-up
    ranked = sorted(spans, key=lambda s: (-_PRIORITY[s.kind], -(s.end - s.start), s.start))
    for span in ranked:
        at = bisect.bisect_left(starts, span.start)
        if at < len(kept) and kept[at].start < span.end:
            continue
        if at > 0 and kept[at - 1].end > span.start:
            continue
        starts.insert(at, span.start)
        kept.insert(at, span)
    # Report the original characters (the view may have folded full-width digits).
    return tuple(PiiSpan(s.kind, s.start, s.end, text[s.start : s.end]) for s in kept)


def _lowered(data: Mapping[str, Any], key: str, source: str) -> frozenset[str]:
    return frozenset(w.lower() for w in strings(data.get(key, []), key, source))


def _word_alternation(words: Iterable[str]) -> re.Pattern[str]:
    ordered = sorted({w.lower() for w in words}, key=len, reverse=True)
    body = "|".join(re.escape(w) for w in ordered) or r"(?!x)x"
    return re.compile(rf"(?<![^\W\d_])(?:{body})(?![^\W\d_])")


def _last_match_end(pattern: re.Pattern[str], text: str) -> int:
    last = -1
    for match in pattern.finditer(text):
        last = match.end()
    return last


def _mostly_upper(text: str) -> bool:
    letters = _LETTER.findall(text[:2000])
    return len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7


_LABELLED_PLACEHOLDER = re.compile(
    r"(?:\b(?:nama|saya|bernama|atas|a\.n\.?|an|nik|ktp|kk|no|nomor|nomer|hp|wa|whatsapp|telp|"
    r"telepon|email|e-mail|rekening|rek|bank|bri|bca|bni|bsi|btn|mandiri|danamon|cimb)\b[\s.:]*){0,4}"
    r"\[[A-Z]+\]",
    re.IGNORECASE,
)


def without_identity(masked_text: str) -> str:
    """The masked text with each placeholder and the words that introduce it removed, for
    reading what a complaint is *about*: "NIK [NIK]" says who is writing, not that the
    complaint concerns the civil registry."""
    return re.sub(r"\s{2,}", " ", _LABELLED_PLACEHOLDER.sub(" ", masked_text)).strip()
