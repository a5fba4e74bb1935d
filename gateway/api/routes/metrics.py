"""`GET /metrics`: Prometheus text format (issue 13). Off unless METRICS_TOKEN is set; the
scraper sends it as `Authorization: Bearer <token>` (the figures say how busy each channel is,
nothing for the public)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from channels.sanitize import secrets_match
from gateway.admin import metrics
from gateway.api.deps import GatewayDep

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def prometheus(request: Request, gateway: GatewayDep) -> Response:
    token = gateway.settings.metrics_token
    if token is None:
        return JSONResponse({"message": "not found"}, status_code=404)
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not secrets_match(given, token.get_secret_value()):
        return JSONResponse(
            {"message": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    body = await asyncio.to_thread(metrics.render, gateway)
    return Response(body, media_type=metrics.CONTENT_TYPE)
