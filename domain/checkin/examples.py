"""Examples for the OpenAPI document of this package's models. Responses are real answers
of a server (ids, times and tokens as it gave them) with lists cut to their first item;
requests are the bodies the guide and the other documents send."""

from __future__ import annotations

from typing import Any

BOARDING_PASS_LIST: dict[str, Any] = {
    "booking_id": "4302ec0b-6427-4894-bb17-86067348f50c",
    "boarding_passes": [
        {
            "passenger_no": 1,
            "passenger_type": "adult",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "segment_no": 1,
            "flight_id": 1,
            "designator": "SB101",
            "airline": "Skybound Airways",
            "record_locator": "YDB4EW",
            "origin": "JFK",
            "destination": "BOS",
            "departure": {"utc": "2026-12-03T07:00:00Z", "local": "2026-12-03T02:00:00-05:00"},
            "boarding_time": {"utc": "2026-12-03T06:20:00Z", "local": "2026-12-03T01:20:00-05:00"},
            "gate": None,
            "terminal": None,
            "cabin": "economy",
            "seat": "12A",
            "zone": "4",
            "sequence": 1,
            "ticket_number": "9010100000001",
            "status": "checked_in",
            "checked_in_at": "2026-12-02T11:26:34.873553Z",
            "bcbp": "M1LOVELACE/ADA        EYDB4EW JFKBOSSB 0101 337Y012A0001 "
            "162>6320WW6336BSB                                        "
            "2A901010000000100SB                     2PC ",
            "pdf_url": "/v1/bookings/4302ec0b-6427-4894-bb17-86067348f50c/boarding-passes/1/1.pdf",
        }
    ],
}

CHECK_IN_REQUEST: dict[str, Any] = {
    "passengers": [1],
    "segments": [1],
    "documents": [
        {
            "passenger_no": 1,
            "document_type": "passport",
            "number": "X1234567",
            "expires_on": "2035-01-31",
            "nationality": "GB",
            "date_of_birth": "1985-12-10",
            "gender": "F",
        }
    ],
}
