"""REST handlers: thin adapters from HTTP to the domain functions."""

from __future__ import annotations

from api.routes import ApiRoutes

from . import (
    airports,
    bookings,
    documents,
    flights,
    gotrue,
    me,
    pages,
    schedules,
    search,
    seats,
    service,
)

__all__ = ["ALL_ROUTES", "gotrue", "pages"]

ALL_ROUTES: tuple[ApiRoutes, ...] = (
    service.routes,
    airports.routes,
    flights.routes,
    pages.routes,
    search.routes,
    me.routes,
    bookings.routes,
    documents.routes,
    seats.routes,
    schedules.routes,
)
