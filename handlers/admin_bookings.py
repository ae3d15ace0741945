"""Booking lookup for the `agent` role, and agents acting for the passenger."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from aiohttp import web
from pydantic import Field, StringConstraints

from api.auth import staff_actor
from api.keys import bookings_key, changes_key, pool_key
from api.routes import ApiRoutes
from domain.admin.bookings import find_bookings
from domain.admin.on_behalf import (
    AgentCancellation,
    AgentChange,
    BookingHistory,
    acting_for,
    booking_history,
)
from domain.bookings.changes import ChangeQuoteRequest
from domain.bookings.errors import (
    AlreadyCancelled,
    AlreadyFlown,
    BookingNotChangeable,
    BookingNotFound,
    InvalidOffer,
    OfferExpired,
    PaymentDeclined,
    PaymentProviderUnavailable,
    PriceChanged,
    QuoteExpired,
    QuoteNotFound,
    QuoteStale,
    SoldOut,
)
from domain.bookings.models import Booking, BookingPage
from domain.bookings.quotes import Quote
from domain.identity.tokens import Claims
from foundation.models import StrictModel
from handlers.bookings import booking_response

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


# On the passenger's behalf -------------------------------------------------------------


@routes.post("/v1/admin/bookings/{booking_id}/cancellation-quotes",
             summary="Price a cancellation for the passenger (role: agent)",
             path_params=AdminBookingPath, response=Quote, status=201,
             errors=[BookingNotFound, AlreadyCancelled, AlreadyFlown], roles=AGENT,
             tags=TAGS)  # fmt: skip
async def agent_cancellation_quote(
    request: web.Request, path: AdminBookingPath, user: Claims
) -> Quote:
    """The passenger's own rules and prices; valid for 15 minutes while the booking is
    unchanged."""
    return await request.app[bookings_key].quote_cancellation(
        path.booking_id, user.user_id, user.app_roles
    )


@routes.post("/v1/admin/bookings/{booking_id}/cancellations",
             summary="Cancel as quoted, for the passenger (role: agent)",
             path_params=AdminBookingPath, body=AgentCancellation, response=Booking,
             errors=[BookingNotFound, QuoteNotFound, QuoteExpired, QuoteStale, AlreadyFlown],
             roles=AGENT, tags=TAGS)  # fmt: skip
async def agent_cancel(
    request: web.Request, path: AdminBookingPath, body: AgentCancellation, user: Claims
) -> web.Response:
    """Recorded in the audit log and the booking's history with the `reason`. Confirming
    the same quote again returns the same result (`Idempotent-Replayed: true`)."""
    result, replayed = await request.app[bookings_key].cancel(
        path.booking_id, body.quote_id, user.user_id, user.app_roles,
        by=acting_for(staff_actor(request, user), body.reason),
    )  # fmt: skip
    return booking_response(result, replayed)


@routes.post("/v1/admin/bookings/{booking_id}/change-quotes",
             summary="Price a change for the passenger (role: agent)",
             path_params=AdminBookingPath, body=ChangeQuoteRequest, response=Quote, status=201,
             errors=[BookingNotFound, AlreadyCancelled, AlreadyFlown, BookingNotChangeable,
                     InvalidOffer, OfferExpired], roles=AGENT, tags=TAGS)  # fmt: skip
async def agent_change_quote(
    request: web.Request, path: AdminBookingPath, body: ChangeQuoteRequest, user: Claims
) -> Quote:
    """The passenger's own rules and prices."""
    return await request.app[changes_key].quote(
        path.booking_id, body.change, user.user_id, user.app_roles
    )


@routes.post("/v1/admin/bookings/{booking_id}/changes",
             summary="Make a change as quoted, for the passenger (role: agent)",
             path_params=AdminBookingPath, body=AgentChange, response=Booking,
             errors=[BookingNotFound, QuoteNotFound, QuoteExpired, QuoteStale, PriceChanged,
                     SoldOut, PaymentDeclined, PaymentProviderUnavailable], roles=AGENT,
             tags=TAGS)  # fmt: skip
async def agent_change(
    request: web.Request, path: AdminBookingPath, body: AgentChange, user: Claims
) -> web.Response:
    """A charge goes to the card sent (or one the passenger saved). Recorded in the audit
    log and the booking's history with the `reason`; idempotent by quote."""
    result, replayed = await request.app[changes_key].confirm(
        path.booking_id, body, user.user_id, user.app_roles,
        by=acting_for(staff_actor(request, user), body.reason),
    )  # fmt: skip
    return booking_response(result, replayed)


@routes.get("/v1/admin/bookings/{booking_id}/history",
            summary="Who changed or cancelled the booking, and why (role: agent)",
            path_params=AdminBookingPath, response=BookingHistory, errors=[BookingNotFound],
            roles=AGENT, tags=TAGS)  # fmt: skip
async def agent_booking_history(
    request: web.Request, path: AdminBookingPath, user: Claims
) -> BookingHistory:
    return await booking_history(request.app[pool_key], path.booking_id)
