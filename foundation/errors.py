"""Errors by meaning: what went wrong, never which HTTP status says so.

Domain code raises a ``SkyboundError`` of one of the kinds below; ``api.problems`` maps
each kind to its status, and the error middleware is the one place that turns any
exception into an ``application/problem+json`` response. Each error names its own
problem ``type`` (its slug) so clients can branch on it.
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
    """Base of every error Skybound reports on purpose.

    An error says what went wrong, by its kind (the classes below) and its ``slug``; it
    does not know about HTTP. ``api.problems`` is the one place that maps each kind to
    a status code and renders the problem-details body.
    """

    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    # Seconds after which trying again may succeed (rate limits, outages); None: no hint.
    retry_after: int | None = None

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug

    def problem(self, status: int) -> dict[str, Any]:
        """The RFC 9457 body, for the status the error's kind maps to."""
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": status}
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extensions)
        return body


# The kinds of failure. Every error Skybound raises is one of these.


class InvalidRequest(SkyboundError):
    """The request cannot be acted on as sent (malformed, or against the protocol)."""


class InvalidInput(SkyboundError):
    """Well-formed input that breaks a rule."""

    slug = "validation-error"
    title = "Request validation failed"


class Unauthenticated(SkyboundError):
    """No credentials, or credentials that do not prove who the caller is."""


class NotPermitted(SkyboundError):
    """The caller is known, and not allowed to do this."""


class PaymentFailed(SkyboundError):
    """The payment was refused."""


class NotFound(SkyboundError):
    """No such thing (or none the caller may see)."""

    slug = "not-found"
    title = "Not found"


class Conflict(SkyboundError):
    """The thing's current state does not allow it (sold out, already cancelled...)."""


class PreconditionFailed(SkyboundError):
    """The caller's precondition (the version it saw, ``If-Match``) no longer holds."""


class PreconditionRequired(SkyboundError):
    """A write that must say which version it changes (``If-Match``) did not."""


class Gone(SkyboundError):
    """It existed and has expired (an offer, a quote)."""


class TooLarge(SkyboundError):
    """More than the server accepts."""


class UnsupportedFormat(SkyboundError):
    """A format the server does not take."""


class TooManyRequests(SkyboundError):
    """Too many attempts; ``retry_after`` says when to try again."""


class RateLimitExceeded(TooManyRequests):
    """A budget of requests is spent: ``policy`` allows ``limit`` per ``window`` seconds."""

    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, policy: str, limit: int, window: int, retry_after: int) -> None:
        super().__init__(
            f"More than {limit} requests in {window} seconds ({policy}); retry in {retry_after} s.",
            policy=policy,
        )
        self.policy, self.limit, self.window = policy, limit, window
        self.retry_after = retry_after


class ServiceUnavailable(SkyboundError):
    """Something this needs is down or overloaded; try again after ``retry_after``."""

    slug = "service-unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1, **ext: Any) -> None:
        super().__init__(detail, **ext)
        self.retry_after = retry_after


class ProtocolNotSupported(SkyboundError):
    """The request's protocol version cannot carry what was asked for."""


class ValidationFailed(InvalidInput):
    """Input that is well-formed but wrong: each bad field is listed in ``errors``."""

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        first = errors[0].field if errors else "request"
        super().__init__(detail or f"Invalid value for '{first}'.")
        self.errors = errors

    def problem(self, status: int) -> dict[str, Any]:
        body = super().problem(status)
        body["errors"] = [e.as_dict() for e in self.errors]
        return body


class MalformedBody(InvalidRequest, ValidationFailed):
    """A body that is not the JSON it claims to be."""

    slug = "malformed-body"
    title = "Malformed request body"


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
