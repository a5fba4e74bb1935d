"""Enrichment: what the normalizer adds to a complaint — clean text, title, personal data with
its masked text, place, class and agency suggestions with reasons, and the duplicate signature.

The normalizer is pure; this module feeds it the deployment's data (the agency directory as
admins keep it in the database, the gazetteer, the routing model learned from past
dispositions) and stores its answer on the complaint in the shapes the admin inbox reads.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlmodel import Session, col

from gateway.clock import utcnow
from gateway.parts import Configured, Enriching, Stored
from gateway.store.models import Agency, Complaint, GatewayState
from normalizer.location import Gazetteer, load_gazetteer, place_parts
from normalizer.pipeline import NormalizedComplaint, normalize
from normalizer.routing import Agency as RoutingAgency
from normalizer.routing import AgencyDirectory, AgencyRouter

log = logging.getLogger(__name__)

MODEL_KEY = "routing.model"
IMPORT_CHANNEL = "import"  # gateway/intake/importer.CHANNEL: rows with an agency are labelled


@dataclass(frozen=True)
class _Pin:
    latitude: float | None
    longitude: float | None
    label: str | None


class Enricher:
    """Holds the normalizer's inputs; the directory and model are reloaded when they change."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self._lock = threading.Lock()
        self._directory_key: tuple[object, ...] | None = None
        self._model_stamp: object = None
        self.directory: AgencyDirectory | None = None
        self.router: AgencyRouter | None = None
        self.agency_ids: dict[str, int] = {}

    def refresh(self, session: Session) -> None:
        agencies = session.scalars(
            select(Agency).where(col(Agency.active).is_(True)).order_by(Agency.code)
        ).all()
        key = tuple((a.id, a.code, a.name, a.function_group, tuple(a.keywords)) for a in agencies)
        model = session.get(GatewayState, MODEL_KEY)
        stamp = model.updated_at if model else None
        with self._lock:
            if key == self._directory_key and stamp == self._model_stamp:
                return
            directory = AgencyDirectory(
                tuple(
                    RoutingAgency(a.code, a.name, a.function_group, tuple(a.keywords))
                    for a in agencies
                )
            )
            router = AgencyRouter(directory)
            if model is not None and model.value:
                try:
                    router = AgencyRouter.from_json(model.value, directory)
                except (ValueError, KeyError):
                    log.warning("stored routing model unreadable; keywords only")
            self.directory, self.router = directory, router
            self.agency_ids = {a.code: a.id for a in agencies}  # type: ignore[misc]
            self._directory_key, self._model_stamp = key, stamp

    def normalize(self, session: Session, complaint: Complaint) -> NormalizedComplaint:
        pin = None
        if complaint.latitude is not None or complaint.location_text:
            pin = _Pin(complaint.latitude, complaint.longitude, complaint.location_text)
        text = complaint.original_text
        if complaint.location_text and complaint.location_text not in text:
            text = f"{text}\n{complaint.location_text}"
        return self.normalize_text(session, text, pin)

    def normalize_text(
        self, session: Session, text: str, pin: _Pin | None = None
    ) -> NormalizedComplaint:
        """A text read as a complaint would be, without making one (e.g. a later message)."""
        self.refresh(session)
        assert self.directory is not None
        return normalize(
            text,
            location=pin,
            directory=self.directory,
            gazetteer=self.gazetteer,
            router=self.router,
            now=utcnow(),
        )


def make_enricher(gateway: Configured) -> Enricher:
    return Enricher(load_gazetteer(gateway.settings.gazetteer_file))


class Training(Stored, Protocol):
    """Retraining the router reaches into the enricher's directory (this module's own class)."""

    @property
    def enricher(self) -> Enricher: ...


def enrich(gateway: Enriching, session: Session, complaint: Complaint) -> NormalizedComplaint:
    """Fill the complaint's derived fields (the original text is never touched)."""
    enricher = gateway.enricher
    result = enricher.normalize(session, complaint)
    complaint.clean_text = result.clean_text
    complaint.title = result.title[:200]
    # What leaves the gateway is the clean text with personal data masked (gateway/disclosure).
    complaint.masked_text = result.masked_clean_text
    complaint.pii_spans = [
        {"kind": s.kind, "start": s.start, "end": s.end, "text": s.text} for s in result.pii
    ]
    complaint.dedup_signature = result.signature.text
    # Streets, dusun, RT/RW and landmarks, read from the masked text (what the gateway may keep
    # and show): another street or dusun keeps two similar complaints apart (dedup.judge()).
    complaint.place_parts = {
        name: values
        for name, values in place_parts(result.masked_clean_text).as_dict().items()
        if values
    }
    suggestion = result.not_report
    complaint.not_report = (
        {
            "kind": suggestion.kind,
            "label": suggestion.label,
            "strength": round(suggestion.strength, 3),
            "reason": suggestion.reason,
            "action": suggestion.action,
        }
        if suggestion is not None
        else {}
    )
    complaint.category_suggestions = [
        {"category": c.cls, "label": c.label, "score": round(c.confidence, 3), "reason": c.reason}
        for c in result.classes
    ]
    complaint.agency_suggestions = [
        {
            "code": a.code,
            "agency_id": enricher.agency_ids.get(a.code),
            "name": a.name,
            "score": round(a.score, 3),
            "reason": a.reason,
        }
        for a in result.agencies
    ]
    place = result.place
    if place is not None:
        complaint.place_suggestion = {
            "kecamatan": place.kecamatan,
            "kelurahan": place.village,
            "kind": place.village_kind,
            "score": round(place.score, 3),
            "matched": place.matched_text,
            "source": place.source,
            "candidates": list(place.candidates),
        }
        complaint.kecamatan = complaint.kecamatan or place.kecamatan
        complaint.kelurahan = complaint.kelurahan or place.village
    else:
        complaint.place_suggestion = {}
    return result


@dataclass(frozen=True)
class TrainingResult:
    """What the router learned from: admins' dispositions and labelled imported rows."""

    dispositions: int
    imports: int
    model_json: str
    learned_decides: bool

    @property
    def examples(self) -> int:
        return self.dispositions + self.imports


def train_router(gateway: Training) -> TrainingResult:
    """Retrain agency routing from every complaint an admin disposed (their choice is the
    label) and every imported row that came with an agency (`import-csv --agency-column`);
    store the model (JSON, never a pickle) so every instance uses it."""
    with gateway.db.session() as session:
        gateway.enricher.refresh(session)
        directory = gateway.enricher.directory
        assert directory is not None
        rows = session.execute(
            select(
                col(Complaint.masked_text),
                col(Complaint.clean_text),
                col(Complaint.origin_channel),
                col(Agency.code),
            )
            .join(Agency, col(Agency.id) == col(Complaint.agency_id))
            .where(
                col(Complaint.disposed_at).is_not(None)
                | (col(Complaint.origin_channel) == IMPORT_CHANNEL)
            )
        ).all()
        examples = [(row.masked_text or row.clean_text, row.code) for row in rows]
        imports = sum(1 for row in rows if row.origin_channel == IMPORT_CHANNEL)
        router = AgencyRouter(directory).train(examples)
        model = router.to_json().decode()
        state = session.get(GatewayState, MODEL_KEY) or GatewayState(key=MODEL_KEY)
        state.value = model
        state.updated_at = utcnow()
        session.add(state)
        session.commit()
    return TrainingResult(len(examples) - imports, imports, model, router.learned_decides)
