"""The inbox (`/admin`), the complaint page (`/admin/complaints/{code}`) and the complaint's
files (`/admin/attachments/{id}`, served only to those who may see the complaint; a failed
download is tried again with `POST /admin/attachments/{id}/retry`)."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlmodel import Session, col

from config.messages import t
from gateway.admin import complaint_view, inbox, live, maps, notes, tiktok, workplace
from gateway.admin.sessions import Principal, flash
from gateway.api.admin_deps import (
    CsrfForm,
    KoordinatorDep,
    PrincipalDep,
    StaffDep,
    clock,
    forbidden,
    page,
)
from gateway.api.deps import GatewayDep
from gateway.api.pages import request_language
from gateway.api.routes.media import stored_file_response
from gateway.complaints import actions
from gateway.complaints.tracking import normalize_code
from gateway.context import Gateway
from gateway.core import status as core_status
from gateway.intake import attachments, webhooks
from gateway.store.models import Agency, Attachment, AttachmentStatus, Category, Complaint, Status

router = APIRouter(include_in_schema=False)


def scope_of(principal: Principal) -> inbox.Scope:
    if principal.is_liaison:
        # A liaison account without an agency sees nothing rather than everything.
        return inbox.Scope(agency_id=principal.agency_id or -1, user_id=principal.user_id)
    return inbox.Scope(user_id=principal.user_id)


def visible_complaint(session: Session, principal: Principal, code: str) -> Complaint:
    """The complaint if this user may see it; 404 otherwise (a liaison cannot even learn that
    another agency's complaint exists)."""
    normalized = normalize_code(code)
    complaint = (
        session.scalar(select(Complaint).where(col(Complaint.tracking_code) == normalized))
        if normalized
        else None
    )
    if complaint is None or not may_see(principal, complaint):
        raise HTTPException(404)
    return complaint


def may_see(principal: Principal, complaint: Complaint) -> bool:
    if principal.is_koordinator:
        return True
    if principal.is_liaison:
        return (
            principal.agency_id is not None
            and complaint.agency_id == principal.agency_id
            and complaint.status in inbox.LIAISON_STATES
        )
    return False


@router.get("/admin", response_class=HTMLResponse)
def inbox_page(request: Request, gateway: GatewayDep, principal: PrincipalDep) -> Response:
    if principal.is_viewer:
        return RedirectResponse("/admin/reports", 303)  # a viewer's page is the reports
    s = gateway.settings
    f = inbox.InboxFilter.from_query(request.query_params)
    with gateway.db.read_session() as session:
        result = inbox.list_page(
            session,
            f,
            scope_of(principal),
            clock(gateway),
            page_size=s.admin_inbox_page_size,
            count_cap=s.admin_inbox_count_cap,
        )
        agencies = session.scalars(select(Agency).order_by(Agency.name)).all()
        stamp = live.stamp(session)
    context = {
        "stamp": stamp,
        "poll_seconds": s.admin_live_poll_seconds,
        "changed": {},
        "result": result,
        "f": result.filter,
        "agencies": agencies,
        "statuses": [st.value for st in Status],
        "categories": [c.value for c in Category],
        "channels": inbox.CHANNELS,
        "now": clock(gateway).now,
        # Signed provider requests kept raw because they could not be read (koordinator's).
        "unreadable": webhooks.count_unreadable(gateway) if principal.is_koordinator else 0,
    }
    return page(request, principal, "admin/inbox.html", context)


def complaint_page(
    request: Request,
    gateway: Gateway,
    principal: Principal,
    code: str,
    *,
    error: str | None = None,
    status_code: int = 200,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    if principal.is_viewer:
        raise forbidden(request)
    c = clock(gateway)
    lang = request_language(request)
    with gateway.db.read_session() as session:
        complaint = visible_complaint(session, principal, code)
        view = complaint_view.build(
            session, complaint, principal, now=c.now, soon=c.soon, lang=lang, gateway=gateway
        )
        core = core_status.build(gateway, session, complaint, principal, lang)
        captured = tiktok.view(gateway, session, complaint)
        posted_by = [r.posted_by for r in captured.replies if r.posted_by] if captured else []
        tiktok_names = notes.user_names(session, posted_by)
        desk = workplace.build(
            gateway,
            session,
            complaint,
            principal,
            lang=lang,
            deadline=actions.deadline_text(gateway, complaint, complaint.language),
        )
    labels = {
        kind: t(lang, f"admin.pii.{kind}")
        for kind in {str(s.get("kind")) for s in complaint.pii_spans}
    }
    context = {
        "v": view,
        "c": view.complaint,
        "highlighted": complaint_view.highlight(
            complaint.original_text, complaint.pii_spans, labels
        ),
        "error": error,
        "values": values or {},
        "categories": [cat.value for cat in Category],
        "now": c.now,
        "max_photos": gateway.settings.upload_max_files,
        "core": core,
        "tiktok": captured,
        "tiktok_names": tiktok_names,
        "entry_id": uuid.uuid4().hex,
        "download_attempts": attachments.MAX_ATTEMPTS,
        "desk": desk,
        "map_pin": maps.complaint_pin(gateway, complaint),
        "map_labels": maps.kecamatan_labels(gateway),
        "map_tiles": gateway.settings.map_tile_url,
        "map_attribution": gateway.settings.map_tile_attribution,
    }
    return page(request, principal, "admin/complaint.html", context, status_code=status_code)


@router.get("/admin/complaints/{code}", response_class=HTMLResponse)
def show_complaint(
    request: Request, code: str, gateway: GatewayDep, principal: PrincipalDep
) -> HTMLResponse:
    return complaint_page(request, gateway, principal, code)


@router.get("/admin/attachments/{attachment_id}")
def attachment_file(
    request: Request, attachment_id: int, gateway: GatewayDep, principal: StaffDep
) -> Response:
    with gateway.db.read_session() as session:
        attachment = session.get(Attachment, attachment_id)
        complaint = (
            session.get(Complaint, attachment.complaint_id)
            if attachment is not None and attachment.complaint_id
            else None
        )
        if (
            attachment is None
            or complaint is None
            or not may_see(principal, complaint)
            or attachment.status != AttachmentStatus.STORED
            or not attachment.storage_key
        ):
            raise HTTPException(404)
    return stored_file_response(
        gateway.files,
        attachment.storage_key,
        attachment.content_type or "application/octet-stream",
        {
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
            "Content-Disposition": "inline",
        },
    )


@router.post("/admin/attachments/{attachment_id}/retry")
async def retry_attachment(
    request: Request,
    attachment_id: int,
    gateway: GatewayDep,
    principal: KoordinatorDep,
    form: CsrfForm,
) -> Response:
    """A koordinator's "try the download again": fresh attempts and one now, so the page the
    admin comes back to shows the outcome (a slow provider holds it at most
    MEDIA_DOWNLOAD_TIMEOUT_SECONDS)."""

    def complaint_code() -> str:
        with gateway.db.read_session() as session:
            attachment = session.get(Attachment, attachment_id)
            complaint = (
                session.get(Complaint, attachment.complaint_id)
                if attachment is not None and attachment.complaint_id
                else None
            )
            if attachment is None or complaint is None:
                raise HTTPException(404)
            return complaint.tracking_code

    code = await asyncio.to_thread(complaint_code)
    lang = request_language(request)
    if not await asyncio.to_thread(attachments.retry, gateway, attachment_id):
        flash(request, "info", t(lang, "admin.page.photo_retry_nothing"))
    elif await attachments.fetch_one(gateway, attachment_id):
        flash(request, "success", t(lang, "admin.page.photo_retry_done"))
    else:
        flash(request, "error", t(lang, "admin.page.photo_retry_failed"))
    return RedirectResponse(f"/admin/complaints/{code}", 303)
