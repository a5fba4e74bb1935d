"""The simulator's tiny web pages, in Indonesian: a person plays the LAPOR! admin and agency, the
national admin, and the citizen.

Admin pages: list reports, open one, verify, dispose, mark in process, answer (with an optional
photo), close, archive or return; switch faults for a demo. A report's history also shows what
the regency did through the gateway (its follow-ups, with their photos as images; questions to
the reporter, returns). A citizen's report waits at the national admin until someone clicks
"Disposisikan ke pemda" on its page.

Citizen pages (`/warga`): file a report directly in LAPOR! (text, class, location, a photo, the
channel it stands for: web, app, SMS 1708), then follow it on its own page and answer a question
the regency asked through LAPOR!.

Every value is escaped by Jinja2's autoescape. There is no login: the simulator is a local demo
tool bound to 127.0.0.1.
"""

from __future__ import annotations

import io
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import APIRouter, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from PIL import Image, UnidentifiedImageError
from pydantic import ValidationError

from forwarder.simulator.api import CitizenReportIn, CoreDep, ReportIn
from forwarder.simulator.core import (
    GATEWAY_ACTOR,
    NATIONAL_ACTOR,
    REPORTER_ACTOR,
    FaultMode,
    ReportNotFound,
)
from forwarder.simulator.lifecycle import (
    ACTION_LABELS,
    CITIZEN_CHANNELS,
    KIND_ANSWER,
    KIND_CLOSED,
    KIND_INCOMING,
    KIND_REPORTER_REPLY,
    STATUS_LABELS,
    Action,
    SimStatus,
    TransitionError,
    allowed_actions,
)
from forwarder.simulator.store import StoredEvent

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
MEDIA_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")
WIB = ZoneInfo("Asia/Jakarta")

CATEGORY_LABELS = {
    "pengaduan": "Pengaduan",
    "aspirasi": "Aspirasi",
    "permintaan_informasi": "Permintaan Informasi",
    "pengaduan_berkadar_pengawasan": "Pengaduan Berkadar Pengawasan",
}
# LAPOR!'s "kategori" (topic) choices on the citizen's form: a short list is enough for a demo.
TOPICS = (
    "Infrastruktur",
    "Lingkungan Hidup",
    "Kesehatan",
    "Pendidikan",
    "Administrasi Kependudukan",
    "Perhubungan",
    "Sosial",
    "Lainnya",
)
FORM_TOKEN = re.compile(r"^[0-9a-f]{32}$")
# What the citizen's form says when a field is wrong (the model's field -> Indonesian text).
FORM_ERRORS = {
    "title": "Judul laporan terlalu panjang (maksimal 300 huruf).",
    "description": "Isi laporan wajib diisi (maksimal 20.000 huruf).",
    "category": "Pilih klasifikasi laporan.",
    "topic": "Pilih kategori laporan.",
    "source_channel": "Pilih kanal laporan.",
    "location_text": "Lokasi terlalu panjang (maksimal 500 huruf).",
    "latitude": "Koordinat tidak valid (lintang -90 sampai 90).",
    "longitude": "Koordinat tidak valid (bujur -180 sampai 180).",
    "kecamatan": "Nama kecamatan terlalu panjang.",
    "kelurahan": "Nama desa/kelurahan terlalu panjang.",
    "reporter_name": "Nama terlalu panjang.",
    "reporter_contact": "Kontak terlalu panjang.",
}

FAULT_LABELS = {
    FaultMode.NONE: "Normal",
    FaultMode.UNAVAILABLE: "API mati (503)",
    FaultMode.TIMEOUT_AFTER_ACCEPT: "Terima laporan lalu tidak menjawab (timeout)",
}


def _local_time(value: str | None) -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")


def _http_url(value: str) -> str:
    # Attachment URLs come from the submitter; escaping alone would still allow javascript:.
    return value if value.lower().startswith(("http://", "https://")) else "#"


def _who(event: StoredEvent) -> str:
    """Who caused an event, as the history shows it."""
    if event.origin_key or event.actor == GATEWAY_ACTOR:
        agency_side = event.kind in (KIND_ANSWER, KIND_CLOSED) or event.status == "in_process"
        return "Instansi" if agency_side else "Admin pemda"
    return {NATIONAL_ACTOR: "Admin nasional", REPORTER_ACTOR: "Pelapor"}.get(
        event.actor, event.actor
    )


def _what(event: StoredEvent) -> str:
    """What an event means, in words, before its own text."""
    if event.kind == KIND_INCOMING:
        return "Didisposisikan ke pemda oleh admin nasional."
    if event.kind == KIND_REPORTER_REPLY:
        return "Tanggapan pelapor:"
    if event.status == SimStatus.PENDING.value:
        return "Pertanyaan untuk pelapor:"
    if event.status == SimStatus.RETURNED.value:
        return "Dikembalikan ke admin nasional (bukan wewenang):"
    if event.kind == "disposition" and event.actor == NATIONAL_ACTOR:
        return "Didisposisikan ulang ke pemda oleh admin nasional."
    return ""


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every value on these pages came from outside
        undefined=jinja2.StrictUndefined,
    )
    env.filters["waktu"] = _local_time
    env.filters["http_url"] = _http_url
    env.globals.update(
        STATUS_LABELS={s.value: label for s, label in STATUS_LABELS.items()},
        ACTION_LABELS={a.value: label for a, label in ACTION_LABELS.items()},
        FAULT_LABELS={m.value: label for m, label in FAULT_LABELS.items()},
        CATEGORY_LABELS=CATEGORY_LABELS,
        CHANNEL_LABELS=CITIZEN_CHANNELS,
        TOPICS=TOPICS,
        who=_who,
        what=_what,
    )
    return env


templates = Jinja2Templates(env=_environment())
_BLANK_REPORT: dict[str, Any] = (
    {name: None for name in ReportIn.model_fields}
    | {name: None for name in CitizenReportIn.model_fields}
    | {"attachments": []}
)


def _shown(payload: dict[str, Any]) -> dict[str, Any]:
    """A stored payload with every field present (a report from `CoreSimulator.submit` may
    omit some), so the templates can stay strict about names."""
    return _BLANK_REPORT | payload


router = APIRouter(include_in_schema=False)


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, core: CoreDep, status: str | None = None) -> HTMLResponse:
    chosen = SimStatus(status) if status in set(SimStatus) else None
    return _page(
        request,
        "index.html",
        reports=[(r, _shown(r.payload)) for r in core.store.list_reports(chosen, limit=200)],
        chosen=chosen.value if chosen else "",
        statuses=[s.value for s in SimStatus],
        faults=core.faults.as_dict(),
        fault_modes=[m.value for m in FaultMode],
        push=core.store.push_counts() if core.push_url else None,
    )


def _detail(
    request: Request, core: CoreDep, core_id: str, message: str = "", status_code: int = 200
) -> HTMLResponse:
    try:
        report = core.get(core_id)
    except ReportNotFound:
        raise HTTPException(404, "Laporan tidak ditemukan") from None
    return _page(
        request,
        "report.html",
        status_code=status_code,
        report=report,
        data=_shown(report.payload),
        events=core.store.events_of(core_id),
        feedback=core.store.feedback_of(core_id),
        actions=[a.value for a in allowed_actions(report.status)] if report.at_regency else [],
        question=core.open_question(core_id),
        message=message,
    )


@router.get("/laporan/{core_id}", response_class=HTMLResponse)
async def report_page(
    request: Request, core_id: str, core: CoreDep, pesan: str = ""
) -> HTMLResponse:
    return _detail(request, core, core_id, message=pesan[:200])


class PhotoRejected(Exception):
    """The uploaded file is not a photo we keep; the message is shown to the person."""


async def _store_photo(request: Request, core: CoreDep, photo: UploadFile) -> dict[str, str]:
    data = await photo.read(PHOTO_MAX_BYTES + 1)
    if len(data) > PHOTO_MAX_BYTES:
        raise PhotoRejected("Foto terlalu besar (maksimal 5 MB).")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise PhotoRejected("Berkas bukan foto JPEG, PNG atau WebP.") from None
    if kind not in PHOTO_TYPES:
        raise PhotoRejected("Berkas bukan foto JPEG, PNG atau WebP.")
    extension, content_type = PHOTO_TYPES[kind]
    name = f"{secrets.token_hex(16)}.{extension}"
    (core.media_dir / name).write_bytes(data)
    original = Path(photo.filename or "").name[:100] or name
    return {
        "url": str(request.url_for("media", name=name)),
        "filename": original,
        "content_type": content_type,
    }


@router.post("/laporan/{core_id}/aksi", response_model=None)
async def report_action(
    request: Request,
    core_id: str,
    core: CoreDep,
    action: Annotated[str, Form()],
    text: Annotated[str, Form()] = "",
    agency_code: Annotated[str, Form()] = "",
    photo: UploadFile | None = None,
) -> Response:
    if action not in set(Action):
        return _detail(request, core, core_id, "Aksi tidak dikenal.", 422)
    chosen = Action(action)
    if chosen is Action.ANSWER and not text.strip():
        return _detail(request, core, core_id, "Isi jawaban wajib diisi.", 422)
    try:
        attachments = []
        if chosen is Action.ANSWER and photo is not None and photo.filename:
            attachments.append(await _store_photo(request, core, photo))
        core.act(
            core_id,
            chosen,
            text=text or None,
            agency_code=agency_code or None,
            attachments=attachments,
            actor="web",
        )
    except ReportNotFound:
        raise HTTPException(404, "Laporan tidak ditemukan") from None
    except TransitionError:
        return _detail(request, core, core_id, "Aksi ini tidak berlaku untuk status sekarang.", 409)
    except PhotoRejected as exc:
        return _detail(request, core, core_id, str(exc), 422)
    url = request.url_for("report_page", core_id=core_id).include_query_params(
        pesan=f"{ACTION_LABELS[chosen]}: berhasil."
    )
    return RedirectResponse(str(url), status_code=303)


@router.post("/laporan/{core_id}/pemda", response_model=None)
async def dispose_to_regency(
    request: Request,
    core_id: str,
    core: CoreDep,
    agency_code: Annotated[str, Form()] = "",
) -> Response:
    """The national admin's "Disposisikan ke pemda" (to an agency of it, optionally)."""
    try:
        core.dispose_to_regency(core_id, agency_code[:50] or None)
    except ReportNotFound:
        raise HTTPException(404, "Laporan tidak ditemukan") from None
    except TransitionError:
        refused = "Laporan ini tidak bisa didisposisikan ke pemda."
        return _detail(request, core, core_id, refused, 409)
    url = request.url_for("report_page", core_id=core_id).include_query_params(
        pesan="Didisposisikan ke pemda: berhasil."
    )
    return RedirectResponse(str(url), status_code=303)


# --- the citizen's side -------------------------------------------------------------------------


def _citizen_form(
    request: Request, values: dict[str, Any], message: str = "", status_code: int = 200
) -> HTMLResponse:
    return _page(
        request,
        "citizen_form.html",
        status_code=status_code,
        values=values,
        message=message,
        categories=CATEGORY_LABELS,
        channels=CITIZEN_CHANNELS,
    )


@router.get("/warga", response_class=HTMLResponse)
async def citizen_form(request: Request) -> HTMLResponse:
    """The citizen files a report in LAPOR! itself."""
    blank = {name: None for name in CitizenReportIn.model_fields}
    return _citizen_form(
        request,
        blank | {"token": secrets.token_hex(16), "category": "pengaduan", "source_channel": "web"},
    )


def _coordinate(text: str) -> float | str | None:
    """A typed coordinate: a number, None when empty, the text itself when it is no number."""
    cleaned = text.strip().replace(",", ".")
    if not cleaned:
        return None
    try:
        return float(cleaned)
    except ValueError:
        return text


@router.post("/warga", response_model=None)
async def file_citizen_report(
    request: Request,
    core: CoreDep,
    token: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    topic: Annotated[str, Form()] = "",
    source_channel: Annotated[str, Form()] = "web",
    location_text: Annotated[str, Form()] = "",
    kecamatan: Annotated[str, Form()] = "",
    kelurahan: Annotated[str, Form()] = "",
    latitude: Annotated[str, Form()] = "",
    longitude: Annotated[str, Form()] = "",
    reporter_name: Annotated[str, Form()] = "",
    reporter_contact: Annotated[str, Form()] = "",
    anonim: Annotated[str, Form()] = "",
    rahasia: Annotated[str, Form()] = "",
    photo: UploadFile | None = None,
) -> Response:
    values: dict[str, Any] = {
        "token": token,
        "title": title.strip(),
        "description": description.strip(),
        "category": category,
        "topic": topic.strip() or None,
        "source_channel": source_channel,
        "location_text": location_text.strip() or None,
        "kecamatan": kecamatan.strip() or None,
        "kelurahan": kelurahan.strip() or None,
        "latitude": _coordinate(latitude),
        "longitude": _coordinate(longitude),
        "reporter_name": reporter_name.strip() or None,
        "reporter_contact": reporter_contact.strip() or None,
        "anonim": bool(anonim),
        "rahasia": bool(rahasia),
    }
    if not FORM_TOKEN.fullmatch(token):
        values["token"] = secrets.token_hex(16)
        return _citizen_form(request, values, "Formulir kedaluwarsa; kirim sekali lagi.", 422)
    try:
        report = CitizenReportIn.model_validate(values)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else ""
        return _citizen_form(request, values, FORM_ERRORS.get(field, "Isian tidak valid."), 422)
    if (report.latitude is None) != (report.longitude is None):
        half = "Isi lintang dan bujur, atau kosongkan keduanya."
        return _citizen_form(request, values, half, 422)
    payload = report.model_dump(mode="json")
    try:
        if photo is not None and photo.filename:
            payload["attachments"] = [await _store_photo(request, core, photo)]
    except PhotoRejected as exc:
        return _citizen_form(request, values, str(exc), 422)
    stored, _created = core.file_report(f"citizen:{token}", payload)
    url = request.url_for("citizen_report", core_id=stored.core_id).include_query_params(
        pesan=f"Laporan terkirim. Nomor laporan Anda: #{stored.core_id}."
    )
    return RedirectResponse(str(url), status_code=303)


def _citizen_page(
    request: Request, core: CoreDep, core_id: str, message: str = "", status_code: int = 200
) -> HTMLResponse:
    try:
        report = core.get(core_id)
    except ReportNotFound:
        raise HTTPException(404, "Laporan tidak ditemukan") from None
    return _page(
        request,
        "citizen_report.html",
        status_code=status_code,
        report=report,
        data=_shown(report.payload),
        events=core.store.events_of(core_id),
        question=core.open_question(core_id),
        message=message,
    )


@router.get("/warga/laporan/{core_id}", response_class=HTMLResponse)
async def citizen_report(
    request: Request, core_id: str, core: CoreDep, pesan: str = ""
) -> HTMLResponse:
    """The citizen follows their report, as LAPOR! shows it to them."""
    return _citizen_page(request, core, core_id, message=pesan[:200])


@router.post("/warga/laporan/{core_id}/tanggapan", response_model=None)
async def citizen_reply(
    request: Request,
    core_id: str,
    core: CoreDep,
    text: Annotated[str, Form()] = "",
    photo: UploadFile | None = None,
) -> Response:
    """The citizen answers the question the regency asked through LAPOR!."""
    if not text.strip():
        return _citizen_page(request, core, core_id, "Tanggapan wajib diisi.", 422)
    if len(text) > 20000:
        return _citizen_page(request, core, core_id, "Tanggapan terlalu panjang.", 422)
    try:
        attachments = []
        if photo is not None and photo.filename:
            attachments.append(await _store_photo(request, core, photo))
        core.reporter_reply(core_id, text, attachments)
    except ReportNotFound:
        raise HTTPException(404, "Laporan tidak ditemukan") from None
    except TransitionError:
        nothing = "Tidak ada pertanyaan yang perlu dijawab."
        return _citizen_page(request, core, core_id, nothing, 409)
    except PhotoRejected as exc:
        return _citizen_page(request, core, core_id, str(exc), 422)
    url = request.url_for("citizen_report", core_id=core_id).include_query_params(
        pesan="Tanggapan terkirim."
    )
    return RedirectResponse(str(url), status_code=303)


@router.post("/gangguan")
async def set_fault(
    request: Request,
    core: CoreDep,
    mode: Annotated[str, Form()],
    remaining: Annotated[str, Form()] = "",
) -> RedirectResponse:
    if mode not in set(FaultMode):
        raise HTTPException(422, "Mode gangguan tidak dikenal")
    count = int(remaining) if remaining.strip().isdigit() and int(remaining) > 0 else None
    core.set_faults(FaultMode(mode), count)
    return RedirectResponse(str(request.url_for("index")), status_code=303)


@router.get("/media/{name}", name="media")
async def media(name: str, core: CoreDep) -> FileResponse:
    if not MEDIA_NAME.fullmatch(name) or not (core.media_dir / name).is_file():
        raise HTTPException(404, "Berkas tidak ditemukan")
    return FileResponse(core.media_dir / name)
