"""The examples of the OpenAPI document: one per request body and per response.

A body's example comes from its model (``json_schema_extra={"examples": [...]}``), kept
next to the model that owns it, or from the route's ``examples=`` for a body no model
describes (plain text, a stream). A problem's example is built from the errors the
operation declares for that status, so it shows the ``type`` a client branches on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from api.middleware import DatabaseBusy
from api.problems import STATUS_OF_KIND, status_of
from domain.identity.tokens import Forbidden, Unauthorized
from foundation.errors import PROBLEM_BASE, RateLimitExceeded, SkyboundError, ValidationFailed

# The error behind a status the builder documents for every operation of a kind.
_GENERIC: dict[int, type[SkyboundError]] = {
    401: Unauthorized,
    403: Forbidden,
    429: RateLimitExceeded,
    503: DatabaseBusy,
}
_REQUEST_ID = "5b0f7c1e9a2d4e6f"


def model_example(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """The first example a schema (or the component it refers to) carries, else None."""
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    examples = schema.get("examples")
    return examples[0] if examples else None


def problem_example(
    status: int, errors: Iterable[type[SkyboundError]], bad_field: str
) -> dict[str, Any]:
    """An RFC 9457 body for ``status``: the first declared error that answers with it."""
    error = next((e for e in errors if status_of(e) == status), None)
    if error is None:
        error = _GENERIC.get(status) or next(
            (kind for kind, kind_status in STATUS_OF_KIND.items() if kind_status == status),
            SkyboundError,
        )
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + error.slug,
        "title": error.title,
        "status": status,
        "request_id": _REQUEST_ID,
    }
    if issubclass(error, ValidationFailed):
        body["detail"] = f"Invalid value for '{bad_field}'."
        body["errors"] = [{"field": bad_field, "message": "Field required", "code": "missing"}]
    return body


def attach_examples(
    spec: dict[str, Any],
    components: dict[str, Any],
    declared: dict[int | str, Any],
    errors: Iterable[type[SkyboundError]],
    bad_field: str,
) -> None:
    """Give every request body and response of one operation its example, where one is
    known; the suite fails for each one still missing."""
    errors = list(errors)
    for media in spec.get("requestBody", {}).get("content", {}).values():
        _set(media, declared.get("request"), components)
    for status, response in spec["responses"].items():
        for content_type, media in response.get("content", {}).items():
            if content_type == "application/problem+json":
                media["example"] = problem_example(int(status), errors, bad_field)
            else:
                _set(media, declared.get(int(status)), components)


def _set(media: dict[str, Any], declared: Any, components: dict[str, Any]) -> None:
    example = declared if declared is not None else model_example(media["schema"], components)
    if example is not None:
        media["example"] = example
