"""The one place where an error's kind becomes an HTTP status, headers and a body."""

from __future__ import annotations

from typing import Any

from foundation.errors import (
    Conflict,
    Gone,
    InvalidInput,
    InvalidRequest,
    NotFound,
    NotPermitted,
    PaymentFailed,
    PreconditionFailed,
    PreconditionRequired,
    ProtocolNotSupported,
    RateLimitExceeded,
    ServiceUnavailable,
    SkyboundError,
    TooLarge,
    TooManyRequests,
    Unauthenticated,
    UnsupportedFormat,
)

STATUS_OF_KIND: dict[type[SkyboundError], int] = {
    InvalidRequest: 400,
    Unauthenticated: 401,
    PaymentFailed: 402,
    NotPermitted: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    PreconditionFailed: 412,
    TooLarge: 413,
    UnsupportedFormat: 415,
    InvalidInput: 422,
    PreconditionRequired: 428,
    TooManyRequests: 429,
    ServiceUnavailable: 503,
    ProtocolNotSupported: 505,
}
# An error that names no kind is the client's mistake.
DEFAULT_STATUS = 400


def status_of(error: type[SkyboundError]) -> int:
    """The status of an error class: that of the first kind in its MRO."""
    for cls in error.__mro__:
        status = STATUS_OF_KIND.get(cls)
        if status is not None:
            return status
    return DEFAULT_STATUS


def headers_of(error: SkyboundError) -> dict[str, str]:
    headers = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="skybound"'
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, RateLimitExceeded):
        headers.update(rate_limit_policy([(error.policy, error.limit, error.window)]))
        headers["RateLimit"] = f'"{error.policy}";r=0;t={error.retry_after}'
    return headers


def rate_limit_policy(budgets: list[tuple[str, int, int]]) -> dict[str, str]:
    """The IETF RateLimit-Policy field (draft-ietf-httpapi-ratelimit-headers) for the
    (policy, limit, window seconds) budgets a request spent; a window of 0 is a cap on
    things held at once (open streams), which has none."""
    policies = ", ".join(
        f'"{name}";q={limit}' + (f";w={window}" if window else "")  # no window: concurrency
        for name, limit, window in budgets
    )
    return {"RateLimit-Policy": policies}


def problem_of(error: SkyboundError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, RFC 9457 body and headers of an error."""
    status = status_of(type(error))
    return status, error.problem(status), headers_of(error)
