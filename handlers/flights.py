"""Flight legs by id."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from api.keys import pool_key
from api.preconditions import ETAG, etag
from api.routes import ApiRoutes, json_response
from domain.flights import Flight, get_flight
from foundation.errors import FlightNotFound
from foundation.models import StrictModel

routes = ApiRoutes()


class FlightPath(StrictModel):
    flight_id: Annotated[int, Field(ge=1, le=2**63 - 1, description="Flight leg id.")]


def flight_response(flight: Flight, status: int = 200) -> web.Response:
    """The flight with its version as ETag, which a staff change sends back as If-Match."""
    response = json_response(flight, status=status, adapter=None)
    response.headers["ETag"] = etag(flight.version)
    return response


@routes.get(
    "/v1/flights/{flight_id}",
    summary="One flight leg with its live status",
    path_params=FlightPath,
    response=Flight,
    errors=[FlightNotFound],
    tags=["flights"],
    response_headers=[ETAG],
)
async def flight_detail(request: web.Request, path: FlightPath) -> web.Response:
    return flight_response(await get_flight(request.app[pool_key], path.flight_id))
