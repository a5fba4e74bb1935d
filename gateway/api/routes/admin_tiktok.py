"""TikTok capture (`/admin/tiktok`): a koordinator records a comment from under one of the
regency's TikTok videos (TikTok has no API for them; see gateway/intake/tiktok_capture.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from config.messages import t
from gateway.admin.sessions import flash
from gateway.api.admin_deps import CsrfForm, KoordinatorDep, form_text, page
from gateway.api.body import form_photos
from gateway.api.deps import GatewayDep
from gateway.api.pages import request_language
from gateway.intake import tiktok_capture

router = APIRouter(include_in_schema=False)

FIELDS = ("link", "handle", "description", "location_text", "anonim", "rahasia", "received_at")


def _context(gateway: GatewayDep, values: dict[str, str], errors: dict[str, str]) -> dict:
    limits = gateway.form_limits
    return {
        "values": values,
        "errors": errors,
        "limits": limits,
        "size_mb": limits.max_bytes // (1024 * 1024),
    }


@router.get("/admin/tiktok", response_class=HTMLResponse)
def capture_form(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> Response:
    return page(request, principal, "admin/tiktok.html", _context(gateway, {}, {}))


# A plain `def` (a web thread): screenshots to disk and the INSERT never block the event loop.
@router.post("/admin/tiktok", response_class=HTMLResponse)
def record_capture(
    request: Request, gateway: GatewayDep, principal: KoordinatorDep, form: CsrfForm
) -> Response:
    lang = request_language(request)
    limits = gateway.form_limits
    values = {key: form_text(form, key) for key in FIELDS}
    screenshots = form_photos(form, "screenshots", limits)
    capture, errors = tiktok_capture.validate_capture(
        values, screenshots, limits=limits, lang=lang, timezone=gateway.settings.timezone
    )
    if capture is None:
        context = _context(gateway, values, errors)
        return page(request, principal, "admin/tiktok.html", context, status_code=422)
    code = tiktok_capture.record(gateway, capture, actor=principal.actor)
    if code is None:
        flash(request, "error", t(lang, "tiktok.failed"))
        return RedirectResponse("/admin", 303)
    flash(request, "success", t(lang, "tiktok.recorded", code=code))
    return RedirectResponse(f"/admin/complaints/{code}", 303)
