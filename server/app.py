"""The application factory: every resource is owned by a cleanup context."""

from __future__ import annotations

import logging

from aiohttp import web
from swagger_ui import api_doc

import handlers
from api import keys
from api.middleware import (
    add_response_headers,
    csrf_guard,
    problem_details,
    request_context,
)
from api.openapi import build_openapi
from api.rate_limiting import rate_limit
from foundation.metrics import Metrics
from foundation.settings import Settings
from server.contexts import CONTEXTS
from streams import sse_endpoints, system_stream, ws_endpoint
from streams.phoenix import endpoint as realtime_compat_endpoint
from sync import endpoints as sync_endpoints

log = logging.getLogger(__name__)

UPLOAD_MAX_BYTES = 2 * 1024 * 1024
API_TITLE = "Skybound API"
API_VERSION = "0.1.0"
API_DESCRIPTION = (
    "Realtime-first flight search and booking backend. Errors are RFC 9457 problem "
    "details (application/problem+json)."
)


async def announce_shutdown(app: web.Application) -> None:
    """on_shutdown: tell stream clients to reconnect before the server waits for handlers."""
    realtime = app.get(keys.realtime_key)
    if realtime is not None:
        realtime.shutdown()


def allow_cors(app: web.Application, origins: list[str]) -> None:
    """Browsers on these origins may call the API, with credentials and only the headers
    the API uses."""
    import aiohttp_cors

    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=True,
        allow_headers=("Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID",
                       "If-Match",
                       "X-Request-ID", "X-CSRF-Token",
                       # supabase-js sends these with every auth call
                       "apikey", "X-Client-Info", "X-Supabase-Api-Version"),
        expose_headers=("X-Request-ID", "Retry-After", "Location", "ETag", "RateLimit",
                        "RateLimit-Policy"),
        allow_methods=("GET", "POST", "PUT", "PATCH", "DELETE"),
        max_age=600,
    )  # fmt: skip
    cors = aiohttp_cors.setup(app, defaults={origin: options for origin in origins})
    for route in list(app.router.routes()):
        if route.method != "HEAD":
            cors.add(route)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[request_context, problem_details, rate_limit, csrf_guard],
        # Uploads (avatars) may be larger than JSON bodies, which the route wrapper caps
        # at max_body_bytes itself.
        client_max_size=max(settings.max_body_bytes, UPLOAD_MAX_BYTES + 64 * 1024),
    )
    app[keys.settings_key] = settings
    app[keys.metrics_key] = Metrics()
    app[keys.readiness_key] = {}
    app.on_response_prepare.append(add_response_headers)
    app.cleanup_ctx.extend(CONTEXTS)
    app.on_shutdown.append(announce_shutdown)

    route_groups = (*handlers.ALL_ROUTES, sse_endpoints.routes, ws_endpoint.routes,
                    system_stream.routes, realtime_compat_endpoint.routes,
                    sync_endpoints.routes)  # fmt: skip
    if settings.supabase_url is None:
        # Without a Supabase project, Skybound is its own auth server.
        route_groups = (*route_groups, handlers.gotrue.routes, handlers.gotrue_oauth.routes)
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
