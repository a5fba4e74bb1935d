"""`/healthz`: is the database reachable and the scheduler alive?"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.api.deps import GatewayDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness and readiness")
def healthz(request: Request, gateway: GatewayDep) -> JSONResponse:
    database = gateway.db.ping()
    scheduler = getattr(request.app.state, "scheduler", None)
    if scheduler is None:
        scheduler_state = "disabled"
    else:
        scheduler_state = "alive" if scheduler.alive() else "stalled"
    healthy = database and scheduler_state != "stalled"
    body = {
        "status": "ok" if healthy else "degraded",
        "database": "ok" if database else "unreachable",
        "scheduler": scheduler_state,
    }
    if healthy:
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers={"Retry-After": "30"})
