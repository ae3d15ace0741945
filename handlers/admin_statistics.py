"""Statistics for staff with the `admin` or `ops` role."""

from __future__ import annotations

from aiohttp import web

from api.keys import pool_key
from api.routes import ApiRoutes
from domain.admin import statistics as stats
from domain.identity.tokens import Claims

routes = ApiRoutes()

STAFF = ("admin", "ops")
TAGS = ["admin: statistics"]


@routes.get("/v1/admin/stats/sales", summary="Bookings, cancellations, charges and refunds "
            "per day and currency (role: admin or ops)", query=stats.SalesQuery,
            response=stats.SalesReport, roles=STAFF, tags=TAGS)  # fmt: skip
async def sales_statistics(
    request: web.Request, query: stats.SalesQuery, user: Claims
) -> stats.SalesReport:
    """Days in UTC; at most 366 at a time."""
    return await stats.sales_report(request.app[pool_key], query)


@routes.get("/v1/admin/stats/load-factor", summary="Seats sold over capacity per route or "
            "flight (role: admin or ops)", query=stats.LoadQuery, response=stats.LoadReport,
            roles=STAFF, tags=TAGS)  # fmt: skip
async def load_factor_statistics(
    request: web.Request, query: stats.LoadQuery, user: Claims
) -> stats.LoadReport:
    """Legs by service date, cancelled ones left out; at most 31 days, fullest first."""
    return await stats.load_report(request.app[pool_key], query)
