"""Domain errors and their RFC 9457 problem-details form.

Domain code raises a ``SkyboundError`` subclass; the error middleware is the one
place that turns any exception into an ``application/problem+json`` response.
Each subclass names its own problem ``type`` so clients can branch on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://skybound.dev/problems/"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One bad input: where it is (``body.slices.0.origin``) and what is wrong with it."""

    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


class SkyboundError(Exception):
    """Base of every error the API reports on purpose."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug

    def headers(self) -> dict[str, str]:
        return {}

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extensions)
        return body


class ValidationFailed(SkyboundError):
    """Input that is well-formed but wrong: each bad field is listed in ``errors``."""

    status = 422
    slug = "validation-error"
    title = "Request validation failed"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        first = errors[0].field if errors else "request"
        super().__init__(detail or f"Invalid value for '{first}'.")
        self.errors = errors

    def problem(self) -> dict[str, Any]:
        body = super().problem()
        body["errors"] = [e.as_dict() for e in self.errors]
        return body


class MalformedBody(ValidationFailed):
    """A body that is not the JSON it claims to be."""

    status = 400
    slug = "malformed-body"
    title = "Malformed request body"


class NotFound(SkyboundError):
    status = 404
    slug = "not-found"
    title = "Not found"


class AirportNotFound(NotFound):
    slug = "airport-not-found"
    title = "Airport not found"

    def __init__(self, iata: str) -> None:
        super().__init__(f"No airport with IATA code '{iata}'.", iata=iata)


class FlightNotFound(NotFound):
    slug = "flight-not-found"
    title = "Flight not found"

    def __init__(self, flight_id: int) -> None:
        super().__init__(f"No flight with id {flight_id}.", flight_id=flight_id)


class ServiceUnavailable(SkyboundError):
    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1, **ext: Any) -> None:
        super().__init__(detail, **ext)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem built from an HTTP status alone (404 for unknown routes, 405, ...)."""

    status: int
    title: str
    detail: str | None = None
    extensions: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extensions)
        return body
