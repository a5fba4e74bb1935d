"""Manual entry (`/admin/entry`): a complaint that came by phone, at the desk or on a platform
the gateway does not read, recorded by a koordinator (see `gateway.intake.manual_entry`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from config.messages import t
from gateway.admin.sessions import flash
from gateway.api.admin_deps import CsrfForm, KoordinatorDep, form_text, page
from gateway.api.body import form_photos
from gateway.api.deps import GatewayDep
from gateway.api.pages import request_language
from gateway.intake import manual_entry

router = APIRouter(include_in_schema=False)

FIELDS = (
    "description",
    "name",
    "phone",
    "email",
    "location_text",
    "latitude",
    "longitude",
    "anonim",
    "rahasia",
    "source",
    "source_url",
    "received_at",
)


def _context(gateway: GatewayDep, values: dict[str, str], errors: dict[str, str]) -> dict:
    limits = gateway.form_limits
    return {
        "values": values,
        "errors": errors,
        "sources": manual_entry.SOURCES,
        "limits": limits,
        "size_mb": limits.max_bytes // (1024 * 1024),
    }


@router.get("/admin/entry", response_class=HTMLResponse)
def entry_form(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> Response:
    return page(request, principal, "admin/entry.html", _context(gateway, {}, {}))


# A plain `def` (a web thread): photos to disk and the INSERT never block the event loop.
@router.post("/admin/entry", response_class=HTMLResponse)
def record_entry(
    request: Request, gateway: GatewayDep, principal: KoordinatorDep, form: CsrfForm
) -> Response:
    lang = request_language(request)
    limits = gateway.form_limits
    values = {key: form_text(form, key) for key in FIELDS}
    photos = form_photos(form, "photos", limits)
    entry, errors = manual_entry.validate_entry(
        values, photos, limits=limits, lang=lang, timezone=gateway.settings.timezone
    )
    if entry is None:
        context = _context(gateway, values, errors)
        return page(request, principal, "admin/entry.html", context, status_code=422)
    code = manual_entry.record(gateway, entry, actor=principal.actor)
    if code is None:
        flash(request, "error", t(lang, "admin.entry.failed"))
        return RedirectResponse("/admin", 303)
    flash(request, "success", t(lang, "admin.entry.recorded", code=code))
    return RedirectResponse(f"/admin/complaints/{code}", 303)
