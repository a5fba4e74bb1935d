"""Pasting a LAPOR! report (`/admin/lapor`): a report filed directly in SP4N-LAPOR! that the poll
has not brought (the manual backend has no poll at all) joins the one inbox when a koordinator
copies its LAPOR! page and pastes it here (`gateway.core.intake.take_pasted`). The same report
pasted twice, or also polled, stays one complaint: the LAPOR! tracking id decides."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from config.messages import t
from gateway.admin.sessions import flash
from gateway.api.admin_deps import CsrfForm, KoordinatorDep, form_text, page
from gateway.api.deps import GatewayDep
from gateway.api.pages import request_language
from gateway.core import intake

router = APIRouter(include_in_schema=False)

PAGE = "/admin/lapor"
MAX_PASTE = 50_000  # a LAPOR! page copied whole is a few thousand characters


@router.get(PAGE, response_class=HTMLResponse)
def paste_form(request: Request, principal: KoordinatorDep) -> Response:
    return page(request, principal, "admin/lapor_paste.html", {"text": "", "error": None})


@router.post(PAGE, response_class=HTMLResponse)
def paste_report(
    request: Request, gateway: GatewayDep, principal: KoordinatorDep, form: CsrfForm
) -> Response:
    lang = request_language(request)
    text = form_text(form, "text")[:MAX_PASTE]
    try:
        taken = intake.take_pasted(gateway, text, actor=principal.actor, language=lang)
    except intake.InvalidPastedReport as exc:
        context = {"text": text, "error": exc.message}
        return page(request, principal, "admin/lapor_paste.html", context, status_code=422)
    if taken.tracking_code is None:
        flash(request, "error", t(lang, "admin.lapor.failed"))
        return RedirectResponse(PAGE, 303)
    key = "admin.lapor.taken" if taken.outcome != "known" else "admin.lapor.known"
    flash(request, "success", t(lang, key, code=taken.tracking_code))
    return RedirectResponse(f"/admin/complaints/{taken.tracking_code}", 303)
