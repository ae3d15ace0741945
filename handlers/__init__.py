"""REST handlers: thin adapters from HTTP to the domain functions."""

from __future__ import annotations

from api.routes import ApiRoutes

from . import (
    admin_bookings,
    admin_flights,
    admin_statistics,
    admin_system,
    admin_users,
    airports,
    bookings,
    check_in,
    documents,
    flights,
    gotrue,
    gotrue_oauth,
    mail,
    me,
    pages,
    schedules,
    search,
    seats,
    service,
)

__all__ = ["ALL_ROUTES", "gotrue", "gotrue_oauth", "pages"]

ALL_ROUTES: tuple[ApiRoutes, ...] = (
    service.routes,
    airports.routes,
    flights.routes,
    pages.routes,
    search.routes,
    me.routes,
    bookings.routes,
    documents.routes,
    check_in.routes,
    seats.routes,
    admin_flights.routes,
    admin_users.routes,
    admin_bookings.routes,
    admin_statistics.routes,
    admin_system.routes,
    mail.routes,
    schedules.routes,
)
