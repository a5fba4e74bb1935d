"""The FastAPI application: routes, error pages, and the background parts' lifecycle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.messages import language, t
from config.settings import Settings, get_settings
from forwarder.simulator.server import serve_simulator, simulator_options
from gateway.api import admin_deps
from gateway.api.pages import STATIC_DIR, render, request_language
from gateway.api.routes import (
    admin_actions,
    admin_auth,
    admin_directory,
    admin_entry,
    admin_holidays,
    admin_inbox,
    admin_lapor,
    admin_outbox,
    admin_reports,
    admin_simulator,
    admin_unreadable,
    complaints_api,
    core_events,
    health,
    media,
    open311,
    public,
    publication,
    reporter_page,
    webhooks,
)
from gateway.context import Gateway
from gateway.dev import demo
from gateway.intake import inbound as intake
from gateway.intake.webhooks import telegram_polling
from gateway.jobs.scheduler import Scheduler
from gateway.store.db import UNAVAILABLE_ERRORS

log = logging.getLogger(__name__)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/webhooks/", "/core/")) or (
        "application/json" in request.headers.get("accept", "")
    )


def create_app(settings: Settings | None = None, gateway: Gateway | None = None) -> FastAPI:
    settings = settings or get_settings()
    demo_mode = gateway is None and demo.is_demo(settings)
    settings = demo.demo_settings(settings)
    gateway = gateway or Gateway.create(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background: list[asyncio.Task[object]] = []
        stop_simulator = asyncio.Event()
        scheduler = None
        if demo_mode and settings.core_backend == "simulator":
            background.append(
                asyncio.create_task(
                    serve_simulator(**simulator_options(settings), stop=stop_simulator)
                )
            )
        if settings.scheduler_enabled:
            scheduler = Scheduler(gateway)
            scheduler.start()
            app.state.scheduler = scheduler
            # Messages stored before a crash are processed now, without delaying start-up.
            background.append(asyncio.create_task(asyncio.to_thread(intake.resume, gateway)))
        polling = None
        if settings.telegram_mode == "polling" and settings.telegram_bot_token is not None:
            polling = asyncio.create_task(telegram_polling(gateway))
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown()
            stop_simulator.set()
            if polling is not None:
                polling.cancel()  # it polls forever; the others finish on their own
                background.append(polling)
            await asyncio.gather(*background, return_exceptions=True)
            gateway.db.dispose()

    app = FastAPI(
        title="lapor-gateway",
        version="0.1.0",
        description="Multi-channel intake gateway and bot for SP4N-LAPOR!",
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    app.state.scheduler = None
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(public.router)
    app.include_router(reporter_page.router)
    app.include_router(publication.router)
    app.include_router(complaints_api.router)
    app.include_router(health.router)
    app.include_router(media.router)
    app.include_router(webhooks.router)
    app.include_router(core_events.router)
    app.include_router(open311.router)
    if demo_mode:
        demo.DemoProviders(gateway.db).mount(app)
    admin_deps.install(app, settings)
    for admin_router in (
        admin_auth.router,
        admin_inbox.router,
        admin_actions.router,
        admin_entry.router,
        admin_lapor.router,
        admin_directory.router,
        admin_outbox.router,
        admin_unreadable.router,
        admin_reports.router,
        admin_holidays.router,
        admin_simulator.router,
    ):
        app.include_router(admin_router)

    @app.exception_handler(UNAVAILABLE_ERRORS[0])
    @app.exception_handler(UNAVAILABLE_ERRORS[1])
    async def database_unavailable(request: Request, exc: Exception) -> Response:
        log.error(
            "database unavailable", extra={"path": request.url.path, "error": type(exc).__name__}
        )
        lang = request_language(request)
        message = t(lang, "errors.service_unavailable")
        if _wants_json(request):
            return JSONResponse({"message": message, "errors": {}}, status_code=503)
        return render(request, "error.html", {"message": message}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        lang = language(request.query_params.get("lang"))
        errors = {
            ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "header")): t(
                lang, "errors.invalid_value"
            )
            for err in exc.errors()
        }
        return JSONResponse(
            {"message": t(lang, "form.errors_title"), "errors": errors}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse(
                {"message": str(exc.detail), "errors": {}},
                status_code=exc.status_code,
                headers=getattr(exc, "headers", None),
            )
        lang = request_language(request)
        message = t(lang, "errors.not_found") if exc.status_code == 404 else str(exc.detail)
        return render(request, "error.html", {"message": message}, status_code=exc.status_code)

    return app
