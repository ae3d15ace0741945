"""Seat maps and seat holds of a flight, and the reaper that ends expired holds."""

from __future__ import annotations

import uuid
from typing import Annotated

from aiohttp import web
from pydantic import ConfigDict, Field, StringConstraints, field_validator

from api.auth import authenticate
from api.keys import seats_key
from api.routes import ApiRoutes, json_response
from domain.identity.tokens import Claims
from domain.seating import (
    SeatHold,
    SeatHoldList,
    SeatHoldNotFound,
    SeatMap,
    SeatMapUnavailable,
    SeatUnavailable,
    UnknownSeat,
)
from foundation.errors import FlightNotFound
from foundation.models import StrictModel
from handlers import examples

routes = ApiRoutes()

MAX_SEATS_PER_HOLD = 9

SeatDesignator = Annotated[
    str,
    StringConstraints(pattern=r"^[1-9][0-9]{0,2}[A-Ka-k]$", to_upper=True),
    Field(description="Row and letter.", examples=["12A"]),
]


class FlightPath(StrictModel):
    flight_id: Annotated[int, Field(ge=1, le=2**63 - 1, description="Flight leg id.")]


class HoldPath(FlightPath):
    hold_id: uuid.UUID


class HoldRequest(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.HOLD_REQUEST]})

    seats: Annotated[list[SeatDesignator], Field(min_length=1, max_length=MAX_SEATS_PER_HOLD)]

    @field_validator("seats")
    @classmethod
    def _each_once(cls, seats: list[str]) -> list[str]:
        if len(set(seats)) != len(seats):
            raise ValueError("List each seat once.")
        return seats


@routes.get(
    "/v1/flights/{flight_id}/seatmap",
    summary="The seat map of a flight: every seat, its state and price",
    path_params=FlightPath,
    response=SeatMap,
    errors=[FlightNotFound, SeatMapUnavailable],
    responses={401: "A bearer token was sent and is invalid"},
    tags=["seats"],
)
async def flight_seat_map(request: web.Request, path: FlightPath) -> SeatMap:
    """Public. With a bearer token, the caller's own holds show as `held_by_you`.
    Prices follow the cabin: free in first and business; in premium economy 10% of the
    cabin's base fare for extra legroom; in economy 15% for exit and extra-legroom rows,
    5% for a window or aisle, and middle seats free."""
    viewer = None
    if "Authorization" in request.headers:
        viewer = (await authenticate(request)).user_id
    return await request.app[seats_key].seat_map(path.flight_id, viewer)


@routes.post(
    "/v1/flights/{flight_id}/seat-holds",
    summary="Hold seats while booking",
    path_params=FlightPath,
    body=HoldRequest,
    response=SeatHold,
    status=201,
    auth=True,
    errors=[FlightNotFound, SeatMapUnavailable, SeatUnavailable, UnknownSeat],
    tags=["seats"],
)
async def hold_flight_seats(
    request: web.Request, path: FlightPath, body: HoldRequest, user: Claims
) -> web.Response:
    """All the seats or none, for 10 minutes. Seats you already hold move into the new
    hold and are extended; a seat booked or held by someone else is `seat-unavailable`
    (409, listing `seats`); a seat not on the flight is `unknown-seat` (422, naming
    `body.seats.{i}`)."""
    hold = await request.app[seats_key].hold(user.user_id, path.flight_id, body.seats)
    response = json_response(hold, status=201, adapter=None)
    response.headers["Location"] = f"/v1/flights/{hold.flight_id}/seat-holds/{hold.hold_id}"
    return response


@routes.delete(
    "/v1/flights/{flight_id}/seat-holds/{hold_id}",
    summary="Release a seat hold",
    path_params=HoldPath,
    status=204,
    auth=True,
    errors=[SeatHoldNotFound],
    tags=["seats"],
)
async def release_seat_hold(request: web.Request, path: HoldPath, user: Claims) -> None:
    """Only your own live holds; any other is 404."""
    await request.app[seats_key].release(user.user_id, path.flight_id, path.hold_id)


@routes.get(
    "/v1/me/seat-holds",
    summary="The signed-in user's live seat holds",
    response=SeatHoldList,
    auth=True,
    tags=["seats"],
)
async def my_seat_holds(request: web.Request, user: Claims) -> SeatHoldList:
    return await request.app[seats_key].holds(user.user_id)
