"""Flight legs by id."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from api.keys import pool_key
from api.routes import ApiRoutes
from domain.flights import Flight, get_flight
from foundation.errors import FlightNotFound
from foundation.models import StrictModel

routes = ApiRoutes()


class FlightPath(StrictModel):
    flight_id: Annotated[int, Field(ge=1, le=2**63 - 1, description="Flight leg id.")]


@routes.get(
    "/v1/flights/{flight_id}",
    summary="One flight leg with its live status",
    path_params=FlightPath,
    response=Flight,
    errors=[FlightNotFound],
    tags=["flights"],
)
async def flight_detail(request: web.Request, path: FlightPath) -> Flight:
    return await get_flight(request.app[pool_key], path.flight_id)
