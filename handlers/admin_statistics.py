"""Statistics for staff with the `admin` or `ops` role."""

from __future__ import annotations

from aiohttp import web

from api.keys import pool_key
from api.routes import ApiRoutes
from domain.admin import route_statistics as routes_stats
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


@routes.get("/v1/admin/stats/refunds", summary="Cancellations and refunds per day, currency "
            "and cause (role: admin or ops)", query=stats.SalesQuery,
            response=stats.RefundReport, roles=STAFF, tags=TAGS)  # fmt: skip
async def refund_statistics(
    request: web.Request, query: stats.SalesQuery, user: Claims
) -> stats.RefundReport:
    """Days in UTC; at most 366 at a time."""
    return await stats.refund_report(request.app[pool_key], query)


@routes.get("/v1/admin/stats/top-routes", summary="The routes with the most bookings "
            "(role: admin or ops)", query=routes_stats.TopRoutesQuery,
            response=routes_stats.TopRoutesReport, roles=STAFF, tags=TAGS)  # fmt: skip
async def top_routes_statistics(
    request: web.Request, query: routes_stats.TopRoutesQuery, user: Claims
) -> routes_stats.TopRoutesReport:
    """Bookings made on the UTC days asked for (at most 366), by outbound route."""
    return await routes_stats.top_routes(request.app[pool_key], query)


@routes.get("/v1/admin/stats/seat-take-up", summary="Share of passengers holding a seat, "
            "and a paid one, per route or flight (role: admin or ops)",
            query=routes_stats.SeatQuery, response=routes_stats.SeatReport, roles=STAFF,
            tags=TAGS)  # fmt: skip
async def seat_take_up_statistics(
    request: web.Request, query: routes_stats.SeatQuery, user: Claims
) -> routes_stats.SeatReport:
    """Legs by service date, cancelled ones left out; at most 31 days."""
    return await routes_stats.seat_take_up(request.app[pool_key], query)
