"""Auth errors in both shapes at once: RFC 9457 problem details, as everywhere in
Skybound, plus GoTrue's own fields (``code``, ``error_code``, ``msg``), which the
Supabase clients read. The problem middleware renders them like any other error."""

from __future__ import annotations

from typing import Any, ClassVar

from foundation.errors import FieldError, SkyboundError


class AuthError(SkyboundError):
    """Base of the /auth/v1 errors; ``title`` doubles as GoTrue's default ``msg``."""

    error_code: ClassVar[str] = "unexpected_failure"

    def __init__(self, msg: str | None = None, **extensions: Any) -> None:
        super().__init__(msg or self.title, **extensions)

    def problem(self) -> dict[str, Any]:
        body = super().problem()
        # GoTrue's legacy error shape: `code` is the HTTP status. It is what GoTrue sends
        # to clients that do not negotiate X-Supabase-Api-Version in the response.
        body.update(code=self.status, error_code=self.error_code, msg=self.detail)
        return body


class InvalidCredentials(AuthError):
    status = 400
    slug = "auth/invalid-credentials"
    title = "Invalid login credentials"
    error_code = "invalid_credentials"


class EmailAddressInvalid(AuthError):
    status = 400
    slug = "auth/email-address-invalid"
    title = "Unable to validate email address: invalid format"
    error_code = "email_address_invalid"


class BadRequest(AuthError):
    status = 400
    slug = "auth/validation-failed"
    title = "Invalid request"
    error_code = "validation_failed"


class Unprocessable(AuthError):
    """Well-formed input the server will not act on; may list each bad field."""

    status = 422
    slug = "auth/validation-failed"
    title = "Request validation failed"
    error_code = "validation_failed"

    def __init__(self, msg: str | None = None, errors: list[FieldError] | None = None) -> None:
        if errors:
            super().__init__(msg, errors=[error.as_dict() for error in errors])
        else:
            super().__init__(msg)


class BadJson(AuthError):
    status = 400
    slug = "auth/bad-json"
    title = "Could not parse request body as JSON"
    error_code = "bad_json"

    def __init__(self, msg: str | None = None, errors: list[FieldError] | None = None) -> None:
        super().__init__(msg, errors=[error.as_dict() for error in errors or ()])


class UnsupportedContent(AuthError):
    status = 415
    slug = "auth/unsupported-media-type"
    title = "Send the body as application/json"
    error_code = "validation_failed"


class BodyTooLarge(AuthError):
    status = 413
    slug = "auth/payload-too-large"
    title = "Request body too large"
    error_code = "validation_failed"


class WeakPassword(AuthError):
    status = 422
    slug = "auth/weak-password"
    title = "Password is too weak"
    error_code = "weak_password"

    def __init__(self, msg: str, reasons: list[str]) -> None:
        # supabase-auth reads weak_password.reasons whenever error_code is weak_password.
        super().__init__(msg, weak_password={"reasons": reasons})


class SamePassword(AuthError):
    status = 422
    slug = "auth/same-password"
    title = "New password should be different from the old password."
    error_code = "same_password"


class UserAlreadyExists(AuthError):
    status = 422
    slug = "auth/user-already-exists"
    title = "User already registered"
    error_code = "user_already_exists"


class EmailExists(AuthError):
    status = 422
    slug = "auth/email-exists"
    title = "A user with this email address has already been registered"
    error_code = "email_exists"


class PhoneProviderDisabled(AuthError):
    status = 400
    slug = "auth/phone-provider-disabled"
    title = "Phone sign-ins are not supported"
    error_code = "phone_provider_disabled"


class UserBanned(AuthError):
    status = 400
    slug = "auth/user-banned"
    title = "User is banned"
    error_code = "user_banned"


class RefreshTokenNotFound(AuthError):
    status = 400
    slug = "auth/refresh-token-not-found"
    title = "Invalid Refresh Token: Refresh Token Not Found"
    error_code = "refresh_token_not_found"


class RefreshTokenAlreadyUsed(AuthError):
    status = 400
    slug = "auth/refresh-token-already-used"
    title = "Invalid Refresh Token: Already Used"
    error_code = "refresh_token_already_used"


class SessionExpired(AuthError):
    status = 400
    slug = "auth/session-expired"
    title = "Invalid Refresh Token: Session Expired"
    error_code = "session_expired"


class OtpExpired(AuthError):
    status = 403
    slug = "auth/otp-expired"
    title = "Token has expired or is invalid"
    error_code = "otp_expired"


class NoAuthorization(AuthError):
    status = 401
    slug = "auth/no-authorization"
    title = "This endpoint requires a Bearer token"
    error_code = "no_authorization"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="skybound"'}


class BadJwt(AuthError):
    status = 403
    slug = "auth/bad-jwt"
    title = "invalid JWT: unable to parse or verify signature"
    error_code = "bad_jwt"


class SessionNotFound(AuthError):
    status = 403
    slug = "auth/session-not-found"
    title = "Session from session_id claim in JWT does not exist"
    error_code = "session_not_found"


class UserNotFound(AuthError):
    status = 403
    slug = "auth/user-not-found"
    title = "User from sub claim in JWT does not exist"
    error_code = "user_not_found"


class RateLimited(AuthError):
    status = 429
    slug = "auth/over-request-rate-limit"
    title = "Request rate limit reached"
    error_code = "over_request_rate_limit"

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after=retry_after)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class AuthUnavailable(AuthError):
    status = 503
    slug = "auth/unavailable"
    title = "Built-in auth has no signing secret"
    error_code = "unexpected_failure"
