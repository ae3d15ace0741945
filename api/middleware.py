"""Request context (id, timing, metrics) and the single place errors become responses."""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from typing import Any

import asyncpg
import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from api.keys import metrics_key, settings_key
from api.problems import problem_of
from foundation.database import UNREACHABLE
from foundation.errors import (
    PROBLEM_CONTENT_TYPE,
    NotPermitted,
    Problem,
    ServiceUnavailable,
    SkyboundError,
)
from foundation.logs import request_id_var

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only if it is short and plain, so it is safe to log and echo.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
request_id_key: web.RequestKey[str] = web.RequestKey("request_id")


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body),
        status=int(body["status"]),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def _route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id, time it, and count it by route template."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    request[request_id_key] = request_id
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        metrics = request.app[metrics_key]
        route = _route_label(request)
        metrics.latency.labels(request.method, route).observe(time.perf_counter() - started)
        metrics.requests.labels(request.method, route, str(status)).inc()
        request_id_var.reset(token)


class DatabaseBusy(ServiceUnavailable):
    slug = "database-busy"
    title = "The database is busy"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, retry_after=2)


class DatabaseUnavailable(ServiceUnavailable):
    slug = "database-unavailable"
    title = "The database is unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, retry_after=2)


@web.middleware
async def problem_details(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into application/problem+json; a 500 never echoes the exception."""
    try:
        return await handler(request)
    except SkyboundError as exc:
        _, body, headers = problem_of(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = Problem(exc.status, exc.reason).as_dict()
        if isinstance(exc, web.HTTPMethodNotAllowed):
            body["allowed_methods"] = sorted(exc.allowed_methods)
        if isinstance(exc, web.HTTPRequestEntityTooLarge):
            body["detail"] = "The request body is larger than this server accepts."
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
    except (asyncpg.QueryCanceledError, asyncpg.LockNotAvailableError):
        # A statement or lock wait ran out of time: the database is overloaded or a row
        # is contended. Nothing was committed; the client may retry.
        log.warning("database timeout", extra={"path": request.path})
        busy = DatabaseBusy("The database is busy; nothing was changed. Try again shortly.")
        _, body, headers = problem_of(busy)
    except UNREACHABLE as exc:
        log.warning("database unreachable", extra={"path": request.path, "error": repr(exc)})
        down = DatabaseUnavailable("The database cannot be reached; try again shortly.")
        _, body, headers = problem_of(down)
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        body = Problem(500, "Internal Server Error", "Something went wrong on our side.").as_dict()
        headers = None
    body["instance"] = request.path
    body["request_id"] = request.get(request_id_key)
    return problem_response(body, headers)


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_COOKIE = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class CsrfRejected(NotPermitted):
    slug = "csrf-rejected"
    title = "Cross-site request refused"


@web.middleware
async def csrf_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse state-changing requests that ride on cookies unless they prove same-site.

    Bearer requests are immune (a browser never adds the header by itself) and pass.
    A request that carries cookies and no bearer token must come from an allowed
    origin and echo the ``csrf_token`` cookie in ``X-CSRF-Token`` (double submit).
    """
    if request.method not in UNSAFE_METHODS or not request.cookies:
        return await handler(request)
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return await handler(request)
    settings = request.app[settings_key]
    origin = request.headers.get("Origin")
    same_origin = origin is not None and origin.split("://", 1)[-1] == request.host
    if origin is None or not (same_origin or origin in settings.cors_origins):
        raise CsrfRejected("A cookie-authenticated write must come from an allowed Origin.")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not cookie or not hmac.compare_digest(cookie, sent):
        raise CsrfRejected(f"Send the {CSRF_COOKIE} cookie's value in {CSRF_HEADER}.")
    return await handler(request)


def client_ip(request: web.Request) -> str:
    """The caller's address: the peer, or behind ``trusted_proxy_hops`` proxies, the
    address the outermost trusted proxy saw (earlier X-Forwarded-For entries are
    the client's own claims and cannot be trusted)."""
    hops = request.app[settings_key].trusted_proxy_hops
    if hops:
        forwarded = [
            part.strip()
            for header in request.headers.getall("X-Forwarded-For", [])
            for part in header.split(",")
            if part.strip()
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote or "unknown"


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# The board page loads only its own script and styles.
PAGE_CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


async def add_response_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Request id and security headers on every response, streamed ones included."""
    request_id = request.get(request_id_key)
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.content_type == "text/html" and request.path.startswith("/boards/"):
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    if request.path.startswith("/static/"):
        # Vendored libraries sit under a versioned directory: a new version is a new URL.
        # The pages' own assets revalidate (aiohttp sends ETag and Last-Modified).
        immutable = request.path.startswith("/static/vendor/")
        response.headers.setdefault(
            "Cache-Control", "public, max-age=31536000, immutable" if immutable else "no-cache"
        )
