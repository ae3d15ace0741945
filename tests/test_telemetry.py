"""Error reporting and tracing: off unless configured, and nothing personal leaves."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from adapters.telemetry import FILTERED, before_send, start_error_reporting, start_tracing
from foundation.settings import Settings
from server.app import create_app
from tests.factories import add_world


def test_events_are_scrubbed_of_credentials_cards_and_documents() -> None:
    event: dict[str, Any] = {
        "message": "charge failed for 4242 4242 4242 4242 (passport X12345678)",
        "request": {
            "url": "http://127.0.0.1/v1/bookings?token=abc.def",
            "query_string": "ticket=t0k3n&limit=5",
            "headers": {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
                        "User-Agent": "board/1.0", "Cookie": "sb=1"},
            "data": {"passengers": [{"given_name": "Ada"}]},
            "cookies": {"sb": "1"},
        },
        "user": {"email": "ada@example.com"},
        "exception": {"values": [{"stacktrace": {"frames": [{"vars": {
            "number": "4000000000000002", "flight_number": 100, "card": {"cvc": "123"},
            "document_number": "P1234567", "note": "token=s3cr3t", "carrier": "SB",
        }}]}}]},
    }  # fmt: skip
    scrubbed = before_send(event, {})
    text = repr(scrubbed)
    for secret in ("4242 4242", "X12345678", "abc.def", "t0k3n", "eyJhbGci", "sb=1",
                   "Ada", "ada@example.com", "4000000000000002", "123", "P1234567",
                   "s3cr3t"):  # fmt: skip
        assert secret not in text, secret
    frame = scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]
    assert (frame["flight_number"], frame["carrier"]) == (100, "SB")  # debugging stays useful
    assert frame["number"] == FILTERED
    assert scrubbed["request"]["headers"]["User-Agent"] == "board/1.0"


def test_nothing_starts_unless_configured(settings: Settings) -> None:
    assert start_error_reporting(settings) is False
    assert start_tracing(settings) is None


async def test_a_request_and_its_sql_are_traced(
    aiohttp_client: Any, settings: Settings, db: Any
) -> None:
    await add_world(db)
    exporter = InMemorySpanExporter()
    stop = start_tracing(settings, exporter=exporter)
    assert stop is not None
    try:
        client: TestClient = await aiohttp_client(create_app(settings))
        response = await client.get("/v1/airports/JFK")
        assert response.status == 200
    finally:
        stop()
    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.attributes and s.attributes.get("http.route")]
    sql = [s for s in spans if s.attributes and s.attributes.get("db.system") == "postgresql"]
    assert server, [s.name for s in spans]
    assert sql, [s.name for s in spans]
    request_span = next(s for s in server if "airports" in str(s.attributes.get("http.route")))
    assert any(s.context.trace_id == request_span.context.trace_id for s in sql)
