"""`/healthz`: is the database reachable and the scheduler alive?"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.admin import health as channel_health
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
    body: dict[str, object] = {
        "status": "ok" if healthy else "degraded",
        "database": "ok" if database else "unreachable",
        "scheduler": scheduler_state,
    }
    if database:
        # A failing or silent channel degrades the gateway but does not make it down: 200,
        # so a load balancer keeps sending the other channels' traffic (issue 13).
        health = channel_health.overview(gateway)
        if health.degraded:
            body["status"] = "degraded"
            body["channels"] = {name: "degraded" for name in health.degraded}
        if health.failing_pollers:
            body["status"] = "degraded"
            body["pollers"] = {name: "failing" for name in health.failing_pollers}
        if health.spooled:
            body["spooled"] = health.spooled
    if healthy:
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers={"Retry-After": "30"})
