"""Examples for the OpenAPI document of this package's models. Responses are real answers
of a server (ids, times and tokens as it gave them) with lists cut to their first item;
requests are the bodies the guide and the other documents send."""

from __future__ import annotations

from typing import Any

from domain.bookings.examples import BOOKING_PAGE

AGENT_CANCELLATION: dict[str, Any] = {
    "quote_id": "e4dfebbd-7f56-4dfd-94b4-6c901eb39635",
    "reason": "Passenger called: family emergency",
}

AGENT_CHANGE: dict[str, Any] = {
    "quote_id": "f09239b0-7910-4b55-ad28-a29e4a45ce94",
    "reason": "Passenger called: new email address",
}

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

BOOKING_HISTORY: dict[str, Any] = {
    "booking_id": "fab242d8-6f31-4bbb-85d9-8a5ce0694327",
    "entries": [
        {
            "at": "2026-12-02T12:05:37.417916Z",
            "kind": "change",
            "quote_id": "f09239b0-7910-4b55-ad28-a29e4a45ce94",
            "actor": "d281095a-1911-4cd7-9439-963d70d5ec18",
            "on_behalf": True,
            "reason": "Passenger called: new email address",
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

REFUND_REPORT: dict[str, Any] = {
    "days": [
        {
            "day": "2026-12-02",
            "currency": "USD",
            "cause": "within_24_hours",
            "cancellations": 1,
            "refunds": 1,
            "refunded_minor": 26000,
        }
    ]
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

SEAT_REPORT: dict[str, Any] = {
    "rows": [
        {
            "origin": "JFK",
            "destination": "LHR",
            "flight_id": 1,
            "designator": "SB1",
            "flights": 1,
            "passengers": 1,
            "seated": 0,
            "paid": 0,
            "seated_share": 0.0,
            "paid_share": 0.0,
        }
    ],
    "truncated": False,
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

TOP_ROUTES: dict[str, Any] = {
    "routes": [
        {"origin": "JFK", "destination": "LHR", "bookings": 2, "passengers": 2, "cancellations": 1}
    ]
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

DISRUPTIONS: dict[str, Any] = {
    "service_date": "2026-12-02",
    "flights": [
        {
            "flight": {
                "id": 1,
                "designator": "SB1",
                "carrier": {"code": "SB", "name": "Skybound Airways"},
                "flight_number": 1,
                "service_date": "2026-12-02",
                "status": "scheduled",
                "departure": {
                    "airport": {
                        "iata": "LHR",
                        "name": "London Heathrow Airport",
                        "city": "London",
                        "country": "GB",
                        "time_zone": "Europe/London",
                    },
                    "terminal": None,
                    "gate": "A1",
                    "scheduled": {
                        "utc": "2026-12-02T12:01:00Z",
                        "local": "2026-12-02T12:01:00+00:00",
                    },
                    "estimated": {
                        "utc": "2026-12-02T12:41:00Z",
                        "local": "2026-12-02T12:41:00+00:00",
                    },
                    "actual": None,
                    "takeoff": None,
                },
                "arrival": {
                    "airport": {
                        "iata": "JFK",
                        "name": "John F Kennedy International Airport",
                        "city": "New York",
                        "country": "US",
                        "time_zone": "America/New_York",
                    },
                    "terminal": None,
                    "gate": None,
                    "scheduled": {
                        "utc": "2026-12-02T14:01:00Z",
                        "local": "2026-12-02T09:01:00-05:00",
                    },
                    "estimated": None,
                    "actual": None,
                    "baggage_belt": None,
                    "landing": None,
                },
                "aircraft": None,
                "codeshares": [],
                "delay_minutes": 40,
                "version": 2,
                "updated_at": "2026-12-02T11:47:14.781083Z",
            },
            "disruptions": ["delayed"],
        }
    ],
    "truncated": False,
}

SYSTEM_REPORT: dict[str, Any] = {
    "at": "2026-12-02T11:47:14.796153Z",
    "released": 1,
    "outbox_depth": 0,
    "jobs_due": 0,
    "bookings_last_minute": 0,
    "database_version": "16.2",
    "fleet": {
        "workers": 1,
        "connections": {
            "sse": 0,
            "websocket": 0,
            "realtime_compat": 0,
            "topics": 0,
            "subscriptions": 0,
        },
        "listener": {"up": True, "cursor": 1, "lag_events": 0, "reconnects": 0},
        "pool": {"size": 4, "in_use": 0, "max": 4},
        "errors": {
            "http_requests": 1,
            "http_5xx": 0,
            "task_restarts": 0,
            "tasks_down": [],
            "slow_disconnects": 0,
            "contained": 0,
        },
    },
    "workers": [
        {
            "worker": "0",
            "as_of": "2026-12-02T11:47:14.793129Z",
            "uptime_seconds": 14.89,
            "version": "0.1.0",
            "python": "3.11.7",
            "aiohttp": "3.14.5",
            "connections": {
                "sse": 0,
                "websocket": 0,
                "realtime_compat": 0,
                "topics": 0,
                "subscriptions": 0,
            },
            "listener": {"up": True, "cursor": 1, "lag_events": 0, "reconnects": 0},
            "pool": {"size": 4, "in_use": 0, "max": 4},
            "errors": {
                "http_requests": 1,
                "http_5xx": 0,
                "task_restarts": 0,
                "tasks_down": [],
                "slow_disconnects": 0,
                "contained": 0,
            },
        }
    ],
}
