"""The application factory: every resource is owned by a cleanup context."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack

from aiohttp import web
from swagger_ui import api_doc

import handlers
from domain.bookings.setup import bookings_context, seat_hold_reaper
from domain.search.setup import search_context
from server import keys
from server.database import connect, create_pool
from server.embedded import embedded_postgres
from server.identity import auth_context
from server.keys import ReadinessResult
from server.mailer import mail_outbox_context
from server.metrics import Metrics
from server.middleware import (
    add_response_headers,
    csrf_guard,
    problem_details,
    request_context,
)
from server.migrator import migrate
from server.openapi import build_openapi
from server.settings import Settings
from server.supervisor import Supervisor
from server.vault import user_data_context
from streams import sse_endpoints, ws_endpoint
from streams.realtime import announce_shutdown, realtime_context
from sync import endpoints as sync_endpoints
from sync.service import sync_context

log = logging.getLogger(__name__)

UPLOAD_MAX_BYTES = 2 * 1024 * 1024
API_TITLE = "Skybound API"
API_VERSION = "0.1.0"
API_DESCRIPTION = (
    "Realtime-first flight search and booking backend. Errors are RFC 9457 problem "
    "details (application/problem+json)."
)


async def supervision(app: web.Application) -> AsyncIterator[None]:
    """The supervisor of every background task; first up and last down, so each owner
    stops its own tasks before the resources they use go."""
    supervisor = Supervisor(app[keys.metrics_key])
    app[keys.supervisor_key] = supervisor

    async def background_tasks() -> ReadinessResult:
        down = supervisor.down()
        return (False, {"down": down}) if down else True

    app[keys.readiness_key]["background_tasks"] = background_tasks
    try:
        yield
    finally:
        app[keys.readiness_key].pop("background_tasks", None)
        await supervisor.stop_all()


async def database(app: web.Application) -> AsyncIterator[None]:
    """The request pool; an embedded PostgreSQL first when no DATABASE_URL is set."""
    settings = app[keys.settings_key]
    with ExitStack() as stack:
        url = settings.database_url
        if url is None:
            url = await asyncio.to_thread(stack.enter_context, embedded_postgres(settings.home))
        if settings.auto_migrate:
            conn = await connect(url, application_name="skybound-migrate")
            try:
                await migrate(conn)
            finally:
                await conn.close()
        pool = await create_pool(
            url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            statement_timeout_ms=settings.statement_timeout_ms,
        )
        app[keys.pool_key] = pool
        app[keys.database_url_key] = url
        collector = app[keys.metrics_key].watch_pool(pool)

        async def database_answers() -> bool:
            return bool(await pool.fetchval("SELECT 1"))

        app[keys.readiness_key]["database"] = database_answers
        try:
            yield
        finally:
            app[keys.readiness_key].pop("database", None)
            app[keys.metrics_key].unwatch(collector)
            await pool.close()
    # Leaving the ExitStack stops the embedded server, if this app started one.


def allow_cors(app: web.Application, origins: list[str]) -> None:
    """Browsers on these origins may call the API, with credentials and only the headers
    the API uses."""
    import aiohttp_cors

    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=True,
        allow_headers=("Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID",
                       "X-Request-ID", "X-CSRF-Token",
                       # supabase-js sends these with every auth call
                       "apikey", "X-Client-Info", "X-Supabase-Api-Version"),
        expose_headers=("X-Request-ID", "Retry-After", "Location"),
        allow_methods=("GET", "POST", "PUT", "PATCH", "DELETE"),
        max_age=600,
    )  # fmt: skip
    cors = aiohttp_cors.setup(app, defaults={origin: options for origin in origins})
    for route in list(app.router.routes()):
        if route.method != "HEAD":
            cors.add(route)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[request_context, problem_details, csrf_guard],
        # Uploads (avatars) may be larger than JSON bodies, which the route wrapper caps
        # at max_body_bytes itself.
        client_max_size=max(settings.max_body_bytes, UPLOAD_MAX_BYTES + 64 * 1024),
    )
    app[keys.settings_key] = settings
    app[keys.metrics_key] = Metrics()
    app[keys.readiness_key] = {}
    app.on_response_prepare.append(add_response_headers)
    app.cleanup_ctx.append(supervision)
    app.cleanup_ctx.append(database)
    app.cleanup_ctx.append(auth_context)
    app.cleanup_ctx.append(mail_outbox_context)
    app.cleanup_ctx.append(user_data_context)
    app.cleanup_ctx.append(seat_hold_reaper)
    app.cleanup_ctx.append(realtime_context)
    app.cleanup_ctx.append(search_context)
    app.cleanup_ctx.append(bookings_context)
    app.cleanup_ctx.append(sync_context)
    app.on_shutdown.append(announce_shutdown)

    route_groups = (*handlers.ALL_ROUTES, sse_endpoints.routes, ws_endpoint.routes,
                    sync_endpoints.routes)  # fmt: skip
    if settings.supabase_url is None:
        # Without a Supabase project, Skybound is its own auth server.
        route_groups = (*route_groups, handlers.gotrue.routes)
    operations = [op for group in route_groups for op in group.operations]
    for group in route_groups:
        group.add_to(app.router)
    app[keys.openapi_key] = build_openapi(
        operations, title=API_TITLE, version=API_VERSION, description=API_DESCRIPTION
    )
    handlers.pages.add_static(app)
    api_doc(app, config_rel_url="/openapi.json", url_prefix="/docs", title=API_TITLE)
    if settings.cors_origins:
        allow_cors(app, settings.cors_origins)
    return app
