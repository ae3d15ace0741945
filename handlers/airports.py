"""Airport lookup, search, and departure and arrival boards."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.keys import pool_key
from api.params import IataCode, IataPath, ScheduleDate
from api.routes import ApiRoutes
from domain.airports import Airport, get_airport, list_airports, search_airports
from domain.boards import Board, board
from domain.times import LocalTime
from foundation.errors import AirportNotFound
from foundation.models import StrictModel
from handlers import examples

routes = ApiRoutes()


class AirportQuery(StrictModel):
    q: Annotated[
        str | None,
        Field(min_length=1, max_length=64, description="Code, city or name to search for."),
    ] = None
    after: Annotated[
        IataCode | None, Field(description="List airports after this code (pagination).")
    ] = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class AirportList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.AIRPORT_LIST]})

    airports: list[Airport]
    next_after: str | None = Field(
        default=None, description="Pass as `after` for the next page (listing only)."
    )


class BoardQuery(StrictModel):
    date: Annotated[
        ScheduleDate | None,
        Field(
            description="Local date at the airport, within a year of today. Omit both date "
            "and from for a live board."
        ),
    ] = None
    from_: Annotated[
        LocalTime | None, Field(alias="from", description="Local start time (HH:MM).")
    ] = None
    hours: Annotated[
        int | None, Field(ge=1, le=48, description="Window length. Default: to the day's end.")
    ] = None
    limit: Annotated[int, Field(ge=1, le=500)] = 200


@routes.get(
    "/v1/airports",
    summary="Search or list airports",
    query=AirportQuery,
    response=AirportList,
    tags=["airports"],
)
async def find_airports(request: web.Request, query: AirportQuery) -> AirportList:
    """With `q`, the best matches by IATA or ICAO code, city or name; without, all airports
    in code order, a page at a time."""
    pool = request.app[pool_key]
    if query.q is not None:
        return AirportList(airports=await search_airports(pool, query.q, limit=query.limit))
    page = await list_airports(pool, after=query.after or "", limit=query.limit)
    return AirportList(
        airports=page, next_after=page[-1].iata if len(page) == query.limit else None
    )


@routes.get(
    "/v1/airports/{iata}",
    summary="One airport",
    path_params=IataPath,
    response=Airport,
    errors=[AirportNotFound],
    tags=["airports"],
)
async def airport_detail(request: web.Request, path: IataPath) -> Airport:
    return await get_airport(request.app[pool_key], path.iata)


@routes.get(
    "/v1/airports/{iata}/departures",
    summary="Departures board",
    path_params=IataPath,
    query=BoardQuery,
    response=Board,
    errors=[AirportNotFound],
    tags=["boards"],
)
async def departures_board(request: web.Request, path: IataPath, query: BoardQuery) -> Board:
    """Flights leaving the airport in a local time window, by scheduled departure."""
    return await board(
        request.app[pool_key],
        path.iata,
        "departures",
        on=query.date,
        start=query.from_,
        hours=query.hours,
        limit=query.limit,
    )


@routes.get(
    "/v1/airports/{iata}/arrivals",
    summary="Arrivals board",
    path_params=IataPath,
    query=BoardQuery,
    response=Board,
    errors=[AirportNotFound],
    tags=["boards"],
)
async def arrivals_board(request: web.Request, path: IataPath, query: BoardQuery) -> Board:
    """Flights reaching the airport in a local time window, by scheduled arrival."""
    return await board(
        request.app[pool_key],
        path.iata,
        "arrivals",
        on=query.date,
        start=query.from_,
        hours=query.hours,
        limit=query.limit,
    )
