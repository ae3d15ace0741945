"""Auth errors in both shapes at once: RFC 9457 problem details, as everywhere in
Skybound, plus GoTrue's own fields (``code``, ``error_code``, ``msg``), which the
Supabase clients read. The problem middleware renders them like any other error."""

from __future__ import annotations

from typing import Any, ClassVar

from foundation.errors import (
    FieldError,
    InvalidInput,
    InvalidRequest,
    NotFound,
    NotPermitted,
    ServiceUnavailable,
    SkyboundError,
    TooManyRequests,
)


class AuthError(SkyboundError):
    """Base of the /auth/v1 errors; ``title`` doubles as GoTrue's default ``msg``."""

    error_code: ClassVar[str] = "unexpected_failure"

    def __init__(self, msg: str | None = None, **extensions: Any) -> None:
        super().__init__(msg or self.title, **extensions)

    def problem(self, status: int) -> dict[str, Any]:
        body = super().problem(status)
        # GoTrue's legacy error shape: `code` is the HTTP status. It is what GoTrue sends
        # to clients that do not negotiate X-Supabase-Api-Version in the response.
        body.update(code=status, error_code=self.error_code, msg=self.detail)
        return body


class InvalidCredentials(InvalidRequest, AuthError):
    slug = "auth/invalid-credentials"
    title = "Invalid login credentials"
    error_code = "invalid_credentials"


class EmailAddressInvalid(InvalidRequest, AuthError):
    slug = "auth/email-address-invalid"
    title = "Unable to validate email address: invalid format"
    error_code = "email_address_invalid"


class BadRequest(InvalidRequest, AuthError):
    slug = "auth/validation-failed"
    title = "Invalid request"
    error_code = "validation_failed"


class Unprocessable(InvalidInput, AuthError):
    """Well-formed input the server will not act on; may list each bad field."""

    slug = "auth/validation-failed"
    title = "Request validation failed"
    error_code = "validation_failed"

    def __init__(self, msg: str | None = None, errors: list[FieldError] | None = None) -> None:
        if errors:
            super().__init__(msg, errors=[error.as_dict() for error in errors])
        else:
            super().__init__(msg)


class WeakPassword(InvalidInput, AuthError):
    slug = "auth/weak-password"
    title = "Password is too weak"
    error_code = "weak_password"

    def __init__(self, msg: str, reasons: list[str]) -> None:
        # supabase-auth reads weak_password.reasons whenever error_code is weak_password.
        super().__init__(msg, weak_password={"reasons": reasons})


class SamePassword(InvalidInput, AuthError):
    slug = "auth/same-password"
    title = "New password should be different from the old password."
    error_code = "same_password"


class UserAlreadyExists(InvalidInput, AuthError):
    slug = "auth/user-already-exists"
    title = "User already registered"
    error_code = "user_already_exists"


class EmailExists(InvalidInput, AuthError):
    slug = "auth/email-exists"
    title = "A user with this email address has already been registered"
    error_code = "email_exists"


class PhoneProviderDisabled(InvalidRequest, AuthError):
    slug = "auth/phone-provider-disabled"
    title = "Phone sign-ins are not supported"
    error_code = "phone_provider_disabled"


class UserBanned(InvalidRequest, AuthError):
    slug = "auth/user-banned"
    title = "User is banned"
    error_code = "user_banned"


class RefreshTokenNotFound(InvalidRequest, AuthError):
    slug = "auth/refresh-token-not-found"
    title = "Invalid Refresh Token: Refresh Token Not Found"
    error_code = "refresh_token_not_found"


class RefreshTokenAlreadyUsed(InvalidRequest, AuthError):
    slug = "auth/refresh-token-already-used"
    title = "Invalid Refresh Token: Already Used"
    error_code = "refresh_token_already_used"


class SessionExpired(InvalidRequest, AuthError):
    slug = "auth/session-expired"
    title = "Invalid Refresh Token: Session Expired"
    error_code = "session_expired"


class OtpExpired(NotPermitted, AuthError):
    slug = "auth/otp-expired"
    title = "Token has expired or is invalid"
    error_code = "otp_expired"


class BadJwt(NotPermitted, AuthError):
    slug = "auth/bad-jwt"
    title = "invalid JWT: unable to parse or verify signature"
    error_code = "bad_jwt"


class SessionNotFound(NotPermitted, AuthError):
    slug = "auth/session-not-found"
    title = "Session from session_id claim in JWT does not exist"
    error_code = "session_not_found"


class UserNotFound(NotPermitted, AuthError):
    slug = "auth/user-not-found"
    title = "User from sub claim in JWT does not exist"
    error_code = "user_not_found"


class RateLimited(TooManyRequests, AuthError):
    slug = "auth/over-request-rate-limit"
    title = "Request rate limit reached"
    error_code = "over_request_rate_limit"

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after=retry_after)
        self.retry_after = retry_after


class AuthUnavailable(ServiceUnavailable, AuthError):
    slug = "auth/unavailable"
    title = "Built-in auth has no signing secret"
    error_code = "unexpected_failure"

    def __init__(self, msg: str | None = None) -> None:
        # A missing secret is configuration, not load: no hint to retry.
        AuthError.__init__(self, msg)


class FlowStateNotFound(NotFound, AuthError):
    slug = "auth/flow-state-not-found"
    title = "invalid flow state, no valid flow state found"
    error_code = "flow_state_not_found"


class FlowStateExpired(InvalidInput, AuthError):
    slug = "auth/flow-state-expired"
    title = "invalid flow state, flow state has expired"
    error_code = "flow_state_expired"


class BadCodeVerifier(InvalidRequest, AuthError):
    slug = "auth/bad-code-verifier"
    title = "code challenge does not match previously saved code verifier"
    error_code = "bad_code_verifier"


class ProviderUnavailable(ServiceUnavailable, AuthError):
    slug = "auth/provider-unavailable"
    title = "The sign-in provider cannot be reached"
    error_code = "unexpected_failure"
