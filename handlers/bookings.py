"""Bookings: create from an offer, read one, and a traveller's history."""

from __future__ import annotations

import uuid
from typing import Annotated

import orjson
from aiohttp import web
from pydantic import ConfigDict, Field

from api.keys import bookings_key, changes_key
from api.routes import JSON_CONTENT_TYPE, ApiRoutes
from domain.bookings.changes import ChangeConfirmation, ChangeQuoteRequest
from domain.bookings.errors import (
    AlreadyCancelled,
    AlreadyFlown,
    BookingNotChangeable,
    BookingNotFound,
    FlightNotBookable,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InvalidOffer,
    InvalidPassenger,
    OfferExpired,
    PassengersMismatch,
    PaymentDeclined,
    PaymentMethodNotFound,
    PaymentProviderUnavailable,
    PriceChanged,
    QuoteExpired,
    QuoteNotFound,
    QuoteStale,
    SoldOut,
)
from domain.bookings.models import Booking, BookingPage, BookingRequest
from domain.bookings.queries import HistoryView
from domain.bookings.quotes import Quote
from domain.identity.tokens import Claims
from foundation.models import StrictModel
from handlers import examples

routes = ApiRoutes()

IDEMPOTENCY_HEADER = (
    "Idempotency-Key",
    "Unique per booking attempt (1-255 printable ASCII characters). A retry with the same "
    "key and body returns the first result; with another body, 422.",
    True,
)


@routes.post(
    "/v1/bookings",
    summary="Book an offer: seats, payment and tickets in one step",
    body=BookingRequest,
    response=Booking,
    status=201,
    auth=True,
    headers=[IDEMPOTENCY_HEADER],
    errors=[
        IdempotencyKeyRequired, IdempotencyKeyReused, InvalidOffer, OfferExpired, PriceChanged,
        SoldOut, FlightNotBookable, PassengersMismatch, InvalidPassenger, PaymentMethodNotFound,
        PaymentDeclined, PaymentProviderUnavailable,
    ],
    tags=["bookings"],
)  # fmt: skip
async def create_booking(request: web.Request, body: BookingRequest, user: Claims) -> web.Response:
    """The offer is priced again; the booking is made only at the offered price. Inventory,
    seats, booking, payment and tickets commit together or not at all. The response of a
    replayed request carries `Idempotent-Replayed: true`."""
    result = await request.app[bookings_key].book(
        user, body, request.headers.get("Idempotency-Key")
    )
    response = web.Response(body=result.body, status=result.status, content_type=JSON_CONTENT_TYPE)
    response.headers["Location"] = f"/v1/bookings/{result.booking_id}"
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


class BookingPath(StrictModel):
    booking_id: uuid.UUID


@routes.get(
    "/v1/bookings/{booking_id}",
    summary="A booking",
    path_params=BookingPath,
    response=Booking,
    auth=True,
    errors=[BookingNotFound],
    tags=["bookings"],
)
async def booking(request: web.Request, path: BookingPath, user: Claims) -> Booking:
    """Visible to its owner, and to agents and admins. Anyone else gets 404."""
    return await request.app[bookings_key].get(path.booking_id, user.user_id, user.app_roles)


class HistoryQuery(StrictModel):
    view: HistoryView = "upcoming"
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, Field(max_length=512)] = None


@routes.get(
    "/v1/me/bookings",
    summary="The signed-in user's bookings",
    query=HistoryQuery,
    response=BookingPage,
    auth=True,
    tags=["bookings"],
)
async def my_bookings(request: web.Request, query: HistoryQuery, user: Claims) -> BookingPage:
    """`upcoming` (soonest first), `past` (latest first) or `cancelled` (latest first),
    a page at a time: pass `next_cursor` back as `cursor`."""
    return await request.app[bookings_key].history(
        user.user_id, query.view, query.limit, query.cursor
    )


# Cancellations --------------------------------------------------------------------------


class QuoteConfirmation(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.QUOTE_CONFIRMATION]})

    quote_id: uuid.UUID


def booking_response(body: dict[str, object], replayed: bool) -> web.Response:
    response = web.Response(body=orjson.dumps(body), content_type=JSON_CONTENT_TYPE)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@routes.post(
    "/v1/bookings/{booking_id}/cancellation-quotes",
    summary="Price a cancellation: refund and fees under the fare's rules",
    path_params=BookingPath,
    response=Quote,
    status=201,
    auth=True,
    errors=[BookingNotFound, AlreadyCancelled, AlreadyFlown],
    tags=["bookings"],
)
async def cancellation_quote(request: web.Request, path: BookingPath, user: Claims) -> Quote:
    """Valid for 15 minutes, and only while the booking is unchanged."""
    return await request.app[bookings_key].quote_cancellation(
        path.booking_id, user.user_id, user.app_roles
    )


@routes.post(
    "/v1/bookings/{booking_id}/cancellations",
    summary="Cancel the booking as quoted",
    path_params=BookingPath,
    body=QuoteConfirmation,
    response=Booking,
    auth=True,
    errors=[BookingNotFound, QuoteNotFound, QuoteExpired, QuoteStale, AlreadyFlown],
    tags=["bookings"],
)
async def cancel(
    request: web.Request, path: BookingPath, body: QuoteConfirmation, user: Claims
) -> web.Response:
    """Seats and inventory are released, tickets voided or refunded, and the refund
    recorded with its own status. Confirming the same quote again returns the same
    result (`Idempotent-Replayed: true`) and changes nothing."""
    result, replayed = await request.app[bookings_key].cancel(
        path.booking_id, body.quote_id, user.user_id, user.app_roles
    )
    return booking_response(result, replayed)


# Changes --------------------------------------------------------------------------------


@routes.post(
    "/v1/bookings/{booking_id}/change-quotes",
    summary="Price a change: another flight, other seats, or contact details",
    path_params=BookingPath,
    body=ChangeQuoteRequest,
    response=Quote,
    status=201,
    auth=True,
    errors=[BookingNotFound, AlreadyCancelled, AlreadyFlown, BookingNotChangeable, InvalidOffer,
            OfferExpired],
    tags=["bookings"],
)  # fmt: skip
async def change_quote(
    request: web.Request, path: BookingPath, body: ChangeQuoteRequest, user: Claims
) -> Quote:
    """The quote shows the fare difference and the fees from the fare's rules; it is valid
    for 15 minutes and only while the booking is unchanged."""
    return await request.app[changes_key].quote(
        path.booking_id, body.change, user.user_id, user.app_roles
    )


@routes.post(
    "/v1/bookings/{booking_id}/changes",
    summary="Make the change as quoted",
    path_params=BookingPath,
    body=ChangeConfirmation,
    response=Booking,
    auth=True,
    errors=[BookingNotFound, QuoteNotFound, QuoteExpired, QuoteStale, PriceChanged, SoldOut,
            PaymentDeclined, PaymentProviderUnavailable],
    tags=["bookings"],
)  # fmt: skip
async def change(
    request: web.Request, path: BookingPath, body: ChangeConfirmation, user: Claims
) -> web.Response:
    """Charges or refunds the difference, exchanges tickets for a flight change, and returns
    the changed booking. Confirming the same quote again returns the same result."""
    result, replayed = await request.app[changes_key].confirm(
        path.booking_id, body, user.user_id, user.app_roles
    )
    return booking_response(result, replayed)
