"""Every body in the OpenAPI document has an example, and every example fits its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from api.keys import openapi_key
from foundation.settings import Settings
from server.app import create_app

# Bodies documented before examples were required; each entry goes when its example
# lands, and nothing may join it: a new operation brings its examples.
STILL_WITHOUT_EXAMPLES: frozenset[tuple[str, str, str]] = frozenset({
    ('DELETE /v1/admin/users/{user_id}/ban', 'request', 'application/json'),
    ('GET /auth/v1/user', '200', 'application/json'),
    ('GET /boards/{iata}', '200', 'text/html'),
    ('GET /healthz', '200', 'application/json'),
    ('GET /metrics', '200', 'text/plain'),
    ('GET /readyz', '200', 'application/json'),
    ('GET /realtime/v1/websocket', '200', 'application/json'),
    ('GET /socket/websocket', '200', 'application/json'),
    ('GET /v1/admin/audit', '200', 'application/json'),
    ('GET /v1/admin/bookings', '200', 'application/json'),
    ('GET /v1/admin/bookings/{booking_id}', '200', 'application/json'),
    ('GET /v1/admin/campaigns/{campaign_id}', '200', 'application/json'),
    ('GET /v1/admin/mail/templates/{template}/preview', '200', 'application/json'),
    ('GET /v1/admin/schedules/export', '200', 'text/plain'),
    ('GET /v1/admin/schedules/{job_id}', '200', 'application/json'),
    ('GET /v1/admin/stats/load-factor', '200', 'application/json'),
    ('GET /v1/admin/stats/sales', '200', 'application/json'),
    ('GET /v1/admin/users', '200', 'application/json'),
    ('GET /v1/admin/users/{user_id}', '200', 'application/json'),
    ('GET /v1/admin/users/{user_id}/roles', '200', 'application/json'),
    ('GET /v1/airports', '200', 'application/json'),
    ('GET /v1/airports/{iata}', '200', 'application/json'),
    ('GET /v1/airports/{iata}/arrivals', '200', 'application/json'),
    ('GET /v1/airports/{iata}/departures', '200', 'application/json'),
    ('GET /v1/bookings/{booking_id}', '200', 'application/json'),
    ('GET /v1/bookings/{booking_id}/boarding-passes', '200', 'application/json'),
    ('GET /v1/flights/{flight_id}', '200', 'application/json'),
    ('GET /v1/flights/{flight_id}/seatmap', '200', 'application/json'),
    ('GET /v1/me', '200', 'application/json'),
    ('GET /v1/me/bookings', '200', 'application/json'),
    ('GET /v1/me/export', '200', 'application/json'),
    ('GET /v1/me/payment-methods', '200', 'application/json'),
    ('GET /v1/me/preferences', '200', 'application/json'),
    ('GET /v1/me/seat-holds', '200', 'application/json'),
    ('GET /v1/search', '200', 'application/json'),
    ('GET /v1/streams/boards/{iata}', '200', 'text/event-stream'),
    ('GET /v1/streams/flights/{flight_id}', '200', 'text/event-stream'),
    ('GET /v1/streams/flights/{flight_id}/seats', '200', 'text/event-stream'),
    ('GET /v1/streams/me', '200', 'text/event-stream'),
    ('GET /v1/unsubscribe', '200', 'text/html'),
    ('GET /v1/ws', '200', 'application/json'),
    ('PATCH /v1/admin/flights/{flight_id}/schedule', '200', 'application/json'),
    ('PATCH /v1/admin/flights/{flight_id}/schedule', 'request', 'application/json'),
    ('PATCH /v1/admin/flights/{flight_id}/stands', '200', 'application/json'),
    ('PATCH /v1/admin/flights/{flight_id}/stands', 'request', 'application/json'),
    ('PATCH /v1/me', '200', 'application/json'),
    ('PATCH /v1/me', 'request', 'application/json'),
    ('POST /auth/v1/recover', '200', 'application/json'),
    ('POST /auth/v1/recover', 'request', 'application/json'),
    ('POST /auth/v1/signup', '200', 'application/json'),
    ('POST /auth/v1/signup', 'request', 'application/json'),
    ('POST /auth/v1/token', '200', 'application/json'),
    ('POST /auth/v1/token', 'request', 'application/json'),
    ('POST /auth/v1/verify', '200', 'application/json'),
    ('POST /auth/v1/verify', 'request', 'application/json'),
    ('POST /realtime/v1/api/broadcast', 'request', 'application/json'),
    ('POST /v1/admin/campaigns', '201', 'application/json'),
    ('POST /v1/admin/campaigns', 'request', 'application/json'),
    ('POST /v1/admin/campaigns/{campaign_id}/send', '200', 'application/json'),
    ('POST /v1/admin/campaigns/{campaign_id}/test', '202', 'application/json'),
    ('POST /v1/admin/campaigns/{campaign_id}/test', 'request', 'application/json'),
    ('POST /v1/admin/flights', '201', 'application/json'),
    ('POST /v1/admin/flights', 'request', 'application/json'),
    ('POST /v1/admin/flights/bulk-delay', '200', 'application/json'),
    ('POST /v1/admin/flights/bulk-delay', 'request', 'application/json'),
    ('POST /v1/admin/flights/{flight_id}/cancel', '200', 'application/json'),
    ('POST /v1/admin/flights/{flight_id}/cancel', 'request', 'application/json'),
    ('POST /v1/admin/flights/{flight_id}/delay', '200', 'application/json'),
    ('POST /v1/admin/flights/{flight_id}/delay', 'request', 'application/json'),
    ('POST /v1/admin/flights/{flight_id}/divert', '200', 'application/json'),
    ('POST /v1/admin/flights/{flight_id}/divert', 'request', 'application/json'),
    ('POST /v1/admin/schedules', '202', 'application/json'),
    ('POST /v1/admin/schedules', 'request', 'multipart/form-data'),
    ('POST /v1/admin/users/{user_id}/erase', 'request', 'application/json'),
    ('POST /v1/admin/users/{user_id}/sessions/revoke', '200', 'application/json'),
    ('POST /v1/admin/users/{user_id}/sessions/revoke', 'request', 'application/json'),
    ('POST /v1/bookings', '201', 'application/json'),
    ('POST /v1/bookings', 'request', 'application/json'),
    ('POST /v1/bookings/{booking_id}/cancellation-quotes', '201', 'application/json'),
    ('POST /v1/bookings/{booking_id}/cancellations', '200', 'application/json'),
    ('POST /v1/bookings/{booking_id}/cancellations', 'request', 'application/json'),
    ('POST /v1/bookings/{booking_id}/change-quotes', '201', 'application/json'),
    ('POST /v1/bookings/{booking_id}/change-quotes', 'request', 'application/json'),
    ('POST /v1/bookings/{booking_id}/changes', '200', 'application/json'),
    ('POST /v1/bookings/{booking_id}/changes', 'request', 'application/json'),
    ('POST /v1/bookings/{booking_id}/check-in', '200', 'application/json'),
    ('POST /v1/bookings/{booking_id}/check-in', 'request', 'application/json'),
    ('POST /v1/bookings/{booking_id}/documents/{ticket_number}/links', '200', 'application/json'),
    ('POST /v1/flights/{flight_id}/seat-holds', '201', 'application/json'),
    ('POST /v1/flights/{flight_id}/seat-holds', 'request', 'application/json'),
    ('POST /v1/me/payment-methods', '201', 'application/json'),
    ('POST /v1/me/payment-methods', 'request', 'application/json'),
    ('POST /v1/search', '200', 'application/json'),
    ('POST /v1/search', 'request', 'application/json'),
    ('POST /v1/streams/tickets', '201', 'application/json'),
    ('POST /v1/sync/pull', '200', 'application/json'),
    ('POST /v1/sync/pull', 'request', 'application/json'),
    ('POST /v1/sync/push', '200', 'application/json'),
    ('POST /v1/sync/push', 'request', 'application/json'),
    ('POST /v1/unsubscribe', '200', 'application/json'),
    ('PUT /auth/v1/user', '200', 'application/json'),
    ('PUT /auth/v1/user', 'request', 'application/json'),
    ('PUT /v1/admin/users/{user_id}/ban', '200', 'application/json'),
    ('PUT /v1/admin/users/{user_id}/ban', 'request', 'application/json'),
    ('PUT /v1/admin/users/{user_id}/roles', '200', 'application/json'),
    ('PUT /v1/admin/users/{user_id}/roles', 'request', 'application/json'),
    ('PUT /v1/me/preferences', '200', 'application/json'),
    ('PUT /v1/me/preferences', 'request', 'application/json'),
})  # fmt: skip


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The OpenAPI document of an app built by the real factory (no database needed)."""
    home: Path = tmp_path_factory.mktemp("home")
    settings = Settings(database_url="postgresql://127.0.0.1/unused", home=home)
    return create_app(settings)[openapi_key]


# Binary bodies (a PDF, an image) have no example worth printing in a document.
BINARY = ("application/pdf", "image/")


def _bodies(spec: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(operation, "request" or status, content type, media object) of every body that is
    not binary."""
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            name = f"{method.upper()} {path}"
            for content_type, media in op.get("requestBody", {}).get("content", {}).items():
                found.append((name, "request", content_type, media))
            for status, response in op["responses"].items():
                for content_type, media in response.get("content", {}).items():
                    found.append((name, status, content_type, media))
    return [body for body in found if not body[2].startswith(BINARY)]


def test_every_request_and_response_body_has_an_example(spec: dict[str, Any]) -> None:
    missing = {(name, where, ct) for name, where, ct, media in _bodies(spec)
               if "example" not in media}  # fmt: skip
    assert missing - STILL_WITHOUT_EXAMPLES == set(), (
        "Give these an example: `json_schema_extra={'examples': [...]}` on the model, or "
        "`examples={status: ...}` on the route"
    )
    assert STILL_WITHOUT_EXAMPLES - missing == set(), "Example added: drop it from the list"


def test_every_example_is_valid_against_its_schema(spec: dict[str, Any]) -> None:
    # The schema is checked inside a document holding the components its $refs name.
    invalid = []
    for name, where, content_type, media in _bodies(spec):
        if "example" not in media:
            continue
        schema = {**media["schema"], "components": spec["components"]}
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        invalid += [f"{name} {where} {content_type}: {error.json_path}: {error.message}"
                    for error in validator.iter_errors(media["example"])]  # fmt: skip
    assert invalid == []


def test_problem_examples_name_the_error_of_their_status(spec: dict[str, Any]) -> None:
    hold = spec["paths"]["/v1/flights/{flight_id}/seat-holds"]["post"]["responses"]
    assert hold["409"]["content"]["application/problem+json"]["example"]["type"] == (
        "https://skybound.dev/problems/seat-unavailable"
    )


def test_each_operation_states_who_may_call_it(spec: dict[str, Any]) -> None:
    create = spec["paths"]["/v1/admin/flights"]["post"]
    assert create["x-roles"] == ["ops"]
    assert create["description"].endswith("**Auth:** a bearer token with one of the roles ops.")
    assert spec["paths"]["/v1/airports"]["get"]["description"].endswith("**Auth:** none.")
