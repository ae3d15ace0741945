"""Airports: lookup and search over the reference data."""

from __future__ import annotations

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from domain import examples
from foundation.errors import AirportNotFound


class Airport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.AIRPORT]}, frozen=True)

    iata: str = Field(examples=["JFK"])
    icao: str | None = Field(default=None, examples=["KJFK"])
    name: str = Field(examples=["John F Kennedy International Airport"])
    city: str = Field(examples=["New York"])
    subdivision: str | None = None
    country: str = Field(description="ISO 3166-1 alpha-2.", examples=["US"])
    time_zone: str = Field(description="IANA time zone.", examples=["America/New_York"])
    latitude: float
    longitude: float
    elevation_ft: int | None = None
    hub: bool = False


class AirportRef(BaseModel):
    """The few airport fields a flight carries."""

    model_config = ConfigDict(frozen=True)

    iata: str = Field(examples=["JFK"])
    name: str
    city: str
    country: str
    time_zone: str


_COLUMNS = """iata, icao, name, city, subdivision, country, time_zone, latitude, longitude,
              elevation_ft, is_hub AS hub"""

_GET = f"SELECT {_COLUMNS} FROM airports WHERE iata = $1"

# Exact codes first, then city and name prefixes, then names containing the
# text; hubs before regional fields within each rank. The prefix predicates use
# the text_pattern_ops indexes; "contains" scans a table of a few thousand rows.
_SEARCH = f"""
SELECT {_COLUMNS},
       CASE WHEN iata = upper($1) THEN 0
            WHEN icao = upper($1) THEN 1
            WHEN lower(city) LIKE $2 THEN 2
            WHEN lower(name) LIKE $2 THEN 3
            ELSE 4 END AS rank
FROM airports
WHERE iata = upper($1) OR icao = upper($1)
   OR lower(city) LIKE $2 OR lower(name) LIKE $2 OR lower(name) LIKE $3
ORDER BY rank, is_hub DESC, iata
LIMIT $4
"""

_LIST = f"SELECT {_COLUMNS} FROM airports WHERE iata > $1 ORDER BY iata LIMIT $2"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def get_airport(conn: asyncpg.Connection | asyncpg.Pool, iata: str) -> Airport:
    row = await conn.fetchrow(_GET, iata.upper())
    if row is None:
        raise AirportNotFound(iata)
    return Airport(**dict(row))


async def search_airports(
    conn: asyncpg.Connection | asyncpg.Pool, text: str, *, limit: int = 20
) -> list[Airport]:
    """Airports whose code, city or name matches ``text``, best matches first."""
    needle = _like_escape(text.strip().lower())
    rows = await conn.fetch(_SEARCH, text.strip(), f"{needle}%", f"%{needle}%", limit)
    return [Airport(**{k: v for k, v in row.items() if k != "rank"}) for row in rows]


async def list_airports(
    conn: asyncpg.Connection | asyncpg.Pool, *, after: str = "", limit: int = 100
) -> list[Airport]:
    """All airports in IATA order, a page at a time (keyset pagination on the code)."""
    rows = await conn.fetch(_LIST, after, limit)
    return [Airport(**dict(row)) for row in rows]
