"""The canonical error shape, asserted the same way everywhere."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse


async def assert_problem(
    response: ClientResponse, status: int, *, field: str | None = None
) -> dict[str, Any]:
    """Assert an RFC 9457 body with this status (and, if given, an error naming ``field``)."""
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json(content_type=None)
    assert body["status"] == status
    assert isinstance(body["type"], str)
    assert isinstance(body["title"], str)
    assert body["type"]
    assert body["title"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    if field is not None:
        fields = [error["field"] for error in body.get("errors", [])]
        assert field in fields, f"{field!r} not among {fields}"
    return body
