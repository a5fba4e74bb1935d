"""The outbox as an admin sees it (`/admin/outbox`): how much is waiting, the replies that may or
may not have arrived (in flight at a crash; per conversation, with what the reporter did next),
and the other dead letters — messages that could not be delivered — each with a button to send
that one again once the cause is fixed (a corrected number, a provider back up). One at a time,
audited; never all at once. Koordinator only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlmodel import col

from config.messages import t
from gateway.admin import health as channel_health
from gateway.admin import inbox, uncertain
from gateway.admin.sessions import flash, safe_next
from gateway.api.admin_deps import CsrfForm, KoordinatorDep, form_text, page
from gateway.api.deps import GatewayDep
from gateway.api.pages import request_language
from gateway.outbox import queue as outbox
from gateway.store.models import OutboxItem, OutboxStatus

router = APIRouter(include_in_schema=False)


@router.get("/admin/health", response_class=HTMLResponse)
def health_page(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> Response:
    """Each channel's state, the core's sync and the spool (issue 13). Koordinator only."""
    health = channel_health.overview(gateway)
    return page(request, principal, "admin/health.html", {"health": health})


@router.get("/admin/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> Response:
    with gateway.db.read_session() as session:
        counts = dict(
            session.execute(
                select(col(OutboxItem.status), func.count()).group_by(col(OutboxItem.status))
            ).all()
        )
        unsure = uncertain.uncertain_replies(session)
        # Each dead letter is listed once: the uncertain replies in their own section.
        shown = {reply.item_id for conversation in unsure for reply in conversation.replies}
        dead = [i for i in outbox.dead_letters(session, limit=200) if i.id not in shown]
        codes = inbox.tracking_codes(session, (item.complaint_id for item in dead))
    context = {
        "counts": {status.value: counts.get(status.value, 0) for status in OutboxStatus},
        "dead": dead,
        "codes": codes,
        "uncertain": unsure,
    }
    return page(request, principal, "admin/outbox.html", context)


@router.post("/admin/outbox/{item_id}/resend")
def resend(
    request: Request,
    item_id: int,
    gateway: GatewayDep,
    principal: KoordinatorDep,
    form: CsrfForm,
) -> Response:
    """Send this one dead letter again (audited); back to the page it was asked from (the
    outbox, or the complaint's chat)."""
    lang = request_language(request)
    with gateway.db.session() as session:
        requeued = uncertain.resend(session, item_id, actor=principal.actor)
        session.commit()
    key = "admin.outbox.requeued" if requeued else "admin.outbox.not_dead"
    flash(request, "success" if requeued else "error", t(lang, key))
    back = safe_next(form_text(form, "back"), default="/admin/outbox")
    return RedirectResponse(back, 303)
