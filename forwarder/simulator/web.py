"""The simulator's tiny web page, in Indonesian: a person plays the LAPOR! admin and agency.

List reports, open one, verify, dispose, mark in process, answer (with an optional photo),
close, archive or return; switch faults for a demo. A report's history also shows what the
agency did through the gateway (its follow-ups, with their photos as images). Every value is
escaped by Jinja2's autoescape. There is no login: the simulator is a local demo tool bound to
127.0.0.1.
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

from forwarder.simulator.api import CoreDep, ReportIn
from forwarder.simulator.core import FaultMode, ReportNotFound
from forwarder.simulator.lifecycle import (
    ACTION_LABELS,
    STATUS_LABELS,
    Action,
    SimStatus,
    TransitionError,
    allowed_actions,
)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
MEDIA_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")
WIB = ZoneInfo("Asia/Jakarta")

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
    )
    return env


templates = Jinja2Templates(env=_environment())
_BLANK_REPORT: dict[str, Any] = {name: None for name in ReportIn.model_fields} | {"attachments": []}


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
        actions=[a.value for a in allowed_actions(report.status)],
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
