"""Pages served to browsers: the live airport display board and its assets."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from aiohttp import web

from api.keys import pool_key
from api.params import IataPath
from api.routes import ApiRoutes
from domain.airports import get_airport
from foundation.errors import AirportNotFound
from foundation.models import StrictModel
from handlers import examples

routes = ApiRoutes()

STATIC_DIR = Path(str(resources.files("handlers") / "static"))


class BoardPageQuery(StrictModel):
    kind: Literal["departures", "arrivals"] = "departures"


@routes.get(
    "/boards/{iata}",
    summary="Live departures or arrivals board page (HTML)",
    path_params=IataPath,
    query=BoardPageQuery,
    response=str,
    response_content_type="text/html",
    examples={200: examples.BOARD_PAGE},
    errors=[AirportNotFound],
    tags=["pages"],
)
async def board_page(request: web.Request, path: IataPath, query: BoardPageQuery) -> web.Response:
    """A display board for airport screens: updates rows in place from the SSE stream."""
    await get_airport(request.app[pool_key], path.iata)
    return web.Response(
        body=(STATIC_DIR / "board.html").read_bytes(),
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


def add_static(app: web.Application) -> None:
    """Board assets, served by the server itself (display boards may have no internet)."""
    app.router.add_static("/static/", STATIC_DIR, name="static")
