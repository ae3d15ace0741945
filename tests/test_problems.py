"""Errors carry meaning; api.problems alone turns their kind into an HTTP status."""

from __future__ import annotations

import server.app  # noqa: F401  (imports every module that defines an error)
from api.problems import STATUS_OF_KIND, headers_of, problem_of, status_of
from domain.identity.accounts.errors import AuthError, RateLimited
from domain.identity.tokens import Unauthorized
from foundation.errors import (
    Conflict,
    MalformedBody,
    NotFound,
    ServiceUnavailable,
    SkyboundError,
    ValidationFailed,
)

# Bases that are not raised themselves.
ABSTRACT = {SkyboundError, AuthError, *STATUS_OF_KIND}


def _every_error() -> set[type[SkyboundError]]:
    found: set[type[SkyboundError]] = set()
    pending = [SkyboundError]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    return found


def test_every_error_raised_has_a_kind_and_no_status_of_its_own() -> None:
    errors = _every_error() - ABSTRACT
    assert len(errors) > 40
    kindless = sorted(e.__name__ for e in errors if not set(e.__mro__) & set(STATUS_OF_KIND))
    assert kindless == []
    with_status = sorted(e.__name__ for e in errors if "status" in vars(e))
    assert with_status == []


def test_a_kind_decides_the_status_even_under_another_error() -> None:
    assert status_of(MalformedBody) == 400  # a ValidationFailed (422) that is malformed
    assert status_of(ValidationFailed) == 422
    assert status_of(RateLimited) == 429
    assert status_of(type("Unknown", (SkyboundError,), {})) == 400


def test_headers_follow_from_meaning() -> None:
    assert headers_of(Unauthorized("no")) == {"WWW-Authenticate": 'Bearer realm="skybound"'}
    assert headers_of(RateLimited(7)) == {"Retry-After": "7"}
    assert headers_of(ServiceUnavailable("down", retry_after=3)) == {"Retry-After": "3"}
    assert headers_of(Conflict("taken")) == {}


def test_the_body_is_rfc_9457_with_the_mapped_status() -> None:
    status, body, headers = problem_of(NotFound("No such thing.", thing=3))
    assert status == 404
    assert body == {
        "type": "https://skybound.dev/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No such thing.",
        "thing": 3,
    }
    assert headers == {}
    _, auth_body, _ = problem_of(RateLimited(2))
    assert (auth_body["status"], auth_body["code"]) == (429, 429)  # GoTrue's legacy shape
