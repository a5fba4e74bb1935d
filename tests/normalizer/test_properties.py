"""Bad input never crashes the normalizer and masking never leaks what it found."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from normalizer.dedup import signature
from normalizer.location import find_places, load_gazetteer
from normalizer.pii import NAMA, find_pii
from normalizer.pipeline import normalize
from normalizer.routing import load_agency_directory
from normalizer.text import TITLE_MAX_CHARS, clean_text
from normalizer.title import make_title

GAZETTEER = load_gazetteer()
DIRECTORY = load_agency_directory()
NOW = datetime(2026, 3, 2, tzinfo=UTC)

# Any code point; a second alphabet leans on the awkward ones (lone surrogates, controls,
# format and private-use characters, digits of other scripts, symbols), which hypothesis only
# draws when asked by category.
awkward = st.characters(categories=["Cs", "Cc", "Cf", "Co", "Cn", "Nd", "So", "Zs", "Mn", "Lo"])
any_text = st.one_of(st.text(st.characters(), max_size=400), st.text(awkward, max_size=200))
binaryish = st.binary(max_size=400).map(lambda b: b.decode("latin-1"))
fragments = st.sampled_from(
    [
        "nama saya ",
        "Siti Aminah",
        "NIK ",
        "3317011203850002",
        "3317014507900001",
        "KK ",
        "0812-3456-7890",
        "+62 812 3456 7890",
        "(0295) 691234",
        "a.n. ",
        "BRI ",
        "rek ",
        "0123-01-012345-50-1",
        "budi@contoh.id",
        "Rp 1.500.000",
        " ",
        ", ",
        ". ",
        "\n",
        "jln ",
        "rusakkk ",
        "ds Leteh ",
        "kec. lasem ",
        "😡",
        "١٢٣",
        "ｊｌｎ",
        "[NAMA]",
        "Budi",
        "desa ",
    ]
)
mixed = st.lists(st.one_of(fragments, any_text.map(lambda t: t[:20])), max_size=30).map("".join)
complaint_like = st.one_of(any_text, binaryish, mixed)

_PLACEHOLDER = re.compile(r"\[(?:NIK|KK|TELEPON|EMAIL|REKENING|NAMA)\]")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(complaint_like)
def test_normalize_never_crashes(text: str) -> None:
    result = normalize(text, directory=DIRECTORY, gazetteer=GAZETTEER, now=NOW)
    assert result.original == text
    assert len(result.title) <= TITLE_MAX_CHARS
    assert len(result.agencies) <= 3


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(complaint_like)
def test_masked_text_never_shows_a_detected_span(text: str) -> None:
    result = find_pii(text)
    # What is left between the placeholders is the original's unmasked text.
    visible = _PLACEHOLDER.split(result.masked_text)
    for span in result.spans:
        assert text[span.start : span.end] == span.text
        for piece in visible:
            if span.kind == NAMA:
                # A name is only a name as a whole word ("Ani" inside "Anita" is not her).
                pattern = r"(?<![^\W\d_])" + re.escape(span.text) + r"(?![^\W\d_])"
                assert not re.search(pattern, piece), (span, piece)
            else:
                assert span.text not in piece, (span, piece)


@settings(max_examples=200, deadline=None)
@given(complaint_like)
def test_parts_are_total_and_idempotent(text: str) -> None:
    clean = clean_text(text)
    assert clean_text(clean.text).text == clean.text
    make_title(text)
    find_places(text, GAZETTEER)
    assert signature(clean) == signature(clean_text(clean.text))


def test_huge_inputs() -> None:
    for text in ("a" * 100_000, "9" * 100_000, "😡" * 50_000, "nama saya " * 20_000, ""):
        result = normalize(text, directory=DIRECTORY, gazetteer=GAZETTEER, now=NOW)
        assert result.truncated == (len(text) > 20_000)
