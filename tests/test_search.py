"""Flight search on a small deterministic schedule: itineraries, rules, filters, sorts,
pagination, caching and bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from api.keys import search_key
from foundation.settings import Settings
from server.app import create_app
from tests.problems import assert_problem
from tests.search_world import (
    DAY,
    NEW_YORK,
    NEXT,
    RETURN,
    at,
    flights_of,
    itineraries,
    leg,
    one_way,
    search,
)


async def test_direct_flight_with_times_in_local_and_utc(
    client: TestClient, search_world: dict[str, int]
) -> None:
    results = await search(client, **one_way("JFK", "LHR", sort="departure", limit=100))
    first = results["offers"][0]
    segment = first["slices"][0]["segments"][0]
    assert segment["flight_id"] == search_world["jfk_lhr"]
    departure = at(DAY, "18:00", NEW_YORK)
    assert segment["departure"]["local"] == departure.isoformat()
    assert segment["departure"]["utc"] == departure.astimezone(UTC).isoformat().replace(
        "+00:00", "Z"
    )
    assert segment["duration_minutes"] == 420
    assert first["slices"][0]["stops"] == 0
    assert {o["fare"]["brand"] for o in results["offers"]} == {"Light", "Standard", "Flex"}
    assert results["complete"] is True


async def test_prices_follow_fare_brands_and_passenger_types(
    client: TestClient, search_world: dict[str, int]
) -> None:
    body = one_way("JFK", "LHR", passengers={"adults": 2, "children": 1, "infants": 1},
                   filters={"airlines": ["SB"]}, limit=100)  # fmt: skip
    offers = {o["fare"]["brand"]: o for o in (await search(client, **body))["offers"]}
    flex = offers["Flex"]
    unit = {
        line["passenger_type"]: line["unit"]["amount_minor"] for line in flex["price_breakdown"]
    }
    assert unit == {"adult": 36000, "child": 27000, "infant": 3600}  # 180%, then 75% and 10%
    assert flex["total"] == {"amount_minor": 2 * 36000 + 27000 + 3600, "currency": "USD"}
    assert flex["fare"]["refundable"] is True
    assert offers["Light"]["fare"]["refundable"] is False
    assert offers["Standard"]["fare"]["change_fee"] == {"amount_minor": 7500, "currency": "USD"}


async def test_foreign_fares_are_converted_to_the_requested_currency(
    client: TestClient, search_world: dict[str, int]
) -> None:
    body = one_way("JFK", "LHR", filters={"airlines": ["KA"]}, currency="GBP")
    light = next(o for o in (await search(client, **body))["offers"]
                 if o["fare"]["brand"] == "Light")  # fmt: skip
    assert light["total"] == {"amount_minor": 12000, "currency": "GBP"}
    in_usd = next(o for o in (await search(client, **{**body, "currency": "USD"}))["offers"]
                  if o["fare"]["brand"] == "Light")  # fmt: skip
    assert in_usd["total"] == {"amount_minor": round(12000 / 0.79), "currency": "USD"}


async def test_connection_respects_minimum_connection_time(
    client: TestClient, search_world: dict[str, int]
) -> None:
    results = await search(client, **one_way("JFK", "CDG", limit=100))
    found = itineraries(results)
    assert [[search_world["jfk_lhr"], search_world["lhr_cdg_ok"]]] in found
    # 60 minutes at LHR is under the 90-minute international minimum.
    assert all(search_world["lhr_cdg_tight"] not in slice_ for it in found for slice_ in it)
    offer = results["offers"][0]
    assert offer["slices"][0]["layovers"] == [
        {"airport": "LHR", "departs_from": "LHR", "minutes": 150}
    ]


async def test_domestic_connection_uses_the_shorter_minimum(
    client: TestClient, search_world: dict[str, int]
) -> None:
    found = itineraries(await search(client, **one_way("BOS", "LAX", limit=100)))
    assert found == [[[search_world["bos_jfk"], search_world["jfk_lax"]]]]


async def test_no_connections_when_max_connections_is_zero(
    client: TestClient, search_world: dict[str, int]
) -> None:
    results = await search(client, **one_way("JFK", "CDG", max_connections=0))
    assert results["offers"] == []
    assert results["total_offers"] == 0


async def test_connection_may_change_airport_within_a_city(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    # Land at Gatwick; the Heathrow departure 4 hours later allows the transfer.
    arrival_lgw = await leg(db, "JFK", "LGW", at(NEXT, "08:00", NEW_YORK), 420, number=20)
    onward = await leg(db, "LHR", "CDG", at(NEXT, "08:00", NEW_YORK) + timedelta(hours=11), 70,
                       number=21)  # fmt: skip
    tight = await leg(db, "LHR", "CDG", at(NEXT, "08:00", NEW_YORK) + timedelta(hours=8), 70,
                      number=22)  # fmt: skip
    found = itineraries(await search(client, **one_way("JFK", "CDG", on=NEXT, limit=100)))
    assert [[arrival_lgw, onward]] in found
    assert [[arrival_lgw, tight]] not in found  # 60 min is too short to change airport


async def test_two_stop_itineraries_when_allowed(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    # BOS -> JFK -> LHR -> CDG, each connection comfortable.
    early = await leg(db, "BOS", "JFK", at(DAY, "14:00", NEW_YORK), 75, number=30)
    found_one = itineraries(await search(client, **one_way("BOS", "CDG", max_connections=1)))
    assert found_one == []
    found_two = itineraries(
        await search(client, **one_way("BOS", "CDG", max_connections=2, limit=100))
    )
    assert [[early, search_world["jfk_lhr"], search_world["lhr_cdg_ok"]]] in found_two


async def test_dates_are_the_origins_local_day_across_a_dst_change(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    today = datetime.now(UTC).date()
    march = date(today.year + 1, 3, 8)  # US clocks spring forward on March's second Sunday
    spring = march + timedelta(days=(6 - march.weekday()) % 7)
    if spring <= today:
        spring = spring.replace(year=spring.year + 1)
    before = await leg(db, "JFK", "LHR", at(spring - timedelta(days=1), "23:30", NEW_YORK), 420,
                       number=40)  # fmt: skip
    early = await leg(db, "JFK", "LHR", at(spring, "00:30", NEW_YORK), 420, number=41)
    late = await leg(db, "JFK", "LHR", at(spring, "23:30", NEW_YORK), 420, number=42)
    results = await search(client, **one_way("JFK", "LHR", on=spring, sort="departure", limit=100))
    assert itineraries(results) == [[[early]], [[late]]]
    assert before not in {f for it in itineraries(results) for s in it for f in s}
    locals_ = [o["slices"][0]["departure"]["local"] for o in results["offers"]]
    assert locals_[0].endswith("00:30:00-05:00")  # before the switch: EST
    assert locals_[-1].endswith("23:30:00-04:00")  # after it: EDT


async def test_round_trip_combines_both_directions(
    client: TestClient, search_world: dict[str, int]
) -> None:
    body = {"slices": [
        {"origin": "JFK", "destination": "LHR", "date": DAY.isoformat()},
        {"origin": "LHR", "destination": "JFK", "date": RETURN.isoformat()},
    ], "filters": {"airlines": ["SB"]}, "limit": 100}  # fmt: skip
    results = await search(client, **body)
    assert itineraries(results) == [[[search_world["jfk_lhr"]], [search_world["lhr_jfk"]]]]
    light = next(o for o in results["offers"] if o["fare"]["brand"] == "Light")
    assert light["total"]["amount_minor"] == 20000 + 20000


async def test_three_slice_trip(client: TestClient, search_world: dict[str, int]) -> None:
    body = {"slices": [
        {"origin": "JFK", "destination": "LHR", "date": DAY.isoformat()},
        {"origin": "LHR", "destination": "JFK", "date": RETURN.isoformat()},
        {"origin": "CDG", "destination": "LAX",
         "date": (RETURN + timedelta(days=2)).isoformat()},
    ], "filters": {"airlines": ["SB"]}}  # fmt: skip
    results = await search(client, **body)
    assert itineraries(results) == [
        [[search_world["jfk_lhr"]], [search_world["lhr_jfk"]], [search_world["cdg_lax"]]]
    ]
    assert len(results["offers"][0]["slices"]) == 3


async def test_seat_availability_is_respected(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    await db.execute(
        "UPDATE flight_cabins SET seats_sold = capacity - 2 WHERE flight_id = $1",
        search_world["jfk_lhr"],
    )
    two = await search(client, **one_way("JFK", "LHR", passengers={"adults": 2}, limit=100))
    assert [[search_world["jfk_lhr"]]] in itineraries(two)
    assert min(o["seats_left"] for o in two["offers"]) == 2
    three = await search(
        client, **one_way("JFK", "LHR", passengers={"adults": 2, "children": 1}, limit=100)
    )
    assert [[search_world["jfk_lhr"]]] not in itineraries(three)
    # Infants sit on laps: they need no seat.
    lap = await search(
        client, **one_way("JFK", "LHR", passengers={"adults": 2, "infants": 2}, limit=100)
    )
    assert [[search_world["jfk_lhr"]]] in itineraries(lap)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"airlines": ["KA"]}, {"jfk_lhr_ka"}),
        ({"exclude_airlines": ["KA"]}, {"jfk_lhr"}),
        ({"max_price_minor": 18000}, {"jfk_lhr_ka"}),
        ({"min_price_minor": 19800, "max_price_minor": 21000}, {"jfk_lhr"}),
        ({"max_duration_minutes": 425}, {"jfk_lhr"}),
        ({"max_stops": 0}, {"jfk_lhr", "jfk_lhr_ka"}),
    ],
)
async def test_filters_on_the_direct_route(
    client: TestClient, search_world: dict[str, int], filters: dict[str, Any], expected: set[str]
) -> None:
    body = one_way("JFK", "LHR", filters=filters, limit=100)
    found = {f for it in itineraries(await search(client, **body)) for s in it for f in s}
    assert found == {search_world[name] for name in expected}


async def test_price_filter_applies_to_the_whole_offer(
    client: TestClient, search_world: dict[str, int]
) -> None:
    body = one_way("JFK", "LHR", filters={"airlines": ["SB"], "max_price_minor": 26000},
                   limit=100)  # fmt: skip
    brands = {o["fare"]["brand"] for o in (await search(client, **body))["offers"]}
    assert brands == {"Light", "Standard"}  # Flex is 36,000


async def test_time_windows_and_layover_filters(
    client: TestClient, search_world: dict[str, int]
) -> None:
    evening = {"from": "17:00", "to": "19:00"}
    body = {"slices": [{"origin": "JFK", "destination": "LHR", "date": DAY.isoformat(),
                        "departure_window": evening}], "limit": 100}  # fmt: skip
    assert itineraries(await search(client, **body)) == [[[search_world["jfk_lhr"]]]]
    morning_arrival = {"from": "06:00", "to": "07:30"}
    body["slices"][0] = {"origin": "JFK", "destination": "LHR", "date": DAY.isoformat(),
                         "arrival_window": morning_arrival}  # fmt: skip
    assert itineraries(await search(client, **body)) == [[[search_world["jfk_lhr"]]]]
    short = one_way("JFK", "CDG", filters={"max_layover_minutes": 120})
    assert (await search(client, **short))["offers"] == []


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        ("price", "jfk_lhr_ka"),
        ("duration", "jfk_lhr"),
        ("departure", "jfk_lhr"),
        ("arrival", "jfk_lhr"),
    ],
)
async def test_sort_orders(
    client: TestClient, search_world: dict[str, int], sort: str, first: str
) -> None:
    results = await search(client, **one_way("JFK", "LHR", sort=sort, limit=100))
    assert flights_of(results["offers"][0]) == [[search_world[first]]]


async def test_sorted_offers_are_in_order(client: TestClient, search_world: dict[str, int]) -> None:
    results = await search(client, **one_way("JFK", "LHR", sort="price", limit=100))
    totals = [o["total"]["amount_minor"] for o in results["offers"]]
    assert totals == sorted(totals)
    best = await search(client, **one_way("JFK", "LHR", limit=100))
    assert len(best["offers"]) == len(results["offers"])


async def test_pagination_returns_every_offer_exactly_once(
    client: TestClient, search_world: dict[str, int]
) -> None:
    everything = await search(client, **one_way("JFK", "LHR", limit=100))
    seen: list[str] = []
    cursor = None
    while True:
        page = await search(client, **one_way("JFK", "LHR", limit=2, cursor=cursor))
        assert page["total_offers"] == everything["total_offers"]
        seen += [f"{o['fare']['brand']}/{flights_of(o)}" for o in page["offers"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = [f"{o['fare']['brand']}/{flights_of(o)}" for o in everything["offers"]]
    assert seen == expected
    assert len(set(seen)) == len(seen) == everything["total_offers"] == 6


async def test_cache_is_invalidated_by_a_price_change_in_sql(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    body = one_way("JFK", "LHR", filters={"airlines": ["SB"]}, sort="price")
    first = await search(client, **body)
    assert first["offers"][0]["total"]["amount_minor"] == 20000
    again = await search(client, **body)  # served from the cache
    assert again["offers"][0]["total"] == first["offers"][0]["total"]
    await db.execute(
        "UPDATE flight_cabins SET base_fare_minor = 21500 WHERE flight_id = $1",
        search_world["jfk_lhr"],
    )
    # Straight after the commit: never the stale price.
    after = await search(client, **body)
    assert after["offers"][0]["total"]["amount_minor"] == 21500
    metrics = await (await client.get("/metrics")).text()
    assert "skybound_search_response_cache_hits 1.0" in metrics


async def test_cache_is_invalidated_by_a_seat_sale_in_sql(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    body = one_way("JFK", "LHR", filters={"airlines": ["SB"]})
    assert (await search(client, **body))["offers"][0]["seats_left"] == 150
    await db.execute(
        "UPDATE flight_cabins SET seats_sold = capacity WHERE flight_id = $1",
        search_world["jfk_lhr"],
    )
    assert (await search(client, **body))["offers"] == []


async def test_cache_is_invalidated_by_a_schedule_change(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    body = one_way("JFK", "LHR", filters={"airlines": ["SB"]})
    assert (await search(client, **body))["offers"]
    await db.execute(
        "UPDATE flights SET status = 'cancelled' WHERE id = $1", search_world["jfk_lhr"]
    )
    assert (await search(client, **body))["offers"] == []


async def test_get_shortcut_round_trip(client: TestClient, search_world: dict[str, int]) -> None:
    response = await client.get(
        "/v1/search",
        params={"origin": "jfk", "destination": "LHR", "date": DAY.isoformat(),
                "return_date": RETURN.isoformat(), "adults": "1", "sort": "price"},
    )  # fmt: skip
    assert response.status == 200
    results = await response.json()
    assert [len(o["slices"]) for o in results["offers"]] == [2] * len(results["offers"])


async def test_offer_id_is_signed(client: TestClient, search_world: dict[str, int]) -> None:
    offer = (await search(client, **one_way("JFK", "LHR")))["offers"][0]
    service = client.app[search_key]
    payload = service.offers.verify(offer["id"])
    assert payload["l"] == flights_of(offer)
    assert payload["t"] == offer["total"]["amount_minor"]
    forged = offer["id"][:-2] + ("AA" if not offer["id"].endswith("AA") else "BB")
    with pytest.raises(ValueError, match="signature"):
        service.offers.verify(forged)


# Bad input ----------------------------------------------------------------------------


def _slice(origin: str = "JFK", destination: str = "LHR", on: date = DAY) -> dict[str, str]:
    return {"origin": origin, "destination": destination, "date": on.isoformat()}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slices": [_slice("ZZZ")]}, "body.slices.0.origin"),
        ({"slices": [_slice(destination="QQQ")]}, "body.slices.0.destination"),
        ({"slices": [_slice("JFK", "JFK")]}, "body.slices.0.destination"),
        ({"slices": [_slice(on=date(1900, 1, 1))]}, "body.slices.0.date"),
        ({"slices": [_slice(on=datetime.now(UTC).date() - timedelta(days=2))]},
         "body.slices.0.date"),
        ({"slices": [_slice(on=datetime.now(UTC).date() + timedelta(days=400))]},
         "body.slices.0.date"),
        ({"slices": [_slice(on=RETURN), _slice("LHR", "JFK", DAY)]}, "body.slices.1.date"),
        ({"slices": [_slice()] * 7}, "body.slices"),
        ({"slices": []}, "body.slices"),
        ({"slices": [_slice()], "passengers": {"adults": 0}}, "body.passengers.adults"),
        ({"slices": [_slice()], "passengers": {"adults": 1, "infants": 2}},
         "body.passengers.infants"),
        ({"slices": [_slice()], "passengers": {"adults": 5, "children": 5}},
         "body.passengers.children"),
        ({"slices": [_slice()], "limit": 0}, "body.limit"),
        ({"slices": [_slice()], "limit": 101}, "body.limit"),
        ({"slices": [_slice()], "max_connections": 3}, "body.max_connections"),
        ({"slices": [_slice()], "cabin": "cargo"}, "body.cabin"),
        ({"slices": [_slice()], "currency": "XYZ"}, "body.currency"),
        ({"slices": [_slice()], "cursor": "c1.garbage.sig"}, "body.cursor"),
        ({"slices": [_slice()], "filters": {"min_price_minor": 5, "max_price_minor": 1}},
         "body.filters.max_price_minor"),
        ({"slices": [{**_slice(), "departure_window": {"from": "12:00", "to": "08:00"}}]},
         "body.slices.0.departure_window.to"),
        ({"slices": [_slice()], "colour": "blue"}, "body.colour"),
    ],
)  # fmt: skip
async def test_bad_search_is_422_naming_the_field(
    client: TestClient, search_world: dict[str, int], body: dict[str, Any], field: str
) -> None:
    await assert_problem(await client.post("/v1/search", json=body), 422, field=field)


async def test_cursor_of_another_search_is_refused(
    client: TestClient, search_world: dict[str, int]
) -> None:
    page = await search(client, **one_way("JFK", "LHR", limit=1))
    other = one_way("JFK", "CDG", limit=1, cursor=page["next_cursor"])
    await assert_problem(await client.post("/v1/search", json=other), 422, field="body.cursor")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"origin": "ZZZ", "destination": "LHR"}, "query.origin"),
        ({"origin": "JFK", "destination": "JFK"}, "query.destination"),
        ({"origin": "JFK", "destination": "LHR", "return_date": "2000-01-01"},
         "query.return_date"),
        ({"origin": "JFK", "destination": "LHR", "infants": "2"}, "query.infants"),
        ({"origin": "JFK", "destination": "LHR", "limit": "500"}, "query.limit"),
    ],
)  # fmt: skip
async def test_bad_get_search_names_the_query_parameter(
    client: TestClient, search_world: dict[str, int], params: dict[str, str], field: str
) -> None:
    query = {"date": DAY.isoformat(), **params}
    await assert_problem(await client.get("/v1/search", params=query), 422, field=field)


async def test_search_over_its_time_budget_is_503_with_retry_after(
    aiohttp_client: Any, settings: Settings, database_url: str, search_world: dict[str, int]
) -> None:
    client = await aiohttp_client(create_app(settings.model_copy(update={"search_budget_ms": 200})))
    blocker = await asyncpg.connect(database_url)
    try:
        async with blocker.transaction():
            # Hold the inventory table so the search's first query cannot run in time.
            await blocker.execute("LOCK TABLE flight_cabins IN ACCESS EXCLUSIVE MODE")
            response = await client.post("/v1/search", json=one_way("JFK", "LHR"))
            body = await assert_problem(response, 503)
            assert response.headers["Retry-After"] == "2"
            assert body["type"].endswith("/search-timed-out")
    finally:
        await blocker.close()
