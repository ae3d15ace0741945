"""Flight search: POST for any trip, GET for simple one-way and round-trip searches."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from aiohttp import web
from pydantic import Field, ValidationError

from api.keys import search_key
from api.routes import JSON_CONTENT_TYPE, ApiRoutes, field_errors
from domain.search.models import (
    Cabin,
    CurrencyCode,
    IataCode,
    SearchRequest,
    SearchResults,
    SortOrder,
)
from domain.search.service import SearchTimedOut
from foundation.errors import FieldError, ValidationFailed
from foundation.models import StrictModel

routes = ApiRoutes()


def _located(errors: list[FieldError], rename: dict[str, str], prefix: str) -> ValidationFailed:
    """The same errors, named as the client sent the fields (body.x, or query.y)."""
    renamed = []
    for error in errors:
        name = rename.get(error.field, error.field)
        for source, target in rename.items():
            if error.field.startswith(source + "."):
                name = target + error.field[len(source) :]
        renamed.append(FieldError(f"{prefix}.{name}", error.message, error.code))
    return ValidationFailed(renamed)


async def _run(
    request: web.Request, search: SearchRequest, rename: dict[str, str], prefix: str
) -> web.Response:
    """The service's bytes as they are: a cached answer is not serialised again."""
    try:
        body = await request.app[search_key].search(search)
    except ValidationFailed as exc:
        raise _located(exc.errors, rename, prefix) from None
    return web.Response(body=body, content_type=JSON_CONTENT_TYPE)


@routes.post(
    "/v1/search",
    summary="Search flights: one-way, round trip or multi-city (1 to 6 slices)",
    body=SearchRequest,
    response=SearchResults,
    errors=[SearchTimedOut],
    tags=["search"],
)
async def search_flights(request: web.Request, body: SearchRequest) -> web.Response:
    """Itineraries with up to `max_connections` stops per slice, priced per fare brand for
    the passengers in `currency`, filtered, sorted and paged with `cursor`."""
    return await _run(request, body, {}, "body")


class SearchQuery(StrictModel):
    origin: IataCode
    destination: IataCode
    date: dt.date
    return_date: Annotated[dt.date | None, Field(description="Adds the mirrored slice.")] = None
    adults: Annotated[int, Field(ge=0, le=9)] = 1
    children: Annotated[int, Field(ge=0, le=9)] = 0
    infants: Annotated[int, Field(ge=0, le=9)] = 0
    cabin: Cabin = "economy"
    max_connections: Annotated[int, Field(ge=0, le=2)] = 1
    currency: CurrencyCode = "USD"
    sort: SortOrder = "best"
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, Field(max_length=512)] = None


# Fields of the full request as the GET shortcut names them.
_QUERY_NAMES = {
    "slices.0.origin": "origin",
    "slices.0.destination": "destination",
    "slices.0.date": "date",
    "slices.1.date": "return_date",
    "passengers.adults": "adults",
    "passengers.children": "children",
    "passengers.infants": "infants",
}


@routes.get(
    "/v1/search",
    summary="Search flights (one-way or round trip shortcut)",
    query=SearchQuery,
    response=SearchResults,
    errors=[SearchTimedOut],
    tags=["search"],
)
async def search_flights_get(request: web.Request, query: SearchQuery) -> web.Response:
    """The same search as `POST /v1/search` for one slice, or two mirrored slices when
    `return_date` is given."""
    slices = [{"origin": query.origin, "destination": query.destination, "date": query.date}]
    if query.return_date is not None:
        slices.append(
            {"origin": query.destination, "destination": query.origin, "date": query.return_date}
        )
    shape = {
        "slices": slices,
        "passengers": {
            "adults": query.adults,
            "children": query.children,
            "infants": query.infants,
        },
        **query.model_dump(
            include={"cabin", "max_connections", "currency", "sort", "limit", "cursor"}
        ),
    }
    try:
        search = SearchRequest.model_validate(shape)
    except ValidationError as exc:
        errors = [
            FieldError(e.field.removeprefix("."), e.message, e.code) for e in field_errors(exc, "")
        ]
        raise _located(errors, _QUERY_NAMES, "query") from None
    return await _run(request, search, _QUERY_NAMES, "query")
