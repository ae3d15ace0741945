"""Booking lookup for the `agent` role."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from aiohttp import web
from pydantic import Field, StringConstraints

from api.keys import bookings_key, pool_key
from api.routes import ApiRoutes
from domain.admin.bookings import find_bookings
from domain.bookings.errors import BookingNotFound
from domain.bookings.models import Booking, BookingPage
from domain.identity.tokens import Claims
from foundation.models import StrictModel

routes = ApiRoutes()

AGENT = ("agent",)
TAGS = ["admin: bookings"]


class BookingQuery(StrictModel):
    locator: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9]{6}$", to_upper=True),
        Field(description="Record locator."),
    ] | None = None  # fmt: skip
    passenger: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100),
        Field(description="The start of a passenger's family name, in any case."),
    ] | None = None  # fmt: skip
    flight_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = None
    travel_date: Annotated[date, Field(description="Service date of any leg.")] | None = None
    user_id: uuid.UUID | None = None
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class AdminBookingPath(StrictModel):
    booking_id: uuid.UUID


@routes.get("/v1/admin/bookings", summary="Find bookings (role: agent)", query=BookingQuery,
            response=BookingPage, roles=AGENT, tags=TAGS)  # fmt: skip
async def find_admin_bookings(
    request: web.Request, query: BookingQuery, user: Claims
) -> BookingPage:
    """Every filter given must match; newest first, a page at a time."""
    return await find_bookings(
        request.app[pool_key], locator=query.locator, passenger=query.passenger,
        flight_id=query.flight_id, travel_date=query.travel_date, user_id=query.user_id,
        cursor=query.cursor, limit=query.limit,
    )  # fmt: skip


@routes.get("/v1/admin/bookings/{booking_id}", summary="One booking whole (role: agent)",
            path_params=AdminBookingPath, response=Booking, errors=[BookingNotFound],
            roles=AGENT, tags=TAGS)  # fmt: skip
async def admin_booking(request: web.Request, path: AdminBookingPath, user: Claims) -> Booking:
    return await request.app[bookings_key].get(path.booking_id, user.user_id, user.app_roles)
