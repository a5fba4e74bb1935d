"""The manual backend: for regencies whose admins have no SP4N-LAPOR! API access.

Nothing is sent anywhere. `submit` raises `ManualSubmissionRequired` carrying a `ManualTask`:
the paste text (one click copies it into LAPOR!'s "Isi Laporan") and the single fields for
LAPOR!'s form, built from the report with the labels in `config/core_manual.yaml`. The admin
files the report on the LAPOR! website and types the tracking id back; `parse_tracking_id`
checks it. Answers the admin reads in LAPOR! are typed or pasted into the gateway and become
ordinary `CoreEvent`s through `manual_event`, so they travel the same path as polled or pushed
events.

The other way round, what a liaison officer does in the gateway ("sedang diproses", the answer
with its proof photos) and the gateway's closes raise `ManualSubmissionRequired` too, with a
`ManualTask` whose `text` is ready to paste into LAPOR!'s follow-up box (`followup_task`); the
admin pastes it, uploads the photos, and says so on the complaint page. So do the regency
admin's SOP actions on a report (verify, dispose to an agency, return to the national admin,
archive, ask the reporter): their task adds the step to click in LAPOR! (`followup_steps`).

Reports citizens filed in LAPOR! itself reach the gateway the same way: the admin copies the
report's page and pastes it; `read_pasted` turns it into an `IncomingReport` (forwarder/pasted.py
describes the layouts it reads) or says, in the admin's language, what is missing.

Why an exception rather than a placeholder `CoreRef`: a fake reference would look like a real
tracking id to every caller; an exception that is neither `CoreUnavailable` (retry) nor
`CoreRejected` (dead letter) makes the outbox park the row until the admin acts.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import jinja2
import yaml

from forwarder.base import (
    CoreAttachment,
    CoreClient,
    CoreEvent,
    CoreEventKind,
    CoreReceipt,
    CoreRef,
    CoreReport,
    CoreUpdates,
    FollowupKind,
    IncomingReport,
    ManualTask,
)
from forwarder.pasted import PastedReportError, parse_pasted_report

if TYPE_CHECKING:
    from config.settings import Settings

DEFAULT_ID_PATTERN = r"\d{5,12}"
# The status a report has on LAPOR! right after an admin filed it by hand.
MANUAL_INITIAL_STATUS = "Belum Terverifikasi"
_LABEL_KEYS = [
    "title",
    "description",
    "category",
    "agency",
    "location",
    "kelurahan",
    "kecamatan",
    "coordinates",
    "received_at",
    "source_channel",
    "tracking_code",
    "reporter",
    "contact",
    "anonim",
    "rahasia",
    "attachments",
]

# Used only when a deployment's own core_manual.yaml predates follow-ups.
_FOLLOWUP_LABELS = {
    FollowupKind.PROGRESS.value: "Tindak lanjut: sedang diproses",
    FollowupKind.ANSWER.value: "Tindak lanjut: jawaban instansi",
    FollowupKind.CLOSE.value: "Tutup laporan",
    FollowupKind.VERIFY.value: "Catatan verifikasi",
    FollowupKind.DISPOSE.value: "Catatan disposisi",
    FollowupKind.RETURN.value: "Alasan dikembalikan (bukan wewenang)",
    FollowupKind.ARCHIVE.value: "Alasan diarsipkan",
    FollowupKind.ASK.value: "Pertanyaan untuk pelapor",
    "report": "Nomor laporan SP4N-LAPOR!",
    "attachments": "Foto bukti",
    "agency": "Instansi tujuan",
    "steps": "Langkah di LAPOR!",
}
_FOLLOWUP_STEPS = {
    FollowupKind.VERIFY.value: "Buka laporan {core_id} di LAPOR!, lalu klik Verifikasi.",
    FollowupKind.DISPOSE.value: "Buka laporan {core_id} di LAPOR!, lalu disposisikan ke {agency}.",
    FollowupKind.RETURN.value: "Buka laporan {core_id} di LAPOR!, klik Kembalikan (bukan"
    " wewenang), lalu tempel alasannya.",
    FollowupKind.ARCHIVE.value: "Buka laporan {core_id} di LAPOR!, klik Arsipkan, lalu tempel"
    " alasannya.",
    FollowupKind.ASK.value: "Buka laporan {core_id} di LAPOR!, lalu kirim pertanyaan ini kepada"
    " pelapor.",
}
_PASTE_ERRORS = {
    "empty": "Tempel teks halaman laporan LAPOR! terlebih dahulu.",
    "too_long": "Teks yang ditempel terlalu panjang.",
    "no_tracking_id": "ID tracking LAPOR! tidak ditemukan dalam teks yang ditempel.",
    "no_text": "Isi laporan tidak ditemukan dalam teks yang ditempel.",
}

AgencyNames = Callable[[str], str | None]


class ManualSubmissionRequired(Exception):
    """No API: an admin must file this report on the LAPOR! website (see `task`)."""

    def __init__(self, task: ManualTask) -> None:
        super().__init__(f"manual submission to SP4N-LAPOR! needed ({task.idempotency_key})")
        self.task = task


class InvalidPastedReport(ValueError):
    """The pasted text is not a LAPOR! report we can read; `message` is for the admin."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class InvalidTrackingId(ValueError):
    """What the admin typed is not a LAPOR! tracking id; `message` is for the admin."""

    def __init__(self, typed: str, message: str) -> None:
        super().__init__(message)
        self.typed = typed
        self.message = message


@dataclass(frozen=True)
class ManualTexts:
    """One language of `config/core_manual.yaml`."""

    labels: Mapping[str, str]
    categories: Mapping[str, str]
    channels: Mapping[str, str]
    yes: str
    no: str
    time_format: str
    invalid_tracking_id: str
    template: jinja2.Template
    timezone: ZoneInfo
    # kind of follow-up (progress, answer, close, verify ...), "report", "attachments",
    # "agency" and "steps" -> label
    followup_labels: Mapping[str, str]
    # kind of the regency admin's action -> what to click in LAPOR! ({core_id}, {agency})
    followup_steps: Mapping[str, str]
    # why a paste is unreadable (forwarder.pasted.PastedReportError.reason) -> the message
    paste_errors: Mapping[str, str]

    @classmethod
    def load(
        cls, path: str | Path, language: str = "id", timezone: str = "Asia/Jakarta"
    ) -> ManualTexts:
        return _load_texts(str(path), language, timezone)


@lru_cache(maxsize=8)
def _load_texts(path: str, language: str, timezone: str) -> ManualTexts:
    data = yaml.safe_load(Path(path).read_text("utf-8"))
    if language not in data:
        language = "id"  # Indonesian is the default every deployment has
    texts: dict[str, Any] = data[language]
    missing = [key for key in _LABEL_KEYS if key not in texts.get("labels", {})]
    if missing:
        raise ValueError(f"{path}: labels missing for {language}: {', '.join(missing)}")
    # Plain text for a textarea and the clipboard: the gateway's page escapes it when shown.
    env = jinja2.Environment(autoescape=False, keep_trailing_newline=False)  # noqa: S701
    return ManualTexts(
        labels=dict(texts["labels"]),
        categories=dict(texts.get("categories", {})),
        channels=dict(texts.get("channels", {})),
        yes=str(texts["yes"]),
        no=str(texts["no"]),
        time_format=str(texts.get("time_format", "%d-%m-%Y %H:%M")),
        invalid_tracking_id=str(texts["invalid_tracking_id"]),
        template=env.from_string(texts["template"]),
        timezone=ZoneInfo(timezone),
        followup_labels={**_FOLLOWUP_LABELS, **texts.get("followup_labels", {})},
        followup_steps={**_FOLLOWUP_STEPS, **texts.get("followup_steps", {})},
        paste_errors={**_PASTE_ERRORS, **texts.get("paste_errors", {})},
    )


def _values(report: CoreReport, texts: ManualTexts, agency_name: str | None) -> dict[str, Any]:
    """The report's values as a person reads them (labels of codes, local time)."""
    location = ", ".join(
        part
        for part in (
            report.location_text,
            f"{texts.labels['kelurahan']} {report.kelurahan}" if report.kelurahan else None,
            f"{texts.labels['kecamatan']} {report.kecamatan}" if report.kecamatan else None,
        )
        if part
    )
    coordinates = (
        f"{report.latitude:.6f}, {report.longitude:.6f}"
        if report.latitude is not None and report.longitude is not None
        else ""
    )
    agency = ""
    if report.agency_code:
        agency = f"{agency_name} ({report.agency_code})" if agency_name else report.agency_code
    received = report.received_at
    if received.tzinfo is None:
        received = received.replace(tzinfo=UTC)
    return {
        "title": report.title.strip(),
        "description": report.description.strip(),
        "category": texts.categories.get(report.category, report.category),
        "agency": agency,
        "location": location,
        "coordinates": coordinates,
        "received_at": received.astimezone(texts.timezone).strftime(texts.time_format).strip(),
        "source_channel": texts.channels.get(report.source_channel, report.source_channel),
        "tracking_code": report.tracking_code,
        # An anonymous report reaches us without personal data; say nothing rather than "None".
        "reporter": "" if report.anonim else (report.reporter_name or ""),
        "contact": "" if report.anonim else (report.reporter_contact or ""),
        "anonim": texts.yes if report.anonim else texts.no,
        "rahasia": texts.yes if report.rahasia else texts.no,
        "attachments": [a.url for a in report.attachments],
    }


def paste_text(report: CoreReport, texts: ManualTexts, agency_name: str | None = None) -> str:
    """The whole report as one text to paste into LAPOR! (rendered from the config template)."""
    rendered = texts.template.render(labels=texts.labels, **_values(report, texts, agency_name))
    # Template conditionals leave blank lines behind; keep at most one in a row.
    return re.sub(r"\n{3,}", "\n\n", rendered).strip() + "\n"


def paste_fields(
    report: CoreReport, texts: ManualTexts, agency_name: str | None = None
) -> dict[str, str]:
    """Label → value for each LAPOR! form field that has a value, in form order."""
    values = _values(report, texts, agency_name)
    order = [
        "title",
        "description",
        "category",
        "agency",
        "location",
        "coordinates",
        "anonim",
        "rahasia",
        "reporter",
        "contact",
        "attachments",
        "source_channel",
        "received_at",
        "tracking_code",
    ]
    fields = {}
    for key in order:
        value = values[key]
        if isinstance(value, list):
            value = "\n".join(value)
        if value:
            fields[texts.labels[key]] = str(value)
    return fields


def build_manual_task(
    report: CoreReport, idempotency_key: str, texts: ManualTexts, agency_name: str | None = None
) -> ManualTask:
    return ManualTask(
        idempotency_key=idempotency_key,
        text=paste_text(report, texts, agency_name),
        fields=paste_fields(report, texts, agency_name),
    )


def build_followup_task(
    kind: FollowupKind,
    core_id: str | None,
    text: str,
    attachments: tuple[CoreAttachment, ...],
    idempotency_key: str,
    texts: ManualTexts,
    agency: str | None = None,
) -> ManualTask:
    """A follow-up ready to paste into LAPOR!: `text` is exactly what goes into the follow-up
    box (the answer, the reason, the question; empty for a verification without a note); the
    photos are links for the admin to download and upload there; a regency admin's action also
    says what to click (`agency`: the name and code a disposal goes to)."""
    labels = texts.followup_labels
    fields = {}
    if core_id:
        fields[labels["report"]] = core_id
    step = texts.followup_steps.get(kind.value)
    if step:
        fields[labels["steps"]] = step.format(core_id=core_id or "", agency=agency or "")
    if agency:
        fields[labels["agency"]] = agency
    if text.strip():
        fields[labels[kind.value]] = text.strip()
    if attachments:
        fields[labels["attachments"]] = "\n".join(a.url for a in attachments)
    pasted = text.strip() + "\n" if text.strip() else ""
    return ManualTask(idempotency_key=idempotency_key, text=pasted, fields=fields)


def parse_tracking_id(typed: str, pattern: str = DEFAULT_ID_PATTERN, message: str = "") -> str:
    """The LAPOR! tracking id in what an admin typed or pasted, or `InvalidTrackingId`.

    Forgiving about what copying adds (spaces, a leading '#'), strict about the rest: the whole
    remainder must match `pattern` (CORE_MANUAL_ID_PATTERN).
    """
    cleaned = re.sub(r"\s+", "", typed or "").lstrip("#")
    if not cleaned or not re.fullmatch(pattern, cleaned):
        raise InvalidTrackingId(typed, message or f"not a LAPOR! tracking id: {typed[:40]!r}")
    return cleaned


def manual_event(
    core_id: str,
    kind: CoreEventKind,
    *,
    entry_id: str | None = None,
    occurred_at: datetime | None = None,
    status: str | None = None,
    text: str | None = None,
    agency_code: str | None = None,
    attachments: tuple[CoreAttachment, ...] = (),
) -> CoreEvent:
    """An event the admin entered from LAPOR! (an answer, a status), as if the core sent it.

    Pass the admin form's one-time token as `entry_id`: a double-clicked form then yields the
    same event id, and the gateway applies it once.
    """
    return CoreEvent(
        event_id=f"manual-{entry_id or uuid.uuid4().hex}",
        core_id=core_id,
        kind=kind,
        occurred_at=occurred_at or datetime.now(UTC),
        status=status,
        text=text.strip() if text else None,
        agency_code=agency_code,
        attachments=attachments,
    )


def agency_names_from_file(path: str | Path) -> AgencyNames:
    """Look up agency names in a directory file shaped like config/agencies.yaml."""
    data = yaml.safe_load(Path(path).read_text("utf-8")) or {}
    agencies = data.get("agencies", [])
    names = {str(a["code"]): str(a["name"]) for a in agencies if "code" in a and "name" in a}
    return names.get


class ManualCoreClient(CoreClient):
    """`CoreClient` that asks a person instead of an API."""

    name = "manual"

    def __init__(
        self,
        texts: ManualTexts,
        id_pattern: str = DEFAULT_ID_PATTERN,
        agency_names: AgencyNames | None = None,
    ) -> None:
        self.texts = texts
        self.id_pattern = id_pattern
        self.agency_names = agency_names or (lambda code: None)

    @classmethod
    def from_settings(cls, settings: Settings, language: str | None = None) -> ManualCoreClient:
        texts = ManualTexts.load(
            settings.core_manual_template_file,
            language or settings.default_language,
            settings.timezone,
        )
        agency_names: AgencyNames | None = None
        if Path(settings.agency_directory_file).is_file():
            agency_names = agency_names_from_file(settings.agency_directory_file)
        return cls(texts, settings.core_manual_id_pattern, agency_names)

    def task_for(self, report: CoreReport, idempotency_key: str) -> ManualTask:
        name = self.agency_names(report.agency_code) if report.agency_code else None
        return build_manual_task(report, idempotency_key, self.texts, name)

    async def submit(self, report: CoreReport, idempotency_key: str) -> CoreRef:
        raise ManualSubmissionRequired(self.task_for(report, idempotency_key))

    def followup_task(
        self,
        kind: FollowupKind,
        core_id: str | None,
        text: str,
        attachments: tuple[CoreAttachment, ...],
        idempotency_key: str,
        agency_code: str | None = None,
    ) -> ManualTask:
        """The copy-ready task of any follow-up (`agency_code`: where a disposal goes)."""
        agency = None
        if agency_code:
            name = self.agency_names(agency_code)
            agency = f"{name} ({agency_code})" if name else agency_code
        return build_followup_task(
            kind, core_id, text, attachments, idempotency_key, self.texts, agency
        )

    async def progress(self, core_id: str, text: str, idempotency_key: str) -> CoreReceipt:
        task = self.followup_task(FollowupKind.PROGRESS, core_id, text, (), idempotency_key)
        raise ManualSubmissionRequired(task)

    async def answer(
        self,
        core_id: str,
        text: str,
        attachments: tuple[CoreAttachment, ...],
        idempotency_key: str,
    ) -> CoreReceipt:
        task = self.followup_task(FollowupKind.ANSWER, core_id, text, attachments, idempotency_key)
        raise ManualSubmissionRequired(task)

    async def close(self, core_id: str, reason: str, idempotency_key: str) -> CoreReceipt:
        task = self.followup_task(FollowupKind.CLOSE, core_id, reason, (), idempotency_key)
        raise ManualSubmissionRequired(task)

    # --- the regency admin's actions, as tasks ------------------------------------------------

    def _action(
        self, kind: FollowupKind, core_id: str, text: str, key: str, agency_code: str | None = None
    ) -> ManualSubmissionRequired:
        return ManualSubmissionRequired(
            self.followup_task(kind, core_id, text, (), key, agency_code)
        )

    async def verify(self, core_id: str, note: str, idempotency_key: str) -> CoreReceipt:
        raise self._action(FollowupKind.VERIFY, core_id, note, idempotency_key)

    async def dispose(
        self, core_id: str, agency_code: str, note: str, idempotency_key: str
    ) -> CoreReceipt:
        raise self._action(FollowupKind.DISPOSE, core_id, note, idempotency_key, agency_code)

    async def return_to_national(
        self, core_id: str, reason: str, idempotency_key: str
    ) -> CoreReceipt:
        raise self._action(FollowupKind.RETURN, core_id, reason, idempotency_key)

    async def archive(self, core_id: str, reason: str, idempotency_key: str) -> CoreReceipt:
        raise self._action(FollowupKind.ARCHIVE, core_id, reason, idempotency_key)

    async def ask_reporter(self, core_id: str, question: str, idempotency_key: str) -> CoreReceipt:
        raise self._action(FollowupKind.ASK, core_id, question, idempotency_key)

    # --- reports pasted from LAPOR! ----------------------------------------------------------

    def read_pasted(self, text: str, now: datetime | None = None) -> IncomingReport:
        """The LAPOR! report in the text an admin pasted (`InvalidPastedReport` with a message
        in the admin's language when it lacks the tracking id or the report's text). The same
        report pasted twice has the same `core_id`: the gateway keeps one complaint."""
        try:
            return parse_pasted_report(
                text,
                now=now or datetime.now(UTC),
                timezone_name=self.texts.timezone.key,
                id_pattern=self.id_pattern,
            )
        except PastedReportError as exc:
            raise InvalidPastedReport(exc.reason, self.texts.paste_errors[exc.reason]) from None

    def confirm(self, typed_tracking_id: str) -> CoreRef:
        """The `CoreRef` for the tracking id the admin typed (raises `InvalidTrackingId`)."""
        core_id = parse_tracking_id(
            typed_tracking_id, self.id_pattern, self.texts.invalid_tracking_id
        )
        return CoreRef(core_id=core_id, status=MANUAL_INITIAL_STATUS)

    async def find(self, idempotency_key: str) -> CoreRef | None:
        # Only the admin knows; the gateway records the id they typed.
        return None

    async def updates(self, since: str | None) -> CoreUpdates:
        # Nothing to poll: answers arrive through the admin (`manual_event`).
        return CoreUpdates(events=[], cursor=since, more=False)
