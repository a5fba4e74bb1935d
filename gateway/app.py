"""The FastAPI application: routes, error pages, and the background parts' lifecycle."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.messages import language, t
from config.settings import Settings, get_settings
from forwarder.simulator.server import serve_simulator, simulator_options
from gateway.api import admin_deps
from gateway.api.headers import SecurityHeaders
from gateway.api.pages import STATIC_DIR, render, request_language
from gateway.api.ratelimit import RateLimitMiddleware, RateLimits, build_storage
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
    admin_tiktok,
    admin_unreadable,
    admin_workplace,
    complaints_api,
    core_events,
    health,
    media,
    metrics,
    open311,
    public,
    public_map,
    publication,
    reporter_page,
    webhooks,
)
from gateway.context import Gateway
from gateway.dev import demo, demo_mail
from gateway.jobs.scheduler import Scheduler
from gateway.store.db import UNAVAILABLE_ERRORS, is_unavailable

log = logging.getLogger(__name__)

# How long a client should wait before trying again after a 503 (database unreachable).
RETRY_AFTER_SECONDS = 30


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/webhooks/", "/core/")) or (
        "application/json" in request.headers.get("accept", "")
    )


def create_app(settings: Settings | None = None, gateway: Gateway | None = None) -> FastAPI:
    settings = settings or get_settings()
    demo_mode = gateway is None and demo.is_demo(settings)
    settings_before_demo = settings
    settings = demo.demo_settings(settings)
    gateway = gateway or Gateway.create(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        background: list[asyncio.Task[object]] = []
        stop_simulator = asyncio.Event()
        scheduler = None
        mail = None
        if demo_mode and demo_mail.wanted(settings_before_demo):
            # The demo's SMTP network and IMAP mailbox, before the pollers start reading it.
            mail = demo_mail.DemoMail(gateway)
            await asyncio.to_thread(mail.start)
        if demo_mode and settings.core_backend == "simulator":
            background.append(
                asyncio.create_task(
                    serve_simulator(**simulator_options(settings), stop=stop_simulator)
                )
            )
        # Sync routes run in this many threads (writes never run on the event loop); the
        # connection pool is sized to match (gateway/jobs/workers.py).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web_threads
        if settings.scheduler_enabled:
            # One machine: the jobs run here. Several instances: SCHEDULER_ENABLED=false on
            # the web processes, and `lapor-gateway worker` runs them (docs/deploy.md).
            # Telegram polling and the pollers are the leader's (gateway/jobs/scheduler.py).
            scheduler = Scheduler(gateway)
            scheduler.start()
            app.state.scheduler = scheduler
            # Messages stored before a crash are processed now, without delaying start-up.
            background.append(asyncio.create_task(scheduler.resume_all_inbound()))
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown()
                await scheduler.stopped()
            stop_simulator.set()
            await asyncio.gather(*background, return_exceptions=True)
            if mail is not None:
                await asyncio.to_thread(mail.stop)
            gateway.db.dispose()

    app = FastAPI(
        title="lapor-gateway",
        version="0.1.0",
        description="Multi-channel intake gateway and bot for SP4N-LAPOR!",
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    app.state.scheduler = None
    app.state.rate_limits = None
    # Innermost of the middlewares: a webhook skips the router, yet gets the security headers.
    app.add_middleware(webhooks.WebhookDoor, gateway=gateway)
    if settings.rate_limit_enabled:
        rate_limits = RateLimits(settings, build_storage(settings, gateway.db))
        app.state.rate_limits = rate_limits
        app.add_middleware(RateLimitMiddleware, limits=rate_limits)
    app.add_middleware(
        SecurityHeaders,
        public_https=settings.public_base_url.startswith("https://"),
        image_urls=(settings.map_tile_url,),
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(public.router)
    app.include_router(reporter_page.router)
    app.include_router(public_map.router)  # before /publikasi/{month}: its own paths
    app.include_router(publication.router)
    app.include_router(complaints_api.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(media.router)
    app.include_router(webhooks.router)
    app.include_router(core_events.router)
    app.include_router(open311.router)
    if demo_mode:
        demo.DemoProviders(gateway.db, settings).mount(app)
    admin_deps.install(app, settings)
    for admin_router in (
        admin_auth.router,
        admin_inbox.router,
        admin_workplace.router,  # before the actions' catch-all /admin/complaints/{code}/{action}
        admin_actions.router,
        admin_entry.router,
        admin_tiktok.router,
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
    @app.exception_handler(UNAVAILABLE_ERRORS[2])
    async def database_error(request: Request, exc: Exception) -> Response:
        lang = request_language(request)
        if is_unavailable(exc):
            # Only the exception's class: its text holds the statement's parameters.
            log.error(
                "database unavailable",
                extra={"path": request.url.path, "error": type(exc).__name__},
            )
            # A page that only reads saved nothing, so it must not say "not saved".
            key = (
                "errors.service_unavailable_read"
                if request.method in ("GET", "HEAD")
                else "errors.service_unavailable"
            )
            status, headers = 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
        else:
            # The database refused what this request carried: retrying cannot help.
            log.warning(
                "database refused the request's data",
                extra={
                    "path": request.url.path,
                    "error": type(exc).__name__,
                    "sqlstate": getattr(getattr(exc, "orig", None), "sqlstate", None),
                },
            )
            key, status, headers = "errors.data_refused", 422, {}
        message = t(lang, key)
        if _wants_json(request):
            return JSONResponse(
                {"message": message, "errors": {}}, status_code=status, headers=headers
            )
        response = render(request, "error.html", {"message": message}, status_code=status)
        response.headers.update(headers)
        return response

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


def web_process() -> FastAPI:
    """The app of one of `lapor-gateway serve --workers N`'s processes (uvicorn's factory):
    settings from the environment, logging configured in this process."""
    from gateway import logs

    settings = get_settings()
    logs.configure(settings.log_level, settings.log_format)
    return create_app(settings)
