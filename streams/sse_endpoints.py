"""SSE endpoints: a board, a flight, a flight's seat map, or the signed-in user's own topic.

Each stream starts with a ``retry`` hint, then either a ``snapshot`` (new
clients), a ``reset`` and a ``snapshot`` (clients whose position is too old),
or exactly the events missed since ``Last-Event-ID``, and then live events.
Every event has ``id:`` (its position), ``event:`` and ``data:`` lines. The stream
itself, the same for every topic, is ``streams.sse_stream.stream``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.auth import authenticate
from api.keys import pool_key, roles_key, search_key
from api.params import IataPath
from api.routes import ApiRoutes
from domain.identity.roles import admit
from domain.identity.tickets import issue_ticket, redeem_ticket
from domain.identity.tokens import Claims
from domain.seating import SeatMapUnavailable
from foundation.errors import AirportNotFound, FlightNotFound, InvalidRequest
from foundation.models import StrictModel
from streams import examples
from streams.caps import TooManyStreams
from streams.positions import InvalidPosition, Position
from streams.sse_stream import EVENT_STREAM, stream
from streams.topics import board_topic, flight_topic, seats_topic, snapshot_for, user_topic

log = logging.getLogger(__name__)

routes = ApiRoutes()

STREAM_DESCRIPTION = (
    "Server-Sent Events. Resume with the `Last-Event-ID` header or the `last_event_id` "
    "query parameter; apply an entity's event only when its `version` is newer than yours."
)


class InvalidLastEventId(InvalidRequest):
    slug = "invalid-last-event-id"
    title = "Invalid Last-Event-ID"


class TicketResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.TICKET_RESPONSE]})

    ticket: str = Field(description="Pass as `ticket`; single use.")
    expires_at: datetime


class ResumeQuery(StrictModel):
    last_event_id: Annotated[
        str | None,
        Field(max_length=64, description="For clients that cannot set Last-Event-ID."),
    ] = None


class BoardStreamQuery(ResumeQuery):
    kind: Literal["departures", "arrivals"] = "departures"


class FlightStreamPath(StrictModel):
    flight_id: Annotated[int, Field(ge=1, le=2**63 - 1)]


def _since(request: web.Request, query: ResumeQuery) -> Position | None:
    text = request.headers.get("Last-Event-ID") or query.last_event_id
    if not text:
        return None
    try:
        return Position.parse(text)
    except InvalidPosition:
        raise InvalidLastEventId(
            "Last-Event-ID is not a position this server handed out.",
            errors=[{"field": "header.Last-Event-ID", "message": "Unknown position format."}],
        ) from None


@routes.get(
    "/v1/streams/boards/{iata}",
    summary="Live departures or arrivals board (SSE)",
    path_params=IataPath,
    query=BoardStreamQuery,
    response=str,
    response_content_type=EVENT_STREAM,
    examples={200: examples.BOARD_STREAM},
    errors=[AirportNotFound, InvalidLastEventId, TooManyStreams],
    tags=["streams"],
)
async def board_stream(
    request: web.Request, path: IataPath, query: BoardStreamQuery
) -> web.StreamResponse:
    """A `snapshot` (the board as `GET /v1/airports/{iata}/departures` returns it), then
    `flight.*` events for flights leaving (or reaching) the airport."""
    since = _since(request, query)
    topic = board_topic(path.iata, query.kind)
    airports = (await request.app[search_key].reference.get()).airports
    snapshot = await snapshot_for(topic, request.app[pool_key], airports)  # 404 before the stream
    return await stream(request, topic.name, since, snapshot)


@routes.get(
    "/v1/streams/flights/{flight_id}",
    summary="Live status of one flight (SSE)",
    path_params=FlightStreamPath,
    query=ResumeQuery,
    response=str,
    response_content_type=EVENT_STREAM,
    examples={200: examples.FLIGHT_STREAM},
    errors=[FlightNotFound, InvalidLastEventId, TooManyStreams],
    tags=["streams"],
)
async def flight_stream(
    request: web.Request, path: FlightStreamPath, query: ResumeQuery
) -> web.StreamResponse:
    """A `snapshot` (the flight as `GET /v1/flights/{id}` returns it), then its events."""
    since = _since(request, query)
    topic = flight_topic(path.flight_id)
    snapshot = await snapshot_for(topic, request.app[pool_key])
    return await stream(request, topic.name, since, snapshot)


@routes.get(
    "/v1/streams/flights/{flight_id}/seats",
    summary="Live seat map of one flight (SSE)",
    path_params=FlightStreamPath,
    query=ResumeQuery,
    response=str,
    response_content_type=EVENT_STREAM,
    examples={200: examples.SEAT_MAP_STREAM},
    errors=[FlightNotFound, SeatMapUnavailable, InvalidLastEventId, TooManyStreams],
    tags=["streams", "seats"],
)
async def seat_map_stream(
    request: web.Request, path: FlightStreamPath, query: ResumeQuery
) -> web.StreamResponse:
    """A `snapshot` (the seat map as `GET /v1/flights/{id}/seatmap` returns it to an
    anonymous caller), then `seats.changed` events whose `seats` give the new state
    (`available`, `held` or `booked`) of each seat that changed."""
    since = _since(request, query)
    topic = seats_topic(path.flight_id)
    snapshot = await snapshot_for(topic, request.app[pool_key])
    return await stream(request, topic.name, since, snapshot)


class MyStreamQuery(ResumeQuery):
    ticket: Annotated[
        str | None,
        Field(max_length=100, description="From POST /v1/streams/tickets, for EventSource."),
    ] = None


@routes.get(
    "/v1/streams/me",
    summary="The signed-in user's bookings and their flights (SSE)",
    query=MyStreamQuery,
    response=str,
    response_content_type=EVENT_STREAM,
    examples={200: examples.MY_STREAM},
    errors=[InvalidLastEventId, TooManyStreams],
    security=("bearerAuth", "streamTicket"),
    tags=["streams"],
)
async def my_stream(request: web.Request, query: MyStreamQuery) -> web.StreamResponse:
    """Private: a bearer token, or a single-use `ticket` (EventSource cannot send headers).
    Events of the user's bookings and of the flights in them; the snapshot lists the
    user's bookings. The stream ends with `error` (`token_expired`) when the session does,
    and (`token_revoked`) when the account is erased."""
    pool = request.app[pool_key]
    if query.ticket is not None:
        user = await admit(request.app[roles_key], await redeem_ticket(pool, query.ticket))
    else:
        user = await authenticate(request)
    since = _since(request, query)
    topic = user_topic(user.user_id)
    snapshot = await snapshot_for(topic, pool)
    return await stream(request, topic.name, since, snapshot, owner=user)


@routes.post(
    "/v1/streams/tickets",
    summary="A single-use, short-lived ticket to open a private stream",
    response=TicketResponse,
    status=201,
    auth=True,
    tags=["streams"],
)
async def stream_ticket(request: web.Request, user: Claims) -> TicketResponse:
    """Valid for 60 seconds (or until the token expires, if sooner) and for one stream:
    `GET /v1/streams/me?ticket=...` or `GET /v1/ws?ticket=...`."""
    ticket = await issue_ticket(request.app[pool_key], user)
    return TicketResponse(ticket=ticket.ticket, expires_at=ticket.expires_at)
