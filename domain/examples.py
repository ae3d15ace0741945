# ruff: noqa: E501 (real values: tokens, URLs and barcodes do not wrap)
"""Examples for the OpenAPI document of this package's models. Responses are real answers
of a server (ids, times and tokens as it gave them) with lists cut to their first item;
requests are the bodies the guide and the other documents send."""

from __future__ import annotations

from typing import Any

AIRPORT: dict[str, Any] = {
    "iata": "JFK",
    "icao": "KJFK",
    "name": "John F Kennedy International Airport",
    "city": "New York",
    "subdivision": None,
    "country": "US",
    "time_zone": "America/New_York",
    "latitude": 40.64,
    "longitude": -73.78,
    "elevation_ft": None,
    "hub": True,
}

BOARD: dict[str, Any] = {
    "airport": AIRPORT,
    "kind": "departures",
    "window": {
        "start": {
            "utc": "2026-12-02T10:26:35.050652Z",
            "local": "2026-12-02T05:26:35.050652-05:00",
        },
        "end": {
            "utc": "2026-12-02T22:26:35.050652Z",
            "local": "2026-12-02T17:26:35.050652-05:00",
        },
    },
    "flights": [],
    "truncated": False,
}

DOCUMENT_LINK: dict[str, Any] = {
    "url": "/v1/bookings/4302ec0b-6427-4894-bb17-86067348f50c/documents/9010100000001.pdf?expires=1796211097&signature=TVOHXuJrVZjthyZtU4oSYavzzauNqhlgKiPmm4SYCzw",
    "expires_at": "2026-12-02T11:31:37Z",
}

FLIGHT: dict[str, Any] = {
    "id": 1,
    "designator": "SB101",
    "carrier": {"code": "SB", "name": "Skybound Airways"},
    "flight_number": 101,
    "service_date": "2026-12-03",
    "status": "scheduled",
    "departure": {
        "airport": {
            "iata": "JFK",
            "name": "John F Kennedy International Airport",
            "city": "New York",
            "country": "US",
            "time_zone": "America/New_York",
        },
        "terminal": "4",
        "gate": "B22",
        "scheduled": {"utc": "2026-12-03T07:00:00Z", "local": "2026-12-03T02:00:00-05:00"},
        "estimated": {"utc": "2026-12-03T07:40:00Z", "local": "2026-12-03T02:40:00-05:00"},
        "actual": None,
        "takeoff": None,
    },
    "arrival": {
        "airport": {
            "iata": "BOS",
            "name": "Logan International Airport",
            "city": "Boston",
            "country": "US",
            "time_zone": "America/New_York",
        },
        "terminal": None,
        "gate": None,
        "scheduled": {"utc": "2026-12-03T08:15:00Z", "local": "2026-12-03T03:15:00-05:00"},
        "estimated": {"utc": "2026-12-03T08:55:00Z", "local": "2026-12-03T03:55:00-05:00"},
        "actual": None,
        "baggage_belt": None,
        "landing": None,
    },
    "aircraft": {"code": "32N", "name": "Airbus A320neo"},
    "codeshares": [],
    "delay_minutes": 40,
    "version": 3,
    "updated_at": "2026-12-02T11:26:35.206505Z",
}

PAYMENT_METHOD: dict[str, Any] = {
    "id": "42bcd839-6451-4c28-9c78-f958949a1c89",
    "brand": "visa",
    "last4": "4242",
    "exp_month": 12,
    "exp_year": 2030,
    "created_at": "2026-12-02T11:26:34.691931Z",
}

PREFERENCES: dict[str, Any] = {
    "seat": "window",
    "meal": "vegetarian",
    "language": "en",
    "notification_channels": ["email"],
    "marketing_consent": False,
    "marketing_consent_at": "2026-12-02T11:26:35.073742Z",
    "version": 1,
    "updated_at": "2026-12-02T11:26:35.073742Z",
}

PROFILE: dict[str, Any] = {
    "user_id": "da7e5673-74b8-45e5-97e3-58125864f87a",
    "email": "ada@example.com",
    "given_name": None,
    "family_name": "Lovelace",
    "phone": "+14155550100",
    "date_of_birth": None,
    "nationality": None,
    "loyalty_numbers": {},
    "roles": ["passenger"],
    "version": 2,
    "created_at": "2026-12-02T11:26:34.690046Z",
    "updated_at": "2026-12-02T11:26:35.065855Z",
}

SEAT_HOLD: dict[str, Any] = {
    "hold_id": "9148d6d4-22bc-4afc-8f9a-767432e866b6",
    "flight_id": 1,
    "seats": ["12A"],
    "expires_at": "2026-12-02T11:36:34.655333Z",
}

SEAT_HOLD_LIST: dict[str, Any] = {
    "holds": [
        {
            "hold_id": "9148d6d4-22bc-4afc-8f9a-767432e866b6",
            "flight_id": 1,
            "seats": ["12A"],
            "expires_at": "2026-12-02T11:36:34.655333Z",
        }
    ]
}

SEAT_MAP: dict[str, Any] = {
    "flight_id": 1,
    "aircraft": "32N",
    "cabins": [
        {
            "cabin": "economy",
            "layout": "ABC DEF",
            "currency": "USD",
            "rows": [
                {
                    "row": 1,
                    "exit_row": False,
                    "extra_legroom": True,
                    "seats": [
                        {
                            "seat": "1A",
                            "letter": "A",
                            "characteristics": ["window"],
                            "state": "available",
                            "price_minor": 1350,
                        }
                    ],
                }
            ],
        }
    ],
}
