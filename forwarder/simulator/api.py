"""The simulated core's JSON API, version 1 (documented in docs/core-api.md).

Reports are created once per `Idempotency-Key`; so are the follow-ups the gateway sends (the
agency's in process, answer, close; the regency admin's verify, dispose, return, archive, ask);
events are read after an integer cursor, and so are the citizens' reports disposed to the regency
(`/incoming`); an admin part switches faults on and off and plays the LAPOR! admin, the national
admin and the citizen for tests that cannot click.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from forwarder.simulator.core import (
    CoreSimulator,
    FaultMode,
    KeyReused,
    ReportNotFound,
    event_json,
    incoming_json,
    report_json,
)
from forwarder.simulator.lifecycle import STATUS_LABELS, Action, SimStatus, TransitionError

API_KEY_HEADER = "X-API-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_EVENTS_PAGE = 500
MAX_INCOMING_PAGE = 200


def get_core(request: Request) -> CoreSimulator:
    return request.app.state.core


CoreDep = Annotated[CoreSimulator, Depends(get_core)]


def require_api_key(
    core: CoreDep, api_key: Annotated[str | None, Header(alias=API_KEY_HEADER)] = None
) -> None:
    if core.api_key and not (api_key and hmac.compare_digest(api_key, core.api_key)):
        raise HTTPException(401, "missing or wrong API key", {"WWW-Authenticate": API_KEY_HEADER})


def core_is_up(core: CoreDep) -> None:
    if core.take_fault(FaultMode.UNAVAILABLE):
        raise HTTPException(503, "core unavailable (simulated fault)", {"Retry-After": "5"})


router = APIRouter(prefix="/api/v1", dependencies=[Depends(core_is_up), Depends(require_api_key)])
admin = APIRouter(prefix="/api/v1/admin", dependencies=[Depends(require_api_key)])


Category = Literal["aspirasi", "permintaan_informasi", "pengaduan", "pengaduan_berkadar_pengawasan"]


class AttachmentIn(BaseModel):
    url: str = Field(min_length=1, max_length=2000)
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=1, max_length=100)


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tracking_code: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=20000)
    category: Category
    source_channel: str = Field(min_length=1, max_length=50)
    received_at: datetime
    agency_code: str | None = Field(default=None, max_length=50)
    location_text: str | None = Field(default=None, max_length=500)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    kecamatan: str | None = Field(default=None, max_length=100)
    kelurahan: str | None = Field(default=None, max_length=100)
    reporter_name: str | None = Field(default=None, max_length=200)
    reporter_contact: str | None = Field(default=None, max_length=200)
    anonim: bool = False
    rahasia: bool = False
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class FeedbackIn(BaseModel):
    text: str = Field(default="", max_length=5000)
    rating: int | None = Field(default=None, ge=1, le=5)


class FollowupIn(BaseModel):
    """An agency's follow-up: `text` (required for an answer) and proof photos as links."""

    text: str = Field(default="", max_length=20000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class CloseIn(BaseModel):
    reason: str = Field(default="", max_length=2000)


class NoteIn(BaseModel):
    """A verification's optional note."""

    text: str = Field(default="", max_length=5000)


class DisposeIn(BaseModel):
    """The regency disposes a report to one of its agencies (OPD)."""

    agency_code: str = Field(min_length=1, max_length=50)
    text: str = Field(default="", max_length=5000)


class QuestionIn(BaseModel):
    question: str = Field(min_length=1, max_length=5000)


class CitizenReportIn(BaseModel):
    """A report as a citizen files it in LAPOR! (the web form, the app, SMS 1708)."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field(default="", max_length=300)  # SMS 1708 reports have none
    description: str = Field(min_length=1, max_length=20000)
    category: Category
    topic: str | None = Field(default=None, max_length=100)
    source_channel: Literal["web", "app", "sms1708"] = "web"
    location_text: str | None = Field(default=None, max_length=500)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    kecamatan: str | None = Field(default=None, max_length=100)
    kelurahan: str | None = Field(default=None, max_length=100)
    reporter_name: str | None = Field(default=None, max_length=200)
    reporter_contact: str | None = Field(default=None, max_length=200)
    anonim: bool = False
    rahasia: bool = False
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class RegencyDispositionIn(BaseModel):
    """The national admin disposes a citizen's report to the regency (or one of its agencies)."""

    agency_code: str | None = Field(default=None, max_length=50)
    text: str | None = Field(default=None, max_length=2000)


class ReplyIn(BaseModel):
    """The reporter's answer to a question asked through LAPOR!."""

    text: str = Field(min_length=1, max_length=20000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


class DispositionIn(BaseModel):
    agency_code: str = Field(min_length=1, max_length=50)
    reason: str = Field(default="", max_length=2000)


class FaultsIn(BaseModel):
    mode: FaultMode
    remaining: int | None = Field(default=None, ge=1)
    delay_seconds: float | None = Field(default=None, gt=0, le=3600)


class ActionIn(BaseModel):
    action: Action
    text: str | None = Field(default=None, max_length=20000)
    agency_code: str | None = Field(default=None, max_length=50)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=20)


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def _required_key(idempotency_key: str | None) -> str:
    key = (idempotency_key or "").strip()
    if not key or len(key) > 200:
        raise HTTPException(400, f"{IDEMPOTENCY_HEADER} header (1-200 characters) is required")
    return key


IdempotencyKey = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]


@router.post("/reports", status_code=201)
async def submit_report(
    report: ReportIn,
    request: Request,
    response: Response,
    core: CoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Create a report; the same key again returns the same report with 200."""
    key = _required_key(idempotency_key)
    stored, created = core.submit(key, report.model_dump(mode="json"))
    response.status_code = 201 if created else 200
    response.headers["Location"] = str(request.url_for("get_report", core_id=stored.core_id))
    if created and core.take_fault(FaultMode.TIMEOUT_AFTER_ACCEPT):
        # The report is stored; the client just never hears so in time.
        await core.hold(core.faults.delay_seconds)
    return report_json(stored)


@router.get("/reports")
async def list_reports(
    core: CoreDep,
    idempotency_key: str | None = None,
    status: SimStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, list[dict[str, Any]]]:
    """All reports (newest first), or the one submitted under `idempotency_key`."""
    if idempotency_key is not None:
        found = core.store.find_report(idempotency_key)
        return {"reports": [report_json(found)] if found else []}
    return {"reports": [report_json(r) for r in core.store.list_reports(status, limit, offset)]}


@router.get("/reports/{core_id}", name="get_report")
async def get_report(core_id: str, core: CoreDep) -> dict[str, Any]:
    try:
        report = core.get(core_id)
    except ReportNotFound:
        raise HTTPException(404, "no such report") from None
    return {
        **report_json(report),
        "events": [core.event_body(e) for e in core.store.events_of(core_id)],
        "feedback": [
            {"text": f.text, "rating": f.rating, "received_at": f.received_at}
            for f in core.store.feedback_of(core_id)
        ],
    }


@router.get("/events")
async def list_events(
    core: CoreDep,
    since: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 100,
) -> dict[str, Any]:
    """Events with a cursor greater than `since`, oldest first."""
    events, more = core.store.events_since(since, limit)
    cursor = events[-1].seq if events else since
    return {
        "events": [core.event_body(e) for e in events],
        "cursor": str(cursor),
        "more": more,
    }


@router.get("/incoming")
async def list_incoming(
    core: CoreDep,
    since: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_INCOMING_PAGE)] = 100,
) -> dict[str, Any]:
    """Citizens' reports disposed to the regency, in the order they arrived there, after the
    cursor; each appears once (as it is now), however often it is re-disposed."""
    entries, more = core.store.incoming_since(since, limit)
    cursor = entries[-1].seq if entries else since
    return {
        "reports": [incoming_json(entry) for entry in entries],
        "cursor": str(cursor),
        "more": more,
    }


@router.post("/reports/{core_id}/disposition")
async def post_disposition(core_id: str, body: DispositionIn, core: CoreDep) -> dict[str, Any]:
    """The regency's admin moves a report to another agency (a re-disposition)."""
    try:
        event = core.redispose(core_id, body.agency_code, body.reason or None)
    except ReportNotFound:
        raise HTTPException(404, "no such report") from None
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"changed": event is not None}


async def _followup(
    core: CoreSimulator,
    response: Response,
    core_id: str,
    action: Action,
    idempotency_key: str | None,
    text: str | None,
    attachments: list[AttachmentIn] | None = None,
    agency_code: str | None = None,
) -> dict[str, Any]:
    key = _required_key(idempotency_key)
    try:
        event, created = core.followup(
            core_id,
            action,
            key,
            text=text,
            attachments=[a.model_dump() for a in attachments or []],
            agency_code=agency_code,
        )
    except ReportNotFound:
        raise HTTPException(404, "no such report") from None
    except (TransitionError, KeyReused) as exc:
        raise HTTPException(409, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    response.status_code = 201 if created else 200
    if created and core.take_fault(FaultMode.TIMEOUT_AFTER_ACCEPT):
        await core.hold(core.faults.delay_seconds)  # stored; the gateway just never hears so
    if event is None:  # already done: closing a closed report, verifying a verified one ...
        status = core.get(core_id).status
        return {
            "event_id": None,
            "status": status.value,
            "status_label": STATUS_LABELS[status],
            "changed": False,
        }
    return {**event_json(event, core.store.instance_id), "changed": created}


@router.post("/reports/{core_id}/progress", status_code=201)
async def post_progress(
    core_id: str,
    body: FollowupIn,
    response: Response,
    core: CoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """The agency is working on it ("sedang diproses"): the report is in process."""
    return await _followup(
        core, response, core_id, Action.PROCESS, idempotency_key, body.text or None
    )


@router.post("/reports/{core_id}/answer", status_code=201)
async def post_answer(
    core_id: str,
    body: FollowupIn,
    response: Response,
    core: CoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """The agency's answer (text required) with proof photos as links."""
    return await _followup(
        core, response, core_id, Action.ANSWER, idempotency_key, body.text, body.attachments
    )


@router.post("/reports/{core_id}/close", status_code=201)
async def post_close(
    core_id: str,
    body: CloseIn,
    response: Response,
    core: CoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """The regency closes an answered report (satisfied reporter, or silence)."""
    return await _followup(
        core, response, core_id, Action.CLOSE, idempotency_key, body.reason or None
    )


@router.post("/reports/{core_id}/verify", status_code=201)
async def post_verify(
    core_id: str,
    body: NoteIn,
    response: Response,
    core: CoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """The regency admin verified the report (relevant, complete, clear)."""
    return await _followup(
        core, response, core_id, Action.VERIFY, idempotency_key, body.text or None
    )


@router.post("/reports/{core_id}/dispose", status_code=201)
async def post_dispose(
    core_id: str,
    body: DisposeIn,
    response: Response,
    core: CoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """The regency disposes the report to one of its agencies (OPD)."""
    return await _followup(
        core,
        response,
        core_id,
        Action.DISPOSE,
        idempotency_key,
        body.text or None,
        agency_code=body.agency_code,
    )


@router.post("/reports/{core_id}/return", status_code=201)
async def post_return(
    core_id: str,
    body: CloseIn,
    response: Response,
    core: CoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """ "Bukan wewenang": back to LAPOR!'s national admin, with the reason (required)."""
    return await _followup(
        core, response, core_id, Action.RETURN, idempotency_key, body.reason or None
    )


@router.post("/reports/{core_id}/archive", status_code=201)
async def post_archive(
    core_id: str,
    body: CloseIn,
    response: Response,
    core: CoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """An irrelevant report is archived."""
    return await _followup(
        core, response, core_id, Action.ARCHIVE, idempotency_key, body.reason or None
    )


@router.post("/reports/{core_id}/ask", status_code=201)
async def post_ask(
    core_id: str,
    body: QuestionIn,
    response: Response,
    core: CoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Pend the report with a question to the reporter, who answers on LAPOR! (the citizen's
    page); the answer comes back as a `reporter_reply` event."""
    return await _followup(core, response, core_id, Action.ASK, idempotency_key, body.question)


@router.get("/reports/{core_id}/followups")
async def list_followups(
    core_id: str, core: CoreDep, idempotency_key: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The follow-ups the gateway sent for a report, or the one sent under `idempotency_key`
    (an empty list when the core does not have it: safe to send again)."""
    try:
        core.get(core_id)
    except ReportNotFound:
        raise HTTPException(404, "no such report") from None
    instance = core.store.instance_id
    events = core.store.followups_of(core_id)
    if idempotency_key is not None:
        events = [e for e in events if e.origin_key == idempotency_key]
    return {"followups": [event_json(e, instance) for e in events]}


@router.post("/reports/{core_id}/feedback", status_code=201)
async def post_feedback(core_id: str, feedback: FeedbackIn, core: CoreDep) -> dict[str, str]:
    if not feedback.text.strip() and feedback.rating is None:
        raise HTTPException(422, "feedback needs text or a rating")
    try:
        core.add_feedback(core_id, feedback.text.strip(), feedback.rating)
    except ReportNotFound:
        raise HTTPException(404, "no such report") from None
    return {"status": "received"}


@admin.get("/faults")
async def get_faults(core: CoreDep) -> dict[str, Any]:
    return core.faults.as_dict()


@admin.put("/faults")
async def put_faults(faults: FaultsIn, core: CoreDep) -> dict[str, Any]:
    """Switch a fault on (`unavailable`, `timeout_after_accept`) or off (`none`)."""
    return core.set_faults(faults.mode, faults.remaining, faults.delay_seconds).as_dict()


@admin.post("/reports/{core_id}/actions", status_code=201)
async def post_action(core_id: str, body: ActionIn, core: CoreDep) -> dict[str, Any]:
    """Play the LAPOR! admin or agency: verify, dispose, process, answer, close, ..."""
    try:
        event = core.act(
            core_id,
            body.action,
            text=body.text,
            agency_code=body.agency_code,
            attachments=[a.model_dump() for a in body.attachments],
        )
    except ReportNotFound:
        raise HTTPException(404, "no such report") from None
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return event_json(event, core.store.instance_id)


@admin.post("/citizen-reports", status_code=201)
async def post_citizen_report(
    body: CitizenReportIn,
    response: Response,
    core: CoreDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Play a citizen filing a report in LAPOR! itself (once per key): it waits for the
    national admin."""
    key = _required_key(idempotency_key)
    report, created = core.file_report(f"citizen:{key}", body.model_dump(mode="json"))
    response.status_code = 201 if created else 200
    return report_json(report)


@admin.post("/reports/{core_id}/dispose-regency", status_code=201)
async def post_dispose_regency(
    core_id: str, body: RegencyDispositionIn, core: CoreDep
) -> dict[str, Any]:
    """Play the national admin: dispose a citizen's report to the regency."""
    try:
        event = core.dispose_to_regency(core_id, body.agency_code, body.text)
    except ReportNotFound:
        raise HTTPException(404, "no such report") from None
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from None
    return core.event_body(event)


@admin.post("/reports/{core_id}/reporter-reply", status_code=201)
async def post_reporter_reply(core_id: str, body: ReplyIn, core: CoreDep) -> dict[str, Any]:
    """Play the reporter answering the question asked through LAPOR!."""
    try:
        event = core.reporter_reply(core_id, body.text, [a.model_dump() for a in body.attachments])
    except ReportNotFound:
        raise HTTPException(404, "no such report") from None
    except TransitionError as exc:
        raise HTTPException(409, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return core.event_body(event)


@admin.post("/tick")
async def post_tick(core: CoreDep) -> dict[str, Any]:
    """Run one auto-answer round and push what is due, now."""
    events = core.tick()
    pushed = await core.push_due()
    return {
        "events": [event_json(e, core.store.instance_id) for e in events],
        "pushed": pushed,
    }
