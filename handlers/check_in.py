"""Online check-in, its undo, and the boarding passes it issues (JSON and PDF)."""

from __future__ import annotations

import asyncio
import uuid

from aiohttp import web
from pydantic import Field

from api.keys import check_in_key
from api.routes import ApiRoutes
from domain.bookings.errors import BookingNotFound
from domain.checkin.errors import (
    BoardingPassNotFound,
    BookingNotCheckable,
    CheckInClosed,
    CheckInNotOpen,
    FlightNotCheckable,
    InvalidTravelDocument,
    NoLiveTicket,
    NoSeatAvailable,
    NotCheckedIn,
    UnknownTravelSelection,
)
from domain.checkin.models import BoardingPassList, CheckInRequest, Numbers
from domain.checkin.pdf import render_boarding_pass
from domain.documents import PDF_CONTENT_TYPE
from domain.identity.tokens import Claims
from foundation.models import StrictModel

routes = ApiRoutes()


class BookingPath(StrictModel):
    booking_id: uuid.UUID


class UndoQuery(StrictModel):
    passengers: Numbers | None = Field(
        default=None, description="Passenger numbers (`1,2`); all if absent.", examples=[[1]]
    )
    segments: Numbers | None = Field(
        default=None, description="Segment numbers (`1,2`); all if absent.", examples=[[1]]
    )


class BoardingPassPath(StrictModel):
    booking_id: uuid.UUID
    segment_no: int = Field(ge=1, le=99)
    passenger_no: int = Field(ge=1, le=99)


@routes.post(
    "/v1/bookings/{booking_id}/check-in",
    summary="Check passengers in and issue their boarding passes",
    path_params=BookingPath,
    body=CheckInRequest,
    response=BoardingPassList,
    auth=True,
    errors=[BookingNotFound, BookingNotCheckable, UnknownTravelSelection, InvalidTravelDocument,
            CheckInNotOpen, CheckInClosed, FlightNotCheckable, NoLiveTicket, NoSeatAvailable],
    tags=["check-in"],
)  # fmt: skip
async def check_in(
    request: web.Request, path: BookingPath, body: CheckInRequest, user: Claims
) -> BoardingPassList:
    """For the booking's owner, an agent or an admin. Check-in opens 24 hours before
    scheduled departure (the carrier's setting) and closes 60 minutes before (45 on a
    domestic flight). International flights need each passenger's travel document once
    per booking; it is stored encrypted. A passenger without a seat is given a free one.
    Checking in again someone already checked in changes nothing. The response lists
    every boarding pass of the booking."""
    return await request.app[check_in_key].check_in(
        path.booking_id, body, user.user_id, user.app_roles
    )


@routes.delete(
    "/v1/bookings/{booking_id}/check-in",
    summary="Undo check-in: withdraw boarding passes",
    path_params=BookingPath,
    query=UndoQuery,
    status=204,
    auth=True,
    errors=[BookingNotFound, BookingNotCheckable, UnknownTravelSelection, NotCheckedIn,
            CheckInClosed, FlightNotCheckable],
    tags=["check-in"],
)  # fmt: skip
async def undo_check_in(
    request: web.Request, path: BookingPath, query: UndoQuery, user: Claims
) -> None:
    """Until check-in closes. The chosen passengers' boarding passes on the chosen
    segments are withdrawn (their sequence numbers are not reused), and a seat that
    check-in assigned is freed; a seat chosen at booking stays."""
    await request.app[check_in_key].undo(
        path.booking_id, query.passengers, query.segments, user.user_id, user.app_roles
    )


@routes.get(
    "/v1/bookings/{booking_id}/boarding-passes",
    summary="The booking's boarding passes",
    path_params=BookingPath,
    response=BoardingPassList,
    auth=True,
    errors=[BookingNotFound],
    tags=["check-in"],
)
async def boarding_passes(
    request: web.Request, path: BookingPath, user: Claims
) -> BoardingPassList:
    """Empty until check-in; one per checked-in passenger and segment, each with its
    BCBP string and the URL of its PDF."""
    return await request.app[check_in_key].passes(path.booking_id, user.user_id, user.app_roles)


@routes.get(
    "/v1/bookings/{booking_id}/boarding-passes/{segment_no:[0-9]+}/{passenger_no:[0-9]+}.pdf",
    summary="One boarding pass as a PDF",
    path_params=BoardingPassPath,
    response=bytes,
    response_content_type=PDF_CONTENT_TYPE,
    auth=True,
    errors=[BookingNotFound, BoardingPassNotFound],
    tags=["check-in"],
)
async def boarding_pass_pdf(
    request: web.Request, path: BoardingPassPath, user: Claims
) -> web.Response:
    """Gate, boarding time, zone, seat and sequence number, and the PDF417 barcode of
    the BCBP string. 404 before check-in."""
    boarding = await request.app[check_in_key].boarding_pass(
        path.booking_id, path.segment_no, path.passenger_no, user.user_id, user.app_roles
    )
    pdf = await asyncio.to_thread(render_boarding_pass, boarding)
    filename = f"boarding-pass-{boarding.designator}-{path.passenger_no}.pdf"
    return web.Response(
        body=pdf,
        content_type=PDF_CONTENT_TYPE,
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "private, no-cache",
        },
    )
