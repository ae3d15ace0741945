# ruff: noqa: E501 (real values: tokens, URLs and barcodes do not wrap)
"""Examples for the OpenAPI document of this package's models. Responses are real answers
of a server (ids, times and tokens as it gave them) with lists cut to their first item;
requests are the bodies the guide and the other documents send."""

from __future__ import annotations

from typing import Any

from domain.bookings.examples import BOOKING

PULL_REQUEST: dict[str, Any] = {
    "cursor": None,
    "collections": ["trips", "boarding_passes"],
    "schema_version": 2,
}

PULL_RESPONSE: dict[str, Any] = {
    "changes": [
        {
            "collection": "trips",
            "id": "4302ec0b-6427-4894-bb17-86067348f50c",
            "op": "upsert",
            "version": 2,
            "data": BOOKING,
        },
    ],
    "cursor": "s1.eyJ1IjoiZGE3ZTU2NzMtNzRiOC00NWU1LTk3ZTMtNTgxMjU4NjRmODdhIiwidiI6MSwiZSI6ImRkM2Y0ZGFmIiwibiI6NywiYyI6OX0.PBZJBrcvMgVl8L6_9V4b1g",
    "has_more": False,
    "reset": False,
    "last_mutation_ids": {},
    "schema_version": 2,
}

PUSH_REQUEST: dict[str, Any] = {
    "client_id": "phone-1",
    "schema_version": 2,
    "mutations": [
        {
            "id": 1,
            "name": "trip_notes.upsert",
            "client_time": "1796210332614:0000:phone-1",
            "args": {
                "id": "3c1f8f8e-2b7a-4c55-9d0e-6a1b2c3d4e5f",
                "booking_id": "4302ec0b-6427-4894-bb17-86067348f50c",
                "title": "Boston",
                "body": "Taxi booked for 10:30.",
            },
        }
    ],
}

PUSH_RESPONSE: dict[str, Any] = {
    "results": [
        {
            "id": 1,
            "status": "applied",
            "records": [
                {
                    "collection": "trip_notes",
                    "id": "3c1f8f8e-2b7a-4c55-9d0e-6a1b2c3d4e5f",
                    "op": "upsert",
                    "version": 1,
                    "data": {
                        "id": "3c1f8f8e-2b7a-4c55-9d0e-6a1b2c3d4e5f",
                        "booking_id": "4302ec0b-6427-4894-bb17-86067348f50c",
                        "title": "Boston",
                        "body": "Taxi booked for 10:30.",
                        "clocks": {
                            "body": "1796210794503:0000:phone-1",
                            "title": "1796210794503:0000:phone-1",
                        },
                        "created_at": "2026-12-02T11:26:35.001531Z",
                        "updated_at": "2026-12-02T11:26:35.001531Z",
                    },
                }
            ],
        }
    ],
    "last_mutation_id": 1,
}
