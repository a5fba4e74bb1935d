"""Provider requests kept raw because the parser could not read them (`/admin/unreadable`):
signed by the provider, so never refused and lost, but not understood either. A koordinator
reads the payload, has it read again once the gateway knows the shape, or dismisses it after
dealing with it by hand. Koordinator only: a payload holds a reporter's number and words."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from channels.base import PayloadError
from config.messages import t
from gateway.admin.sessions import flash
from gateway.api.admin_deps import CsrfForm, KoordinatorDep, page
from gateway.api.deps import GatewayDep
from gateway.api.pages import request_language
from gateway.intake import inbound as intake
from gateway.intake import webhooks

router = APIRouter(include_in_schema=False)

PAGE = "/admin/unreadable"


@router.get(PAGE, response_class=HTMLResponse)
def unreadable_page(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> Response:
    return page(request, principal, "admin/unreadable.html", {"rows": webhooks.unreadable(gateway)})


@router.post(PAGE + "/{inbound_id}/{action}")
def act_on_unreadable(
    request: Request,
    inbound_id: int,
    action: str,
    gateway: GatewayDep,
    principal: KoordinatorDep,
    form: CsrfForm,
    background: BackgroundTasks,
) -> Response:
    lang = request_language(request)
    if action == "dismiss":
        done = webhooks.dismiss_unreadable(gateway, inbound_id)
        flash(request, "success" if done else "error", t(lang, "admin.unreadable.dismissed"))
        return RedirectResponse(PAGE, 303)
    if action != "read":
        raise HTTPException(404)
    try:
        received = webhooks.read_again(gateway, inbound_id)
    except webhooks.NotUnreadable:
        flash(request, "error", t(lang, "admin.unreadable.gone"))
        return RedirectResponse(PAGE, 303)
    except PayloadError as exc:
        flash(request, "error", t(lang, "admin.unreadable.still", reason=str(exc)))
        return RedirectResponse(PAGE, 303)
    for new_id in received.new_ids:
        background.add_task(intake.process, gateway, new_id)
    flash(request, "success", t(lang, "admin.unreadable.read", count=len(received.messages)))
    return RedirectResponse(PAGE, 303)
