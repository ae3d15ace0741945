"""Fares across components and currencies: fees are charged per fare component (one per
direction of travel), not per flight; three-decimal currencies are sold exactly."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp.test_utils import TestClient

from tests.booking_helpers import book, booking_body
from tests.search_world import DAY, RETURN, one_way, search


def _fees(offer: dict[str, Any]) -> int:
    return int(offer["fare"]["change_fee"]["amount_minor"])


def _standard(results: dict[str, Any], *carriers: str) -> dict[str, Any]:
    for offer in results["offers"]:
        flown = [seg["carrier"]["code"] for s in offer["slices"] for seg in s["segments"]]
        if offer["fare"]["brand"] == "Standard" and flown == list(carriers):
            return dict(offer)
    raise AssertionError(f"no Standard offer on {carriers}")


async def test_a_connection_on_two_carriers_is_one_fare_component_with_one_fee(
    client: TestClient, search_world: dict[str, int]
) -> None:
    """USD 75 (SB) and GBP 75 (KA) on one through fare: the stricter fee, not both."""
    sb = _fees(_standard(await search(client, **one_way("JFK", "LHR", limit=100)), "SB"))
    ka = _fees(_standard(await search(client, **one_way("JFK", "LHR", limit=100)), "KA"))
    connection = _standard(await search(client, **one_way("JFK", "CDG", limit=100)), "SB", "KA")
    assert sb == 7500
    assert ka > sb
    assert _fees(connection) == max(sb, ka)


async def test_each_direction_of_a_round_trip_is_a_fare_component(
    client: TestClient, search_world: dict[str, int]
) -> None:
    results = await search(client, slices=[
        {"origin": "JFK", "destination": "LHR", "date": DAY.isoformat()},
        {"origin": "LHR", "destination": "JFK", "date": RETURN.isoformat()},
    ], limit=100)  # fmt: skip
    assert _fees(_standard(results, "SB", "SB")) == 2 * 7500


async def test_three_decimal_currencies_are_sold_in_their_minor_units(
    client: TestClient, search_world: dict[str, int]
) -> None:
    """KWD has 1,000 fils to the dinar: USD 260.00 at 0.307 KWD per dollar is 79.820."""
    usd = _standard(await search(client, **one_way("JFK", "LHR", limit=100)), "SB")
    kwd = _standard(await search(client, **one_way("JFK", "LHR", limit=100, currency="KWD")), "SB")
    assert usd["total"] == {"amount_minor": 26000, "currency": "USD"}
    assert kwd["total"] == {"amount_minor": 79820, "currency": "KWD"}
    booking = await book(client, uuid.uuid4(), booking_body(kwd))
    assert booking["total"] == {"amount_minor": 79820, "currency": "KWD"}
    assert booking["payments"][0]["amount"] == booking["total"]
