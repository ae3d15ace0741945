"""Examples for the OpenAPI document of this package's models. Responses are real answers
of a server (ids, times and tokens as it gave them) with lists cut to their first item;
requests are the bodies the guide and the other documents send."""

from __future__ import annotations

from typing import Any

from domain.bookings.examples import BOOKING_PAGE

AUDIT_PAGE: dict[str, Any] = {
    "entries": [
        {
            "id": 7,
            "at": "2026-12-02T11:26:37.456354Z",
            "actor": "0b7e3f52-5c1a-4d8e-9f60-2a1b3c4d5e6f",
            "actor_roles": ["admin"],
            "action": "user.revoke_sessions",
            "entity": "user",
            "entity_id": "da7e5673-74b8-45e5-97e3-58125864f87a",
            "changes": {"sessions_revoked": 1},
            "reason": "Lost phone",
            "request_id": "1d8be91346824a9e9ae36b82754e7789",
            "batch": None,
        }
    ],
    "next_cursor": "6",
}

BAN: dict[str, Any] = {
    "until": "2027-01-01T00:00:00Z",
    "reason": "Chargeback fraud under investigation",
    "banned_by": "0b7e3f52-5c1a-4d8e-9f60-2a1b3c4d5e6f",
    "banned_at": "2026-12-02T11:26:37.470410Z",
}

BAN_REQUEST: dict[str, Any] = {
    "until": "2027-01-01T00:00:00Z",
    "reason": "Chargeback fraud under investigation",
}

BULK_DELAY: dict[str, Any] = {
    "airport": "JFK",
    "minutes": 45,
    "from": "2026-12-24T12:00:00Z",
    "to": "2026-12-24T18:00:00Z",
    "reason": "Thunderstorms over the field",
}

BULK_DELAY_RESULT: dict[str, Any] = {
    "batch": "17e87d0c-3444-4404-80fd-f5d9f9fd3169",
    "delayed": [
        {
            "id": 1,
            "designator": "SB101",
            "version": 4,
            "estimated_departure": "2026-12-03T08:25:00Z",
        }
    ],
}

CANCELLATION: dict[str, Any] = {"reason": "Crew unavailable"}

DELAY_NOTICE: dict[str, Any] = {
    "estimated_departure": "2026-12-24T15:10:00Z",
    "estimated_arrival": "2026-12-24T16:30:00Z",
    "reason": "Late inbound aircraft",
}

DIVERSION: dict[str, Any] = {"destination": "LGA", "reason": "JFK closed by snow"}

LOAD_REPORT: dict[str, Any] = {
    "rows": [
        {
            "origin": "JFK",
            "destination": "BOS",
            "flight_id": None,
            "designator": None,
            "service_date": None,
            "flights": 1,
            "capacity": 180,
            "seats_sold": 1,
            "load_factor": 0.0056,
        }
    ],
    "truncated": False,
}

NEW_LEG: dict[str, Any] = {
    "carrier": "SB",
    "flight_number": 2207,
    "origin": "BOS",
    "destination": "JFK",
    "scheduled_departure": "2026-12-24T14:30:00Z",
    "scheduled_arrival": "2026-12-24T15:50:00Z",
    "aircraft_type": "32N",
    "cabins": [{"cabin": "economy", "capacity": 180, "base_fare_minor": 9900, "currency": "USD"}],
    "reason": "Extra section for the holidays",
}

SALES_REPORT: dict[str, Any] = {
    "days": [
        {
            "day": "2026-12-02",
            "currency": "USD",
            "bookings": 1,
            "cancellations": 0,
            "charged_minor": 17550,
            "refunded_minor": 0,
            "net_minor": 17550,
        }
    ]
}

SCHEDULE_EDIT: dict[str, Any] = {
    "scheduled_departure": "2026-12-24T15:00:00Z",
    "scheduled_arrival": "2026-12-24T16:20:00Z",
    "reason": "Slot moved by the airport",
}

SESSIONS_REVOKED: dict[str, Any] = {
    "sessions_revoked": 1,
    "tokens_revoked_at": "2026-12-02T11:26:37.457607Z",
}

STAND_CHANGE: dict[str, Any] = {
    "departure_terminal": "4",
    "departure_gate": "B22",
    "reason": "Gate B20 closed for maintenance",
}

UNBAN: dict[str, Any] = {"reason": "Investigation closed"}

USER_DETAIL: dict[str, Any] = {
    "id": "da7e5673-74b8-45e5-97e3-58125864f87a",
    "email": "ada@example.com",
    "given_name": None,
    "family_name": "Lovelace",
    "created_at": "2026-12-02T11:26:34.520186Z",
    "last_sign_in_at": "2026-12-02T11:26:34.520186Z",
    "banned_until": None,
    "roles": [
        "agent",
    ],
    "ban": None,
    "tokens_revoked_at": None,
    "sessions": [
        {
            "id": "0e09eaa3-e0dd-4310-ae05-bbcdc6e04919",
            "method": "password",
            "created_at": "2026-12-02T11:26:34.520186Z",
            "refreshed_at": None,
            "not_after": "2027-01-01T11:26:34.520186Z",
            "revoked_at": None,
            "revoked_reason": None,
        },
    ],
    "bookings": [
        BOOKING_PAGE["bookings"][0],
    ],
}

USER_PAGE: dict[str, Any] = {
    "users": [
        {
            "id": "da7e5673-74b8-45e5-97e3-58125864f87a",
            "email": "ada@example.com",
            "given_name": None,
            "family_name": "Lovelace",
            "created_at": "2026-12-02T11:26:34.520186Z",
            "last_sign_in_at": "2026-12-02T11:26:34.520186Z",
            "banned_until": None,
        }
    ],
    "next_cursor": None,
}
