"""Every body in the OpenAPI document has an example, and every example fits its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from api.keys import openapi_key
from foundation.settings import Settings
from server.app import create_app


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
    missing = [(name, where, ct) for name, where, ct, media in _bodies(spec)
               if "example" not in media]  # fmt: skip
    assert missing == [], (
        "Give these an example: `json_schema_extra={'examples': [...]}` on the model, or "
        "`examples={status: ...}` on the route"
    )


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
