"""The outbox as an admin sees it (`/admin/outbox`): how much is waiting, and the dead letters —
messages that could not be delivered — with a button to send one again once the cause is fixed
(a corrected number, a provider back up). Koordinator only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlmodel import col

from channels.registry import build_pollers
from config.messages import has, t
from gateway.admin import health as channel_health
from gateway.admin.sessions import flash
from gateway.api.admin_deps import CsrfForm, KoordinatorDep, page
from gateway.api.deps import GatewayDep
from gateway.api.pages import request_language
from gateway.clock import utcnow
from gateway.jobs import pollers
from gateway.outbox import queue as outbox
from gateway.store.models import Complaint, OutboxItem, OutboxStatus

router = APIRouter(include_in_schema=False)


@router.get("/admin/health", response_class=HTMLResponse)
def health_page(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> Response:
    """Each channel's state, the core's sync, the spool (issue 13) and the polled sources (X,
    YouTube, the mailbox: last poll, last error, what the day's budget has left). Koordinator
    only."""
    health = channel_health.overview(gateway)
    budgets = {name: p.daily_budget for name, p in build_pollers(gateway.channels).items()}
    lang = request_language(request)
    sources = [
        (source, source.state(utcnow()), budgets.get(source.source), _source_name(lang, source))
        for source in pollers.health(gateway.db)
    ]
    context = {"health": health, "sources": sources}
    return page(request, principal, "admin/health.html", context)


def _source_name(lang: str, source: pollers.SourceHealth) -> str:
    key = f"admin.health.source_names.{source.source}"
    return t(lang, key) if has(lang, key) else source.source


@router.get("/admin/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, gateway: GatewayDep, principal: KoordinatorDep) -> Response:
    with gateway.db.read_session() as session:
        counts = dict(
            session.execute(
                select(col(OutboxItem.status), func.count()).group_by(col(OutboxItem.status))
            ).all()
        )
        dead = outbox.dead_letters(session, limit=200)
        ids = {item.complaint_id for item in dead if item.complaint_id}
        codes = (
            dict(
                session.execute(
                    select(col(Complaint.id), col(Complaint.tracking_code)).where(
                        col(Complaint.id).in_(ids)
                    )
                ).all()
            )
            if ids
            else {}
        )
    context = {
        "counts": {status.value: counts.get(status.value, 0) for status in OutboxStatus},
        "dead": dead,
        "codes": codes,
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
    lang = request_language(request)
    with gateway.db.session() as session:
        requeued = outbox.requeue_dead(session, item_id)
        session.commit()
    key = "admin.outbox.requeued" if requeued else "admin.outbox.not_dead"
    flash(request, "success" if requeued else "error", t(lang, key))
    return RedirectResponse("/admin/outbox", 303)
