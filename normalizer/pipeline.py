"""One call that turns a complaint text into everything an admin needs at a glance.

`normalize()` runs the cleaning, personal-data masking, place finding, class and agency
suggestions and the duplicate signature, and returns one frozen `NormalizedComplaint` for the
gateway to store. It is pure: the gateway loads the data (directory, gazetteer, trained router)
once and passes them in; `now` is passed in too, so the result depends on the arguments alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from normalizer.classify import ClassRules, ClassSuggestion, classify
from normalizer.dedup import DedupSignature, signature
from normalizer.location import Gazetteer, PlaceMatch, PlaceRules, find_places, place_from_pin
from normalizer.not_report import NotReportRules, NotReportSuggestion, not_a_report
from normalizer.pii import PiiRules, PiiSpan, find_pii, without_identity
from normalizer.routing import AgencyDirectory, AgencyRouter, AgencySuggestion
from normalizer.text import Lexicon, clean_text, default_lexicon
from normalizer.title import make_title

# A class suggestion this sure is passed to routing as a hint (see class_hints in routing.yaml).
CLASS_HINT_CONFIDENCE = 0.5


class Pin(Protocol):
    """A location pin; `channels.base.Location` has this shape (the normalizer may not import
    channels, so it asks only for the attributes)."""

    @property
    def latitude(self) -> float | None: ...

    @property
    def longitude(self) -> float | None: ...

    @property
    def label(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class NormalizedComplaint:
    """The normalizer's whole result for one complaint.

    `masked_text` is the original with personal data replaced; `masked_clean_text` is the clean
    text with personal data replaced — what the gateway stores as the text it forwards and
    publishes (see gateway/complaints/disclosure.py). `title` is made from it, so it never shows
    personal data. `pii` spans index
    into `original`. `truncated` says the text was longer than the normalizer reads
    (`normalizer.text.MAX_CHARS`): the clean and masked texts then cover only its beginning.
    `not_report` is set when the message looks like no report at all (spam, a promotion,
    chit-chat, a joke): the inbox offers it for archiving ("arsipkan"); the admin decides.
    """

    original: str
    clean_text: str
    title: str
    masked_text: str
    masked_clean_text: str
    pii: tuple[PiiSpan, ...]
    place: PlaceMatch | None
    coordinates: tuple[float, float] | None
    classes: tuple[ClassSuggestion, ...]
    agencies: tuple[AgencySuggestion, ...]
    signature: DedupSignature
    urls: tuple[str, ...]
    truncated: bool
    normalized_at: datetime
    not_report: NotReportSuggestion | None = None

    @property
    def suggested_class(self) -> ClassSuggestion:
        return self.classes[0]

    @property
    def suggested_agency(self) -> AgencySuggestion | None:
        return self.agencies[0] if self.agencies else None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601) for storing or showing."""
        data = dataclasses.asdict(self)
        data["normalized_at"] = self.normalized_at.isoformat()
        return data


def normalize(
    text: str,
    *,
    location: Pin | None = None,
    directory: AgencyDirectory,
    gazetteer: Gazetteer,
    router: AgencyRouter | None = None,
    now: datetime,
    lexicon: Lexicon | None = None,
    pii_rules: PiiRules | None = None,
    place_rules: PlaceRules | None = None,
    class_rules: ClassRules | None = None,
    not_report_rules: NotReportRules | None = None,
    max_agencies: int = 3,
) -> NormalizedComplaint:
    """Normalise one complaint. `router` is a trained `AgencyRouter`; without one, agencies are
    suggested from the directory's keywords alone."""
    lexicon = lexicon or default_lexicon()
    clean = clean_text(text, lexicon)
    personal = find_pii(text, pii_rules)
    masked_clean = clean_text(personal.masked_text, lexicon) if personal.spans else clean
    # What the complaint is about, without who wrote it ("NIK [NIK]" is no Dukcapil case).
    about = clean_text(without_identity(personal.masked_text), lexicon) if personal.spans else clean
    coordinates = _coordinates(location)
    place = find_places(clean, gazetteer, place_rules)
    if place is None and location is not None and location.label:
        place = find_places(location.label, gazetteer, place_rules)
    if place is None and coordinates is not None:
        place = place_from_pin(coordinates[0], coordinates[1], gazetteer)
    router = router or AgencyRouter(directory, lexicon=lexicon)
    classes = classify(clean, class_rules)
    confident_class = classes[0].cls if classes[0].confidence >= CLASS_HINT_CONFIDENCE else None
    return NormalizedComplaint(
        original=text,
        clean_text=clean.text,
        title=make_title(masked_clean, lexicon),
        masked_text=personal.masked_text,
        masked_clean_text=masked_clean.text,
        pii=personal.spans,
        place=place,
        coordinates=coordinates,
        classes=classes,
        # Routing and signatures read the masked text: a reporter's name is no evidence.
        agencies=tuple(router.suggest(about, k=max_agencies, class_hint=confident_class)),
        signature=signature(masked_clean, lexicon),
        urls=clean.urls,
        truncated=clean.truncated,
        normalized_at=now,
        not_report=not_a_report(clean, classes, directory, rules=not_report_rules),
    )


def _coordinates(location: Pin | None) -> tuple[float, float] | None:
    if location is None or location.latitude is None or location.longitude is None:
        return None
    lat, lon = float(location.latitude), float(location.longitude)
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None  # NaN fails these comparisons too
    return (lat, lon)


__all__: Sequence[str] = ("NormalizedComplaint", "Pin", "normalize")
