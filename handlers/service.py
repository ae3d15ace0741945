"""Service endpoints: liveness, readiness, metrics and the API description."""

from __future__ import annotations

import asyncio
from typing import Literal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from server.api import ApiRoutes
from server.keys import metrics_key, openapi_key, readiness_key

routes = ApiRoutes()

READINESS_TIMEOUT = 2.0


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, bool]


@routes.get("/healthz", summary="Liveness", response=Health, tags=["service"])
async def healthz(request: web.Request) -> Health:
    """The process is up and serving; says nothing about its dependencies."""
    return Health()


async def _run_check(check: object) -> bool:
    try:
        return bool(await asyncio.wait_for(check(), READINESS_TIMEOUT))  # type: ignore[operator]
    except Exception:
        return False


@routes.get(
    "/readyz",
    summary="Readiness",
    response=Readiness,
    responses={503: "A dependency is not ready (same body, status not_ready)."},
    tags=["service"],
)
async def readyz(request: web.Request) -> web.Response:
    """503 until every dependency (the database, later the change listener) answers."""
    checks = request.app[readiness_key]
    results = await asyncio.gather(*(_run_check(c) for c in checks.values()))
    named = dict(zip(checks, results, strict=True))
    ready = all(results)
    body = Readiness(status="ready" if ready else "not_ready", checks=named)
    return web.Response(
        body=body.model_dump_json(),
        status=200 if ready else 503,
        content_type="application/json",
    )


@routes.get(
    "/metrics",
    summary="Prometheus metrics",
    response=str,
    response_content_type="text/plain",
    tags=["service"],
)
async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[metrics_key].render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


@routes.get("/openapi.json", summary="This API's OpenAPI 3.1 description", tags=["service"])
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[openapi_key])
