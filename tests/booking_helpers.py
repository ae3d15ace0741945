"""Shared steps of booking tests: search an offer, fill a request, book it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.search_world import DAY, one_way, search
from tests.tokens import access_token

GOOD_CARD = {
    "type": "card",
    "number": "4242 4242 4242 4242",
    "exp_month": 12,
    "exp_year": date.today().year + 2,
    "cvc": "123",
    "holder_name": "Ada Lovelace",
}
DECLINED_CARD = {**GOOD_CARD, "number": "4000000000000002"}
NO_FUNDS_CARD = {**GOOD_CARD, "number": "4000000000009995"}
TIMEOUT_CARD = {**GOOD_CARD, "number": "4000000000000119"}


def bearer(user_id: uuid.UUID, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token(user_id, **claims)}"}


async def offer_for(
    client: TestClient,
    origin: str = "JFK",
    destination: str = "LHR",
    *,
    brand: str = "Standard",
    carrier: str = "SB",
    **extra: Any,
) -> dict[str, Any]:
    results = await search(client, **one_way(origin, destination, DAY, **extra))
    for offer in results["offers"]:
        segments = [seg for s in offer["slices"] for seg in s["segments"]]
        if offer["fare"]["brand"] == brand and all(
            seg["carrier"]["code"] == carrier for seg in segments
        ):
            return dict(offer)
    raise AssertionError(f"no {carrier} {brand} offer {origin}-{destination}")


def adult(given: str = "Ada", family: str = "Lovelace", born: str = "1985-12-10") -> dict[str, Any]:
    return {"type": "adult", "given_name": given, "family_name": family, "date_of_birth": born}


def booking_body(offer: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "offer_id": offer["id"],
        "passengers": [adult()],
        "contact": {"email": "ada@example.com", "phone": "+14155550100"},
        "payment": GOOD_CARD,
        **overrides,
    }


async def post_booking(
    client: TestClient, user: uuid.UUID, body: dict[str, Any], key: str | None = None
) -> ClientResponse:
    headers = bearer(user)
    headers["Idempotency-Key"] = key or uuid.uuid4().hex
    return await client.post("/v1/bookings", json=body, headers=headers)


async def book(client: TestClient, user: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
    response = await post_booking(client, user, body)
    assert response.status == 201, await response.text()
    return dict(await response.json())
