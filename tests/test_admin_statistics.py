"""Statistics for staff: sales per day and currency, load factor per route and flight."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.booking_helpers import bearer, book, booking_body, offer_for
from tests.problems import assert_problem
from tests.test_admin_flights import staff

OPS = staff("ops")


async def test_sales_per_day_and_currency_count_bookings_cancellations_and_money(
    client: TestClient, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    kept = await book(client, user, booking_body(await offer_for(client)))
    second = await book(client, user, booking_body(await offer_for(client, brand="Light")))
    quote = await client.post(f"/v1/bookings/{second['id']}/cancellation-quotes",
                              headers=bearer(user))  # fmt: skip
    assert quote.status == 201
    cancelled = await client.post(f"/v1/bookings/{second['id']}/cancellations",
                                  headers=bearer(user),
                                  json={"quote_id": (await quote.json())["id"]})  # fmt: skip
    assert cancelled.status == 200
    today = datetime.now(UTC).date().isoformat()

    response = await client.get("/v1/admin/stats/sales", headers=staff("admin"),
                                params={"from": today, "to": today})  # fmt: skip
    assert response.status == 200, await response.text()
    expected: dict[str, dict[str, Any]] = {}
    for booking, was_cancelled in ((kept, False), (second, True)):
        paid = booking["total"]["amount_minor"]
        row = expected.setdefault(booking["total"]["currency"], {
            "day": today, "bookings": 0, "cancellations": 0, "charged_minor": 0,
            "refunded_minor": 0, "net_minor": 0})  # fmt: skip
        row["bookings"] += 1
        row["charged_minor"] += paid
        row["net_minor"] += 0 if was_cancelled else paid
        row["cancellations"] += int(was_cancelled)
        row["refunded_minor"] += paid if was_cancelled else 0
    assert {row.pop("currency"): row for row in (await response.json())["days"]} == expected

    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    before = await client.get("/v1/admin/stats/sales", headers=OPS,
                              params={"from": yesterday, "to": yesterday})  # fmt: skip
    assert (await before.json())["days"] == []


async def test_load_factor_by_route_and_by_flight(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    await book(client, user, booking_body(await offer_for(client)))
    flight = await (await client.get(f"/v1/flights/{search_world['jfk_lhr']}")).json()
    day = flight["service_date"]
    capacity = await db.fetchval("SELECT sum(capacity) FROM flight_cabins WHERE flight_id = $1",
                                 search_world["jfk_lhr"])  # fmt: skip

    async def report(**params: str) -> dict[str, Any]:
        response = await client.get("/v1/admin/stats/load-factor", headers=OPS,
                                    params={"from": day, "to": day, **params})  # fmt: skip
        assert response.status == 200, await response.text()
        return dict(await response.json())

    by_flight = await report(by="flight", origin="jfk", destination="LHR")
    top = by_flight["rows"][0]
    assert (top["flight_id"], top["designator"], top["seats_sold"]) == (
        search_world["jfk_lhr"], "SB1", 1)  # fmt: skip
    assert top["capacity"] == capacity
    assert top["load_factor"] == round(1 / capacity, 4)
    routes = (await report(origin="JFK", destination="LHR"))["rows"]
    assert [(r["origin"], r["destination"], r["flights"], r["seats_sold"]) for r in routes] == [
        ("JFK", "LHR", 2, 1)]  # fmt: skip
    assert routes[0]["flight_id"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [({"from": "2026-01-01", "to": "2027-06-01"}, "query"),
     ({"from": "2026-02-01", "to": "2026-01-01"}, "query"),
     ({"from": "yesterday", "to": "2026-01-01"}, "query.from")],
)  # fmt: skip
async def test_statistics_windows_are_bounded(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/v1/admin/stats/sales", params=params, headers=OPS)
    await assert_problem(response, 422, field=field)


async def test_statistics_are_for_admins_and_ops(client: TestClient) -> None:
    params = {"from": "2026-12-01", "to": "2026-12-01"}
    await assert_problem(await client.get("/v1/admin/stats/sales", params=params), 401)
    agent = await client.get("/v1/admin/stats/sales", params=params, headers=staff("agent"))
    await assert_problem(agent, 403)
