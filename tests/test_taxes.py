"""Taxes, fees and carrier surcharges: on offers, bookings, receipts and refunds."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from domain.reference import AirportInfo, ReferenceData, TaxRule, TaxTable
from domain.search.taxes import Tax, applicable, capped
from tests.booking_helpers import GOOD_CARD, adult, bearer, book, booking_body, offer_for
from tests.factories import add_tax_rule
from tests.search_world import DAY, RETURN, one_way, search
from tests.test_documents import read_pdf


def _usd(amount_minor: int) -> dict[str, Any]:
    return {"amount_minor": amount_minor, "currency": "USD"}


@pytest.fixture
async def taxed_world(db: asyncpg.Connection, search_world: dict[str, int]) -> dict[str, int]:
    """Rules of the US, the UK and a carrier surcharge, as `skybound seed` loads them."""
    await add_tax_rule(db, "US", country="US", route="international", infants=True, **_usd(2290))
    await add_tax_rule(db, "US", country="US", route="domestic", percent_bp=750)
    await add_tax_rule(db, "YC", levied_on="arrival", country="US", infants=True, **_usd(693))
    await add_tax_rule(db, "AY", country="US", max_per_slice=2, **_usd(560))
    await add_tax_rule(db, "XF", "airport", country="US", max_per_slice=4, **_usd(450))
    await add_tax_rule(db, "GB", country="GB", route="long_haul", premium=False, children=False,
                       amount_minor=10200, currency="GBP")  # fmt: skip
    await add_tax_rule(db, "UB", "airport", airport="LHR", amount_minor=5595, currency="GBP")
    await add_tax_rule(db, "YQ", "carrier", carrier="SB", route="long_haul", **_usd(8500))
    return search_world


def _codes(line: dict[str, Any]) -> dict[str, int]:
    return {t["code"]: t["amount"]["amount_minor"] for t in line["taxes"]}


async def test_offers_add_each_tax_per_passenger_type_to_the_base_fare(
    client: TestClient, taxed_world: dict[str, int]
) -> None:
    offer = await offer_for(client, passengers={"adults": 1, "children": 1, "infants": 1})
    lines = {line["passenger_type"]: line for line in offer["price_breakdown"]}
    # JFK-LHR on SB, Standard (130% of 200.00): leaving the US, long haul, SB's surcharge.
    assert lines["adult"]["base"] == _usd(26000)
    assert _codes(lines["adult"]) == {"US": 2290, "AY": 560, "XF": 450, "YQ": 8500}
    assert _codes(lines["child"]) == {"US": 2290, "AY": 560, "XF": 450, "YQ": 8500}
    assert _codes(lines["infant"]) == {"US": 2290}  # lap infants pay only what names them
    assert lines["adult"]["unit"] == _usd(26000 + 2290 + 560 + 450 + 8500)
    kinds = {t["code"]: t["kind"] for t in lines["adult"]["taxes"]}
    assert kinds == {"US": "government", "AY": "government", "XF": "airport", "YQ": "carrier"}
    assert offer["total"]["amount_minor"] == sum(
        line["total"]["amount_minor"] for line in offer["price_breakdown"]
    )
    for line in offer["price_breakdown"]:
        unit = line["base"]["amount_minor"] + sum(_codes(line).values())
        assert line["unit"]["amount_minor"] == unit
        assert line["total"]["amount_minor"] == unit * line["count"]


async def test_arrivals_pay_the_destinations_taxes_and_children_skip_the_uk_duty(
    client: TestClient, taxed_world: dict[str, int]
) -> None:
    results = await search(
        client, **one_way("LHR", "JFK", RETURN, passengers={"adults": 1, "children": 1})
    )
    offer = next(o for o in results["offers"] if o["fare"]["brand"] == "Standard")
    lines = {line["passenger_type"]: line for line in offer["price_breakdown"]}
    # GBP converted to USD at the reference rate: the codes are what matters here.
    assert set(_codes(lines["adult"])) == {"GB", "UB", "YC", "YQ"}
    assert set(_codes(lines["child"])) == {"UB", "YC", "YQ"}


async def test_a_domestic_fare_pays_a_share_of_its_base_fare(
    client: TestClient, taxed_world: dict[str, int]
) -> None:
    results = await search(client, **one_way("BOS", "JFK", DAY))
    offer = next(o for o in results["offers"] if o["fare"]["brand"] == "Standard")
    (line,) = offer["price_breakdown"]
    assert line["base"] == _usd(11700)
    # 7.5% of 117.00 is 8.775, rounded half to even in cents; no international tax.
    assert _codes(line) == {"US": 878, "AY": 560, "XF": 450}


def test_capped_fees_are_charged_on_the_first_legs_of_a_direction_only() -> None:
    def leg(*rules: tuple[int, str, int | None]) -> tuple[Tax, ...]:
        return tuple(Tax(rule, code, "government", 560, 560, 0, 560, cap)
                     for rule, code, cap in rules)  # fmt: skip

    three_legs = [leg((1, "AY", 2), (2, "US", None))] * 3
    kept = capped(three_legs)
    assert [t.code for t in kept] == ["AY", "US", "AY", "US", "US"]


async def test_bookings_and_receipts_keep_the_breakdown_the_offer_showed(
    client: TestClient, taxed_world: dict[str, int]
) -> None:
    offer = await offer_for(client)
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(offer))
    assert booking["total"] == offer["total"]
    assert booking["fare"]["price_breakdown"] == offer["price_breakdown"]
    assert booking["fare"]["taxes"] == _usd(2290 + 560 + 450 + 8500)

    ticket = booking["passengers"][0]["tickets"][0]
    response = await client.get(ticket["document_url"], headers=bearer(user))
    assert response.status == 200, await response.text()
    text, _, _ = read_pdf(await response.read())
    for expected in ("Base fare", "USD 260.00", "US US tax", "USD 22.90", "YQ YQ tax",
                     "USD 85.00", "Ticket total", "USD 378.00"):  # fmt: skip
        assert expected in text, expected


async def test_a_cancelled_non_refundable_fare_refunds_government_taxes_and_airport_charges(
    client: TestClient, db: asyncpg.Connection, taxed_world: dict[str, int]
) -> None:
    offer = await offer_for(client, brand="Light")
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(offer, passengers=[adult()]))
    await db.execute(
        "UPDATE bookings SET created_at = now() - interval '2 days' WHERE id = $1",
        uuid.UUID(booking["id"]),
    )
    response = await client.post(
        f"/v1/bookings/{booking['id']}/cancellation-quotes", headers=bearer(user)
    )
    assert response.status == 201, await response.text()
    quote = await response.json()
    # US, AY and XF come back; the base fare and the carrier's YQ do not.
    assert quote["details"]["refund_minor"] == 2290 + 560 + 450
    assert quote["details"]["rule"] == "non_refundable"
    breakdown = quote["details"]["breakdown"]
    assert {t["code"]: t["amount_minor"] for t in breakdown["taxes"]} == {
        "US": 2290, "AY": 560, "XF": 450,
    }  # fmt: skip
    assert (breakdown["fare_minor"], breakdown["seats_minor"]) == (0, 0)


async def test_a_flight_change_records_the_new_fares_taxes(
    client: TestClient, db: asyncpg.Connection, taxed_world: dict[str, int]
) -> None:
    """Changed to a KA flight: the fare record follows the new offer, its taxes included."""
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client)))
    later = next(
        o for o in (await search(client, **one_way("JFK", "LHR", limit=100)))["offers"]
        if o["fare"]["brand"] == "Standard"
        and [s["carrier"]["code"] for s in o["slices"][0]["segments"]] == ["KA"]
    )  # fmt: skip
    quote = await client.post(
        f"/v1/bookings/{booking['id']}/change-quotes",
        json={"change": {"type": "flight", "offer_id": later["id"]}}, headers=bearer(user),
    )  # fmt: skip
    assert quote.status == 201, await quote.text()
    confirmed = await client.post(
        f"/v1/bookings/{booking['id']}/changes",
        json={"quote_id": (await quote.json())["id"], "payment": GOOD_CARD},
        headers=bearer(user),
    )  # fmt: skip
    assert confirmed.status == 200, await confirmed.text()
    changed = await confirmed.json()
    assert changed["fare"]["price_breakdown"] == later["price_breakdown"]
    # KA carries no YQ rule in this world: the new fare's taxes are the US ones alone.
    assert {t["code"] for t in changed["fare"]["price_breakdown"][0]["taxes"]} == {
        "US", "AY", "XF",
    }  # fmt: skip


def _rule(rule_id: int, code: str, **where: Any) -> TaxRule:
    fields: dict[str, Any] = {
        "kind": "government", "name": code, "levied_on": "departure", "country": None,
        "airport": None, "carrier": None, "route": "any", "premium": None,
        "amount_minor": 1000, "currency": "USD", "percent_bp": None, "children": True,
        "infants": False, "max_per_slice": None,
    }  # fmt: skip
    return TaxRule(id=rule_id, code=code, **{**fields, **where})


def test_the_rules_of_a_route_are_found_once_per_cabin_class_and_carrier() -> None:
    london = AirportInfo("LHR", "Heathrow", "London", "GB", "Europe/London", 51.47, -0.45)
    new_york = AirportInfo("JFK", "Kennedy", "New York", "US", "America/New_York", 40.64, -73.78)
    rules = [
        _rule(1, "GB", country="GB", route="long_haul", premium=False),
        _rule(2, "GB", country="GB", route="long_haul", premium=True, amount_minor=2000),
        _rule(3, "YQ", kind="carrier", carrier="SB"),
        _rule(4, "GB", country="GB", route="short_haul"),
    ]
    ref = ReferenceData(airports={"LHR": london, "JFK": new_york}, carriers={}, aircraft={},
                        brands={}, rates={}, taxes=TaxTable.of(rules))  # fmt: skip
    # Asked twice, in either order: the remembered answer is the one for that key.
    for _ in range(2):
        assert [r.id for r in applicable(ref, "LHR", "JFK", "SB", False)] == [1, 3]
        assert [r.id for r in applicable(ref, "LHR", "JFK", "SB", True)] == [2, 3]
        assert [r.id for r in applicable(ref, "LHR", "JFK", "KA", True)] == [2]
        assert applicable(ref, "JFK", "LHR", "KA", False) == ()
    assert len(ref.taxes.routes) == 4
