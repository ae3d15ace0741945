"""System monitoring for staff with the `ops` role: each worker's figures and the fleet's."""

from __future__ import annotations

from aiohttp import web

from api.keys import metrics_key, pool_key
from api.routes import ApiRoutes
from domain.admin.system import SystemReport, system_report
from domain.identity.tokens import Claims

routes = ApiRoutes()


@routes.get("/v1/admin/system", summary="Streams, change listener, outbox, jobs, pools, errors "
            "and versions, per worker and for the instance (role: ops)", response=SystemReport,
            roles=("ops",), tags=["admin: system"])  # fmt: skip
async def system_figures(request: web.Request, user: Claims) -> SystemReport:
    """This worker's figures as of now, every other worker's as it last published them
    (every 2 seconds), and their sum in `fleet`. `GET /v1/admin/system/stream` sends the
    same report every few seconds."""
    figures = request.app[metrics_key].by_worker()
    return await system_report(request.app[pool_key], figures)
