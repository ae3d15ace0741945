"""The statistics rollup: equal to a direct aggregate of bookings and payments after
bookings, cancellations and refunds, across a day boundary; top routes; seat take-up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.booking_helpers import bearer, book, booking_body, offer_for
from tests.factories import add_aircraft_cabins
from tests.problems import assert_problem
from tests.test_admin_flights import staff

OPS = staff("ops")

# The reports computed straight from bookings and payments, as before the rollup.
_DIRECT_SALES = """
WITH made AS (
    SELECT utc_day(created_at) AS day, currency, count(*) AS n FROM bookings GROUP BY 1, 2
), cancelled AS (
    SELECT utc_day(cancelled_at) AS day, currency, count(*) AS n
      FROM bookings WHERE cancelled_at IS NOT NULL GROUP BY 1, 2
), money AS (
    SELECT utc_day(created_at) AS day, currency,
           coalesce(sum(amount_minor) FILTER (WHERE kind = 'charge'), 0) AS charged,
           coalesce(sum(amount_minor) FILTER (WHERE kind = 'refund'), 0) AS refunded
      FROM payments WHERE status = 'succeeded' GROUP BY 1, 2
)
SELECT day::text, rtrim(currency) AS currency, coalesce(made.n, 0) AS bookings,
       coalesce(cancelled.n, 0) AS cancellations, coalesce(money.charged, 0) AS charged_minor,
       coalesce(money.refunded, 0) AS refunded_minor,
       coalesce(money.charged, 0) - coalesce(money.refunded, 0) AS net_minor
  FROM made FULL JOIN cancelled USING (day, currency) FULL JOIN money USING (day, currency)
 ORDER BY day, currency
"""
_DIRECT_REFUNDS = """
WITH cancelled AS (
    SELECT utc_day(cancelled_at) AS day, currency, cancellation_reason AS cause, count(*) AS n
      FROM bookings WHERE cancelled_at IS NOT NULL GROUP BY 1, 2, 3
), refunded AS (
    SELECT utc_day(created_at) AS day, currency, refund_cause(reason) AS cause, count(*) AS n,
           sum(amount_minor) AS amount
      FROM payments WHERE kind = 'refund' AND status = 'succeeded' GROUP BY 1, 2, 3
)
SELECT day::text, rtrim(currency) AS currency, cause, coalesce(cancelled.n, 0) AS cancellations,
       coalesce(refunded.n, 0) AS refunds, coalesce(refunded.amount, 0) AS refunded_minor
  FROM cancelled FULL JOIN refunded USING (day, currency, cause)
 ORDER BY day, currency, cause
"""


async def _get(client: TestClient, path: str, **params: str) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=OPS)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def _cancel(client: TestClient, user: uuid.UUID, booking_id: str) -> None:
    quote = await client.post(f"/v1/bookings/{booking_id}/cancellation-quotes",
                              headers=bearer(user))  # fmt: skip
    assert quote.status == 201, await quote.text()
    done = await client.post(f"/v1/bookings/{booking_id}/cancellations", headers=bearer(user),
                             json={"quote_id": (await quote.json())["id"]})  # fmt: skip
    assert done.status == 200, await done.text()


async def _move_to(db: asyncpg.Connection, booking_id: str, at: datetime) -> None:
    """Pretend the booking and its charge were made at ``at`` (the rollup follows)."""
    await db.execute("UPDATE bookings SET created_at = $2 WHERE id = $1",
                     uuid.UUID(booking_id), at)  # fmt: skip
    await db.execute("UPDATE payments SET created_at = $2 WHERE booking_id = $1",
                     uuid.UUID(booking_id), at)  # fmt: skip


async def test_the_rollup_equals_a_direct_aggregate_across_a_day_boundary(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    today = datetime.now(UTC).date()
    last_night = datetime.combine(today, datetime.min.time(), UTC) - timedelta(seconds=1)
    kept = await book(client, user, booking_body(await offer_for(client)))
    late = await book(client, user, booking_body(await offer_for(client, brand="Light")))
    await _move_to(db, late["id"], last_night)  # bought yesterday, cancelled today
    await _cancel(client, user, late["id"])
    same_day = await book(client, user, booking_body(await offer_for(client)))
    await _cancel(client, user, same_day["id"])
    # A refund that failed and one written in a transaction that rolled back count nothing.
    async with db.transaction():
        await db.execute(
            """INSERT INTO payments (booking_id, kind, amount_minor, currency, status, provider)
               VALUES ($1, 'refund', 5, 'USD', 'failed', 'simulated')""",
            uuid.UUID(kept["id"]),
        )
    rolled_back = db.transaction()
    await rolled_back.start()
    await db.execute("UPDATE bookings SET created_at = created_at - interval '3 days'")
    await rolled_back.rollback()

    window = {"from": (today - timedelta(days=2)).isoformat(), "to": today.isoformat()}
    sales = (await _get(client, "/v1/admin/stats/sales", **window))["days"]
    assert sales == [dict(r) for r in await db.fetch(_DIRECT_SALES)]
    assert [(d["day"], d["bookings"], d["cancellations"]) for d in sales] == [
        (str(today - timedelta(days=1)), 1, 0), (today.isoformat(), 2, 2)]  # fmt: skip
    refunds = (await _get(client, "/v1/admin/stats/refunds", **window))["days"]
    assert refunds == [dict(r) for r in await db.fetch(_DIRECT_REFUNDS)]
    assert {r["cause"] for r in refunds} <= {"within_24_hours", "non_refundable", "refundable"}
    assert sum(r["cancellations"] for r in refunds) == 2

    # Moving a booking back across midnight moves every figure of it.
    await _move_to(db, kept["id"], last_night)
    sales = (await _get(client, "/v1/admin/stats/sales", **window))["days"]
    assert sales == [dict(r) for r in await db.fetch(_DIRECT_SALES)]
    assert sales[0]["bookings"] == 2
    routes = (await _get(client, "/v1/admin/stats/top-routes", **window))["routes"]
    assert routes == [{"origin": "JFK", "destination": "LHR", "bookings": 3, "passengers": 3,
                       "cancellations": 2}]  # fmt: skip
    yesterday = str(today - timedelta(days=1))
    only_yesterday = await _get(client, "/v1/admin/stats/top-routes", to=yesterday,
                                **{"from": yesterday})  # fmt: skip
    assert [(r["bookings"], r["cancellations"]) for r in only_yesterday["routes"]] == [(2, 0)]


async def test_top_routes_rank_by_bookings(
    client: TestClient, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    for _ in range(2):
        await book(client, user, booking_body(await offer_for(client, "JFK", "LAX")))
    await book(client, user, booking_body(await offer_for(client)))
    today = datetime.now(UTC).date().isoformat()
    report = await _get(client, "/v1/admin/stats/top-routes", to=today, **{"from": today})
    assert [(r["origin"], r["destination"], r["bookings"]) for r in report["routes"]] == [
        ("JFK", "LAX", 2), ("JFK", "LHR", 1)]  # fmt: skip
    one = await _get(client, "/v1/admin/stats/top-routes", to=today, limit="1",
                     **{"from": today})  # fmt: skip
    assert len(one["routes"]) == 1


async def test_seat_take_up_counts_passengers_with_any_and_with_a_paid_seat(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    await add_aircraft_cabins(db)
    await db.execute("UPDATE flights SET aircraft_type = '32N'")
    flight = search_world["jfk_lhr"]
    user = uuid.uuid4()
    booked = []
    for seat in ("1A", "15B", None):  # paid (legroom window), free (middle), none
        seats = [] if seat is None else [{"flight_id": flight, "passenger": 0, "seat": seat}]
        booked.append(await book(client, user, booking_body(await offer_for(client),
                                                            seats=seats)))  # fmt: skip
    day = (await (await client.get(f"/v1/flights/{flight}")).json())["service_date"]

    by_flight = await _get(client, "/v1/admin/stats/seat-take-up", to=day, by="flight",
                           origin="JFK", destination="LHR", **{"from": day})  # fmt: skip
    top = by_flight["rows"][0]
    assert (top["flight_id"], top["passengers"], top["seated"], top["paid"]) == (flight, 3, 2, 1)
    assert (top["seated_share"], top["paid_share"]) == (0.6667, 0.3333)
    by_route = await _get(client, "/v1/admin/stats/seat-take-up", to=day, origin="JFK",
                          destination="LHR", **{"from": day})  # fmt: skip
    assert [(r["flights"], r["passengers"], r["seated"], r["paid"], r["flight_id"])
            for r in by_route["rows"]] == [(2, 3, 2, 1, None)]  # fmt: skip

    await _cancel(client, user, booked[0]["id"])  # the paid seat goes back, its EMD refunded
    after = await _get(client, "/v1/admin/stats/seat-take-up", to=day, by="flight",
                       origin="JFK", destination="LHR", **{"from": day})  # fmt: skip
    direct = await db.fetchrow(
        """SELECT (SELECT count(*) FROM seat_assignments WHERE flight_id = $1) AS seated,
                  (SELECT count(*) FROM emds WHERE flight_id = $1
                      AND status IN ('open', 'used')) AS paid""",
        flight,
    )
    top = after["rows"][0]
    assert (top["passengers"], top["seated"], top["paid"]) == (2, direct["seated"], direct["paid"])
    assert (direct["seated"], direct["paid"]) == (1, 0)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [("/v1/admin/stats/refunds", {"from": "2026-01-01", "to": "2027-06-01"}, "query"),
     ("/v1/admin/stats/top-routes", {"from": "2026-01-01", "to": "2026-01-02", "limit": "0"},
      "query.limit"),
     ("/v1/admin/stats/seat-take-up", {"from": "2026-01-01", "to": "2026-03-01"}, "query"),
     ("/v1/admin/stats/seat-take-up", {"from": "2026-01-01", "to": "2026-01-01", "by": "x"},
      "query.by")],
)  # fmt: skip
async def test_new_statistics_validate_their_windows(
    client: TestClient, path: str, params: dict[str, str], field: str
) -> None:
    await assert_problem(await client.get(path, params=params, headers=OPS), 422, field=field)
    await assert_problem(await client.get(path, params=params, headers=staff("agent")), 403)
    await assert_problem(await client.get(path, params=params), 401)
