"""`/admin/simulator`: try the bot as a citizen would, on any chat channel."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.api.admin_deps import CsrfForm, KoordinatorDep, form_text, page
from gateway.api.deps import GatewayDep
from gateway.dev import bot_simulator as simulator

router = APIRouter(include_in_schema=False)


@router.get("/admin/simulator", response_class=HTMLResponse)
def simulator_page(
    request: Request,
    gateway: GatewayDep,
    principal: KoordinatorDep,
    channel: str = "twilio_whatsapp",
    who: str = "warga1",
) -> Response:
    channel = channel if channel in simulator.CHANNELS else "twilio_whatsapp"
    sender = simulator.address(who)
    context = {
        "channels": simulator.CHANNELS,
        "comment_channels": simulator.COMMENT_CHANNELS,
        "channel": channel,
        "who": sender.removeprefix(simulator.PREFIX),
        "lines": simulator.transcript(gateway, channel, sender),
    }
    return page(request, principal, "admin/simulator.html", context)


@router.post("/admin/simulator")
def simulator_send(
    request: Request, gateway: GatewayDep, principal: KoordinatorDep, form: CsrfForm
) -> Response:
    channel = form_text(form, "channel")
    if channel not in simulator.CHANNELS:
        channel = "twilio_whatsapp"
    sender = simulator.address(form_text(form, "who"))
    text = form_text(form, "text").strip()[:2000]
    latitude = longitude = None
    try:
        if form_text(form, "latitude") and form_text(form, "longitude"):
            latitude = float(form_text(form, "latitude"))
            longitude = float(form_text(form, "longitude"))
    except ValueError:
        latitude = longitude = None
    button = form_text(form, "button") or None
    comment = bool(form_text(form, "comment"))
    if text or latitude is not None or button:
        simulator.send(
            gateway,
            channel,
            sender,
            text,
            latitude=latitude,
            longitude=longitude,
            button=button,
            comment=comment,
        )
    query = urlencode({"channel": channel, "who": sender.removeprefix(simulator.PREFIX)})
    return RedirectResponse(f"/admin/simulator?{query}#bottom", status_code=303)
