"""Service endpoints: liveness, readiness, metrics and the API description."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field

from api.keys import ReadinessCheck, metrics_key, openapi_key, readiness_key
from api.routes import ApiRoutes
from handlers import examples

routes = ApiRoutes()

READINESS_TIMEOUT = 2.0


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.HEALTH]})

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.READINESS]})

    status: Literal["ready", "not_ready"]
    checks: dict[str, bool]
    details: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="What some checks measured, e.g. `change_listener_lag`: events released "
        "in the log but not yet published by this process.",
    )


@routes.get("/healthz", summary="Liveness", response=Health, tags=["service"])
async def healthz(request: web.Request) -> Health:
    """The process is up and serving; says nothing about its dependencies."""
    return Health()


async def _run_check(check: ReadinessCheck) -> tuple[bool, dict[str, Any] | None]:
    try:
        result = await asyncio.wait_for(check(), READINESS_TIMEOUT)
    except Exception:
        return False, None
    if isinstance(result, tuple):
        return bool(result[0]), result[1]
    return bool(result), None


@routes.get(
    "/readyz",
    summary="Readiness",
    response=Readiness,
    responses={503: "A dependency is not ready (same body, status not_ready)."},
    tags=["service"],
)
async def readyz(request: web.Request) -> web.Response:
    """503 until every dependency answers: the database, the change listener (connected,
    its task alive, and not stuck behind the log), and every critical background task."""
    checks = request.app[readiness_key]
    results = await asyncio.gather(*(_run_check(c) for c in checks.values()))
    named = {name: passed for name, (passed, _) in zip(checks, results, strict=True)}
    details = {
        name: detail
        for name, (_, detail) in zip(checks, results, strict=True)
        if detail is not None
    }
    ready = all(named.values())
    body = Readiness(status="ready" if ready else "not_ready", checks=named, details=details)
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
    examples={200: examples.METRICS},
    tags=["service"],
)
async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[metrics_key].render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


@routes.get("/openapi.json", summary="This API's OpenAPI 3.1 description", tags=["service"])
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[openapi_key])
