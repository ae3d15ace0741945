# ruff: noqa: E501 (real values: tokens, URLs and barcodes do not wrap)
"""Examples for the OpenAPI document of this package's models. Responses are real answers
of a server (ids, times and tokens as it gave them) with lists cut to their first item;
requests are the bodies the guide and the other documents send."""

from __future__ import annotations

from typing import Any

BOOKING: dict[str, Any] = {
    "id": "4302ec0b-6427-4894-bb17-86067348f50c",
    "record_locator": "YDB4EW",
    "status": "confirmed",
    "user_id": "da7e5673-74b8-45e5-97e3-58125864f87a",
    "total": {"amount_minor": 17550, "currency": "USD"},
    "fare": {
        "brand": "Flex",
        "cabin": "economy",
        "fare": {"amount_minor": 16200, "currency": "USD"},
        "taxes": {"amount_minor": 0, "currency": "USD"},
        "price_breakdown": [
            {
                "passenger_type": "adult",
                "count": 1,
                "base": {"amount_minor": 16200, "currency": "USD"},
                "taxes": [],
                "unit": {"amount_minor": 16200, "currency": "USD"},
                "total": {"amount_minor": 16200, "currency": "USD"},
            }
        ],
        "seats": {"amount_minor": 1350, "currency": "USD"},
        "refundable": True,
        "changeable": True,
        "change_fee": {"amount_minor": 0, "currency": "USD"},
        "cancellation_fee": {"amount_minor": 0, "currency": "USD"},
    },
    "contact": {"email": "ada@example.com", "phone": "+14155550100"},
    "passengers": [
        {
            "id": "cebd5fcc-2d3f-4d2c-b58d-4e46e347cf97",
            "passenger_no": 1,
            "type": "adult",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "date_of_birth": "1985-12-10",
            "email": None,
            "phone": None,
            "accompanied_by": None,
            "tickets": [
                {
                    "ticket_number": "9010100000001",
                    "status": "open",
                    "document_url": "/v1/bookings/4302ec0b-6427-4894-bb17-86067348f50c/documents/9010100000001.pdf",
                    "coupons": [
                        {
                            "coupon_no": 1,
                            "document_number": "9010100000001",
                            "segment_no": 1,
                            "flight_id": 1,
                            "status": "checked_in",
                        }
                    ],
                }
            ],
            "emds": [
                {
                    "emd_number": "9018000000001",
                    "description": "Seat 12A SB101",
                    "flight_id": 1,
                    "seat": "12A",
                    "amount": {"amount_minor": 1350, "currency": "USD"},
                    "status": "open",
                    "issued_at": "2026-12-02T11:26:34.719967Z",
                }
            ],
        }
    ],
    "segments": [
        {
            "segment_no": 1,
            "slice_no": 1,
            "flight_id": 1,
            "designator": "SB101",
            "operated_by": None,
            "origin": "JFK",
            "destination": "BOS",
            "departure": {"utc": "2026-12-03T07:00:00Z", "local": "2026-12-03T02:00:00-05:00"},
            "arrival": {"utc": "2026-12-03T08:15:00Z", "local": "2026-12-03T03:15:00-05:00"},
            "cabin": "economy",
            "fare_brand": "SB_ECO_FLEX",
            "booking_class": "Y",
            "fare_basis": "YFLX",
            "flight_status": "scheduled",
            "seats": [{"passenger_no": 1, "seat": "12A"}],
        }
    ],
    "payments": [
        {
            "id": "3b20870c-f749-47e8-8ca1-285cb30068bd",
            "kind": "charge",
            "amount": {"amount_minor": 17550, "currency": "USD"},
            "status": "succeeded",
            "provider": "simulated",
            "card_brand": "visa",
            "card_last4": "4242",
            "reason": "purchase",
            "created_at": "2026-12-02T11:26:34.719967Z",
        }
    ],
    "created_at": "2026-12-02T11:26:34.719967Z",
    "updated_at": "2026-12-02T11:26:34.719967Z",
    "cancelled_at": None,
    "cancellation_reason": None,
    "version": 2,
}

BOOKING_PAGE: dict[str, Any] = {
    "bookings": [
        {
            "id": "4302ec0b-6427-4894-bb17-86067348f50c",
            "record_locator": "YDB4EW",
            "status": "confirmed",
            "origin": "JFK",
            "destination": "BOS",
            "departure": {"utc": "2026-12-03T07:00:00Z", "local": "2026-12-03T02:00:00-05:00"},
            "arrival": {"utc": "2026-12-03T08:15:00Z", "local": "2026-12-03T03:15:00-05:00"},
            "passengers": 1,
            "total": {"amount_minor": 17550, "currency": "USD"},
            "created_at": "2026-12-02T11:26:34.719967Z",
        }
    ],
    "next_cursor": None,
}

BOOKING_REQUEST: dict[str, Any] = {
    "offer_id": "o1.eyJsIjpbWzFdXSwiYyI6ImVjb25vbXkiLCJiIjoiRmxleCJ9.Tm90IGEgcmVhbCBzaWduYXR1cmU",
    "passengers": [
        {
            "type": "adult",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "date_of_birth": "1985-12-10",
        }
    ],
    "contact": {"email": "ada@example.com", "phone": "+14155550100"},
    "seats": [{"flight_id": 1, "passenger": 0, "seat": "12A"}],
    "payment": {"type": "saved_card", "payment_method_id": "7b4a979a-a622-4f16-92b8-33d4e38f3e1f"},
}

CHANGE_CONFIRMATION: dict[str, Any] = {
    "quote_id": "dad480ce-2967-4103-a48e-a55b979d274a",
    "payment": {"type": "saved_card", "payment_method_id": "7b4a979a-a622-4f16-92b8-33d4e38f3e1f"},
}

CHANGE_QUOTE_REQUEST: dict[str, Any] = {
    "change": {"type": "seats", "seats": [{"flight_id": 1, "passenger": 0, "seat": "14C"}]}
}

QUOTE: dict[str, Any] = {
    "id": "cfb13046-ec73-4942-8e48-215b1afbd4a0",
    "booking_id": "4302ec0b-6427-4894-bb17-86067348f50c",
    "kind": "change",
    "amount": {"amount_minor": 0, "currency": "USD"},
    "charge": {"amount_minor": 0, "currency": "USD"},
    "refund": {"amount_minor": 0, "currency": "USD"},
    "fee": {"amount_minor": 0, "currency": "USD"},
    "details": {
        "type": "seats",
        "seats": [{"to": "14C", "from": "12A", "flight_id": 1, "passenger": 0, "charge_minor": 0}],
        "fee_minor": 0,
        "charge_minor": 0,
        "refund_minor": 0,
    },
    "expires_at": "2026-12-02T11:41:37.411818Z",
}
