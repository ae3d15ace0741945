"""Minimum connection times: each hub's published figures by the status of the arriving and
the departing leg, with the Schengen area connecting like one country."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from domain.search.itineraries import leg_status
from tests.factories import add_airport
from tests.search_world import DAY, NEW_YORK, PARIS, at, flights_of, leg, one_way, search


@pytest.mark.parametrize(
    ("here", "there", "status"),
    [("US", "US", "D"), ("US", "GB", "I"), ("FR", "DE", "D"), ("FR", "GB", "I"),
     ("CH", "ES", "D"), ("GB", "IE", "I"), ("DE", "TR", "I")],
)  # fmt: skip
def test_a_leg_is_domestic_within_a_country_or_the_schengen_area(
    here: str, there: str, status: str
) -> None:
    assert leg_status(here, there) == status


async def test_the_hubs_published_time_decides_a_domestic_connection(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    """BOS-JFK-LAX with 60 minutes at JFK: enough at JFK's 60, not once it is 75."""
    results = await search(client, **one_way("BOS", "LAX"))
    connection = [[search_world["bos_jfk"], search_world["jfk_lax"]]]
    assert connection in [flights_of(o) for o in results["offers"]]


async def test_a_longer_published_time_drops_the_connection(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    await db.execute(
        """UPDATE minimum_connection_times SET minutes = 75
           WHERE airport = 'JFK' AND arriving = 'D' AND departing = 'D'"""
    )
    results = await search(client, **one_way("BOS", "LAX"))
    assert [[search_world["bos_jfk"], search_world["jfk_lax"]]] not in [
        flights_of(o) for o in results["offers"]
    ]


async def test_schengen_arrivals_connect_faster_than_arrivals_through_passport_control(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    """65 minutes at CDG onto a flight to Madrid: enough from Frankfurt (Schengen, 60),
    not from New York (international arrival, 75)."""
    await add_airport(db, "FRA", country="DE", time_zone="Europe/Berlin", city="Frankfurt")
    await add_airport(db, "MAD", country="ES", time_zone="Europe/Madrid", city="Madrid")
    onward = at(DAY + timedelta(days=1), "12:00", PARIS)
    to_madrid = await leg(db, "CDG", "MAD", onward, 120, number=40)
    from_frankfurt = await leg(db, "FRA", "CDG", onward - timedelta(minutes=65 + 70), 70,
                               number=41)  # fmt: skip
    from_new_york = await leg(db, "JFK", "CDG", onward - timedelta(minutes=65 + 450), 450,
                              number=42)  # fmt: skip
    assert (onward - timedelta(minutes=65 + 450)).astimezone(NEW_YORK).date() == DAY

    via_frankfurt = await search(client, **one_way("FRA", "MAD", DAY + timedelta(days=1)))
    assert [[from_frankfurt, to_madrid]] in [flights_of(o) for o in via_frankfurt["offers"]]
    via_new_york = await search(client, **one_way("JFK", "MAD", DAY))
    assert [[from_new_york, to_madrid]] not in [flights_of(o) for o in via_new_york["offers"]]
