"""Pages served to browsers: the live airport display board, the operations dashboard,
and their assets."""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from aiohttp import web

from api.keys import api_keys_key, pool_key, settings_key
from api.middleware import PAGE_CSP
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


@routes.get(
    "/admin",
    summary="Operations dashboard for staff with the ops role (HTML)",
    response=str,
    response_content_type="text/html",
    examples={200: examples.ADMIN_PAGE},
    tags=["pages"],
)
async def admin_page(request: web.Request) -> web.Response:
    """Signs in with the built-in auth (or the Supabase project's), then shows live charts
    from `GET /v1/admin/system/stream` and the day's disrupted flights with actions."""
    settings = request.app[settings_key]
    keys = request.app.get(api_keys_key)
    csp = PAGE_CSP
    if keys is not None:
        auth_url, anon_key = "/auth/v1", keys.anon
    elif settings.supabase_url:
        auth_url = settings.supabase_url.rstrip("/") + "/auth/v1"
        anon_key = settings.supabase_anon_key or ""
        origin = urlsplit(auth_url)
        csp += f"; connect-src 'self' {origin.scheme}://{origin.netloc}"
    else:
        auth_url, anon_key = "", ""
    # The anon key is public by design: every Supabase client ships it.
    page = (STATIC_DIR / "admin.html").read_text(encoding="utf-8")
    page = page.replace("{{auth_url}}", html.escape(auth_url)).replace(
        "{{anon_key}}", html.escape(anon_key)
    )
    return web.Response(
        text=page,
        content_type="text/html",
        headers={"Cache-Control": "no-cache", "Content-Security-Policy": csp},
    )


def add_static(app: web.Application) -> None:
    """Board assets, served by the server itself (display boards may have no internet)."""
    app.router.add_static("/static/", STATIC_DIR, name="static")
