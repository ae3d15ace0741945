# ruff: noqa: E501 (real values: tokens, URLs, barcodes and records do not wrap)
"""Examples for the OpenAPI document of this package's models. Responses are real answers
of a server (ids, times and tokens as it gave them) with lists cut to their first item;
requests are the bodies the guide and the other documents send."""

from __future__ import annotations

from typing import Any

import orjson

from domain.admin.examples import SYSTEM_REPORT

BROADCAST_BODY: dict[str, Any] = {
    "messages": [{"topic": "room:lobby", "event": "shout", "payload": {"text": "Boarding soon"}}]
}

TICKET_RESPONSE: dict[str, Any] = {
    "ticket": "st_wM-Rg1yzOG8l3oJsJrrQR6_PJiWVzTMsabqzCVktwJ4",
    "expires_at": "2026-12-02T11:27:34.849750Z",
}

# The first event of each stream, as the bytes travel.
FLIGHT_STREAM = (
    "retry: 2000\n"
    "\n"
    "id: 21e585c4:18\n"
    "event: snapshot\n"
    'data: {"id":1,"designator":"SB101","carrier":{"code":"SB","name":"Skybound '
    'Airways"},"flight_number":101,"service_date":"2026-12-03","status":"scheduled","departure":{"airport":{"iata":"JFK","name":"John '
    'F Kennedy International Airport","city":"New '
    'York","country":"US","time_zone":"America/New_York"},"terminal":"4","gate":"B22","scheduled":{"utc":"2026-12-03T07:00:00Z","local":"2026-12-03T02:00:00-05:00"},"estimated":{"utc":"2026-12-03T07:40:00Z","local":"2026-12-03T02:40:00-05:00"},"actual":null,"takeoff":null},"arrival":{"airport":{"iata":"BOS","name":"Logan '
    "International "
    'Airport","city":"Boston","country":"US","time_zone":"America/New_York"},"terminal":null,"gate":null,"scheduled":{"utc":"2026-12-03T08:15:00Z","local":"2026-12-03T03:15:00-05:00"},"estimated":{"utc":"2026-12-03T08:55:00Z","local":"2026-12-03T03:55:00-05:00"},"actual":null,"baggage_belt":null,"landing":null},"aircraft":{"code":"32N","name":"Airbus '
    'A320neo"},"codeshares":[],"delay_minutes":40,"version":3,"updated_at":"2026-12-02T11:26:35.206505Z"}\n'
    "\n"
)
BOARD_STREAM = (
    "retry: 2000\n"
    "\n"
    "id: 21e585c4:18\n"
    "event: snapshot\n"
    'data: {"airport":{"iata":"JFK","icao":"KJFK","name":"John F Kennedy International '
    'Airport","city":"New '
    'York","subdivision":null,"country":"US","time_zone":"America/New_York","latitude":40.64,"longitude":-73.78,"elevation_ft":null,"hub":true},"kind":"departures","window":{"start":{"utc":"2026-12-02T10:26:35.050652Z","local":"2026-12-02T05:26:35.050652-05:00"},"end":{"utc":"2026-12-02T22:26:35.050652Z","local":"2026-12-02T17:26:35.050652-05:00"}},"flights":[],"truncated":false}\n'
    "\n"
)
SEAT_MAP_STREAM = (
    "retry: 2000\n"
    "\n"
    "id: 21e585c4:18\n"
    "event: snapshot\n"
    'data: {"flight_id":1,"aircraft":"32N","cabins":[{"cabin":"economy","layout":"ABC '
    'DEF","currency":"USD","rows":[{"row":1,"exit_row":false,"extra_legroom":true,"seats":[{"seat":"1A","letter":"A","characteristics":["window"],"state":"available","price_minor":1350}]}]}]}\n'
    "\n"
)
MY_STREAM = (
    "retry: 2000\n"
    "\n"
    "id: 21e585c4:18\n"
    "event: snapshot\n"
    "data: "
    '{"user_id":"da7e5673-74b8-45e5-97e3-58125864f87a","bookings":[{"id":"4302ec0b-6427-4894-bb17-86067348f50c","record_locator":"YDB4EW","status":"confirmed","version":2,"updated_at":"2026-12-02T11:18:52.721427+00:00"}]}\n'
    "\n"
)
SYSTEM_STREAM = (
    "retry: 1020\n\nevent: system\ndata: " + orjson.dumps(SYSTEM_REPORT).decode() + "\n\n"
)
