"""The complaint page's buttons: `POST /admin/complaints/{code}/{action}`.

Each action reads its fields from the form, then runs in one transaction: the complaint is
loaded (404 if this user may not see it), the version the admin saw is checked, the action in
`gateway.complaints.actions` does its work, and one commit makes it durable. When the action is not
possible in the current state (409), someone else changed the complaint meanwhile (409), or
the input is wrong (422), the page is shown again with a clear message and nothing changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlmodel import Session, col
from starlette.datastructures import FormData

from channels import webform
from config.messages import t
from gateway.admin import tiktok
from gateway.admin.complaint_view import ROLE_ACTIONS
from gateway.admin.sessions import Principal, flash
from gateway.api.admin_deps import CsrfForm, StaffDep, forbidden, form_text
from gateway.api.body import form_photos
from gateway.api.deps import GatewayDep
from gateway.api.pages import request_language
from gateway.api.routes.admin_inbox import complaint_page, visible_complaint
from gateway.complaints import actions, lifecycle, workflow
from gateway.complaints.tracking import normalize_code
from gateway.context import Gateway
from gateway.core import manual as core_manual
from gateway.store.files import StoredFile
from gateway.store.models import Complaint

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)


@dataclass
class Call:
    """One action request: who, on what, with which fields (and stored photos)."""

    gateway: Gateway
    session: Session
    complaint: Complaint
    principal: Principal
    form: FormData
    photos: list[tuple[StoredFile, str | None]]

    def text(self, name: str) -> str:
        return form_text(self.form, name)

    def flag(self, name: str) -> bool:
        return self.text(name) in ("1", "on", "true")

    def agency_id(self) -> int:
        try:
            return int(self.text("agency_id"))
        except ValueError:
            raise actions.ActionInvalid("agency_unknown") from None

    @property
    def actor(self) -> str:
        return self.principal.actor

    @property
    def principal_language(self) -> str:
        return self.text("lang") or "id"


def _verify(c: Call) -> None:
    actions.verify(
        c.gateway,
        c.session,
        c.complaint,
        actor=c.actor,
        relevant=c.flag("relevant"),
        complete=c.flag("complete"),
        clear=c.flag("clear"),
        title=c.text("title"),
        category=c.text("category"),
        kecamatan=c.text("kecamatan"),
        kelurahan=c.text("kelurahan"),
        location_text=c.text("location_text") if "location_text" in c.form else None,
    )


def _anonymise(c: Call) -> None:
    actions.anonymise(
        c.gateway,
        c.session,
        c.complaint,
        actor=c.actor,
        anonim=c.flag("anonim"),
        rahasia=c.flag("rahasia"),
        masked_text=c.text("masked_text"),
    )


def _dispose(c: Call) -> None:
    actions.dispose(
        c.gateway,
        c.session,
        c.complaint,
        actor=c.actor,
        agency_id=c.agency_id(),
        note=c.text("note"),
    )


def _redispose(c: Call) -> None:
    actions.redispose(
        c.gateway,
        c.session,
        c.complaint,
        actor=c.actor,
        agency_id=c.agency_id(),
        reason=c.text("reason"),
    )


def _pend(c: Call) -> None:
    actions.pend(c.gateway, c.session, c.complaint, actor=c.actor, question=c.text("question"))


def _resume(c: Call) -> None:
    actions.resume_from_pending(
        c.session, c.complaint, c.actor, gateway=c.gateway, note=c.text("note") or None
    )


def _archive(c: Call) -> None:
    actions.archive(c.gateway, c.session, c.complaint, actor=c.actor, reason=c.text("reason"))


def _return(c: Call) -> None:
    actions.return_complaint(
        c.gateway, c.session, c.complaint, actor=c.actor, reason=c.text("reason")
    )


def _merge(c: Call) -> None:
    code = normalize_code(c.text("target"))
    target = (
        c.session.scalar(select(Complaint).where(col(Complaint.tracking_code) == code))
        if code
        else None
    )
    if target is None:
        raise actions.ActionInvalid("merge_target_unknown")
    actions.merge(c.gateway, c.session, c.complaint, target, actor=c.actor)


def _unmerge(c: Call) -> None:
    actions.unmerge(c.gateway, c.session, c.complaint, actor=c.actor)


def _uncluster(c: Call) -> None:
    actions.uncluster(c.gateway, c.session, c.complaint, actor=c.actor)


def _reply(c: Call) -> None:
    actions.reply(c.gateway, c.session, c.complaint, actor=c.actor, text=c.text("text"))


def _acknowledge(c: Call) -> None:
    actions.acknowledge(c.gateway, c.session, c.complaint, actor=c.actor)


def _answer(c: Call) -> None:
    actions.answer(
        c.gateway, c.session, c.complaint, actor=c.actor, text=c.text("text"), photos=c.photos
    )


def _request_redisposition(c: Call) -> None:
    actions.request_redisposition(
        c.gateway, c.session, c.complaint, actor=c.actor, reason=c.text("reason")
    )


def _core_ref(c: Call) -> None:
    core_manual.record_tracking_id(
        c.gateway,
        c.session,
        c.complaint,
        actor=c.actor,
        typed=c.text("core_ref"),
        language=c.principal_language,
    )


def _core_answer(c: Call) -> None:
    core_manual.record_answer(
        c.gateway,
        c.session,
        c.complaint,
        actor=c.actor,
        text=c.text("text"),
        entry_id=c.text("entry_id") or c.text("version"),
    )


def _core_pasted(c: Call) -> None:
    core_manual.record_pasted(
        c.gateway, c.session, c.complaint, actor=c.actor, item_id=c.text("item_id")
    )


def _core_resend(c: Call) -> None:
    core_manual.resend(c.gateway, c.session, c.complaint, actor=c.actor, item_id=c.text("item_id"))


def _tiktok_posted(c: Call) -> None:
    tiktok.record_posted(c.gateway, c.session, c.complaint, actor=c.actor, kind=c.text("kind"))


HANDLERS: dict[str, Callable[[Call], None]] = {
    "core_ref": _core_ref,
    "core_answer": _core_answer,
    "core_pasted": _core_pasted,
    "core_resend": _core_resend,
    "tiktok_posted": _tiktok_posted,
    "verify": _verify,
    "anonymise": _anonymise,
    "dispose": _dispose,
    "redispose": _redispose,
    "pend": _pend,
    "resume": _resume,
    "archive": _archive,
    "return": _return,
    "merge": _merge,
    "unmerge": _unmerge,
    "uncluster": _uncluster,
    "reply": _reply,
    "acknowledge": _acknowledge,
    "answer": _answer,
    "request_redisposition": _request_redisposition,
}


# Actions that queue something for SP4N-LAPOR!: with the manual backend the flash says the
# admin has to paste it, since nothing will be sent by itself.
QUEUES_FOR_CORE = frozenset({"dispose", "acknowledge", "answer"})


def done_message(gateway: Gateway, lang: str, action: str) -> str:
    """The flash after an action: it tells what is queued, never "sent" before it is."""
    if action in QUEUES_FOR_CORE and core_manual.is_manual(gateway):
        return t(lang, f"admin.done.{action}_manual")
    return t(lang, f"admin.done.{action}")


def _store_photos(
    gateway: Gateway, form: FormData, lang: str
) -> list[tuple[StoredFile, str | None]]:
    limits = gateway.form_limits
    photos = form_photos(form, "photos", limits)
    errors = webform.FormErrors()
    checked = webform.validate_photos(photos, limits=limits, lang=lang, errors=errors)
    if errors:
        raise actions.ActionInvalid("photos", detail=errors.fields["photos"])
    # Content-addressed files: storing before the transaction is harmless if it rolls back.
    return [(gateway.files.put(p.data, kind), p.filename or None) for p, kind in checked]


def _version(form: FormData) -> int | None:
    try:
        return int(form_text(form, "version"))
    except ValueError:
        return None


# A plain `def`: FastAPI runs it in a web thread, so the transaction, the photos' fsync and a
# wait for the SQLite write lock never stall the event loop.
@router.post("/admin/complaints/{code}/{action}")
def act(
    request: Request,
    code: str,
    action: str,
    gateway: GatewayDep,
    principal: StaffDep,
    form: CsrfForm,
) -> Response:
    handler = HANDLERS.get(action)
    if handler is None:
        raise HTTPException(404)
    if action not in ROLE_ACTIONS[principal.role]:
        raise forbidden(request)
    lang = request_language(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    values["_action"] = action  # the page opens this action's form again, filled in

    def again(message: str, http_status: int) -> Response:
        return complaint_page(
            request,
            gateway,
            principal,
            code,
            error=message,
            status_code=http_status,
            values=values,
        )

    try:
        photos = _store_photos(gateway, form, lang) if action == "answer" else []
        with gateway.db.session() as session:
            complaint = visible_complaint(session, principal, code)
            workflow.expect_version(complaint, _version(form))
            handler(Call(gateway, session, complaint, principal, form, photos))
            workflow.commit(session)
            tracking_code = complaint.tracking_code
    except (actions.NotAllowed, workflow.TransitionError) as exc:
        current = getattr(exc, "status", None) or getattr(exc, "from_status", "")
        message = t(
            lang,
            "admin.errors.not_allowed",
            action=t(lang, f"admin.action.{action}"),
            status=t(lang, f"status.{current}"),
        )
        return again(message, 409)
    except lifecycle.FollowsCase as exc:
        # The case is acted on at its primary complaint: one report, one notice per reporter.
        message = t(
            lang,
            "admin.errors.follows_case",
            case=exc.case_code,
            action=t(lang, f"admin.action.{action}"),
        )
        return again(message, 409)
    except workflow.ConcurrentUpdate:
        return again(t(lang, "admin.errors.conflict"), 409)
    except actions.ActionInvalid as exc:
        return again(exc.message(lang), 422)
    log.info("admin action", extra={"action": action, "user_id": principal.user_id})
    flash(request, "success", done_message(gateway, lang, action))
    if form_text(form, "return_to") == "inbox":  # "Arsipkan" in an inbox row: back to the list
        return RedirectResponse("/admin", 303)
    return RedirectResponse(f"/admin/complaints/{tracking_code}", 303)
