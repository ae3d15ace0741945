"""Errors of the GoTrue wire itself, before any account is involved: a body that is
not JSON, too large, or of another type, and a request with no token. They speak
GoTrue's shape like every auth error."""

from __future__ import annotations

from domain.identity.accounts.errors import AuthError
from foundation.errors import (
    FieldError,
    InvalidRequest,
    TooLarge,
    Unauthenticated,
    UnsupportedFormat,
)


class BadJson(InvalidRequest, AuthError):
    slug = "auth/bad-json"
    title = "Could not parse request body as JSON"
    error_code = "bad_json"

    def __init__(self, msg: str | None = None, errors: list[FieldError] | None = None) -> None:
        super().__init__(msg, errors=[error.as_dict() for error in errors or ()])


class UnsupportedContent(UnsupportedFormat, AuthError):
    slug = "auth/unsupported-media-type"
    title = "Send the body as application/json"
    error_code = "validation_failed"


class BodyTooLarge(TooLarge, AuthError):
    slug = "auth/payload-too-large"
    title = "Request body too large"
    error_code = "validation_failed"


class NoAuthorization(Unauthenticated, AuthError):
    slug = "auth/no-authorization"
    title = "This endpoint requires a Bearer token"
    error_code = "no_authorization"


class NoApiKey(Unauthenticated, AuthError):
    slug = "auth/no-api-key"
    title = "No API key found in request"
    error_code = "no_api_key"


class InvalidApiKey(Unauthenticated, AuthError):
    slug = "auth/invalid-api-key"
    title = "Invalid API key"
    error_code = "invalid_api_key"
