# ruff: noqa: E501 (real values: tokens, URLs and barcodes do not wrap)
"""Examples for the OpenAPI document of this package's models. Responses are real answers
of a server (ids, times and tokens as it gave them) with lists cut to their first item;
requests are the bodies the guide and the other documents send."""

from __future__ import annotations

from typing import Any

SEARCH_REQUEST: dict[str, Any] = {
    "slices": [{"origin": "JFK", "destination": "BOS", "date": "2026-12-24"}],
    "passengers": {"adults": 1},
}

SEARCH_RESULTS: dict[str, Any] = {
    "offers": [
        {
            "id": "o1.eyJsIjpbWzFdXSwiYyI6ImVjb25vbXkiLCJiIjoiTGlnaHQiLCJwIjpbMSwwLDBdLCJ0Ijo5MDAwLCIkIjoiVVNEIiwieCI6MTc5NjIxMTk5NH0.i_1YTb81TfI0wKFh27C7kA",
            "total": {"amount_minor": 9000, "currency": "USD"},
            "price_breakdown": [
                {
                    "passenger_type": "adult",
                    "count": 1,
                    "base": {"amount_minor": 9000, "currency": "USD"},
                    "taxes": [],
                    "unit": {"amount_minor": 9000, "currency": "USD"},
                    "total": {"amount_minor": 9000, "currency": "USD"},
                }
            ],
            "slices": [
                {
                    "origin": "JFK",
                    "destination": "BOS",
                    "departure": {
                        "utc": "2026-12-03T07:00:00Z",
                        "local": "2026-12-03T02:00:00-05:00",
                    },
                    "arrival": {
                        "utc": "2026-12-03T08:15:00Z",
                        "local": "2026-12-03T03:15:00-05:00",
                    },
                    "duration_minutes": 75,
                    "stops": 0,
                    "segments": [
                        {
                            "flight_id": 1,
                            "designator": "SB101",
                            "carrier": {"code": "SB", "name": "Skybound Airways"},
                            "marketing_carrier": None,
                            "origin": {
                                "iata": "JFK",
                                "name": "John F Kennedy International Airport",
                                "city": "New York",
                                "country": "US",
                            },
                            "destination": {
                                "iata": "BOS",
                                "name": "Logan International Airport",
                                "city": "Boston",
                                "country": "US",
                            },
                            "departure": {
                                "utc": "2026-12-03T07:00:00Z",
                                "local": "2026-12-03T02:00:00-05:00",
                            },
                            "arrival": {
                                "utc": "2026-12-03T08:15:00Z",
                                "local": "2026-12-03T03:15:00-05:00",
                            },
                            "duration_minutes": 75,
                            "aircraft": "Airbus A320neo",
                            "cabin": "economy",
                            "fare_brand": "Light",
                        }
                    ],
                    "layovers": [],
                }
            ],
            "seats_left": 180,
            "fare": {
                "brand": "Light",
                "refundable": False,
                "changeable": False,
                "change_fee": {"amount_minor": 0, "currency": "USD"},
                "cancellation_fee": {"amount_minor": 0, "currency": "USD"},
                "checked_bags": 0,
            },
            "expires_at": "2026-12-02T11:46:34.553403Z",
        }
    ],
    "next_cursor": None,
    "total_offers": 3,
    "complete": True,
    "currency": "USD",
}
