"""What the built-in auth needs of a sign-in provider, apart from how it is reached
(adapters.oidc speaks OpenID Connect over HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class ProviderFailed(Exception):
    """The provider could not be used, or what it answered is not to be trusted.

    ``stage`` says where (``discovery``, ``exchange``, ``id_token``); the message is for
    logs only, never for the browser."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage


@dataclass(frozen=True, slots=True)
class ProviderTokens:
    """The provider's answer to a code exchange, with its ID token verified."""

    access_token: str
    refresh_token: str | None
    claims: dict[str, Any]


class IdentityProvider(Protocol):
    name: str

    async def authorization_url(
        self, *, redirect_uri: str, scopes: str | None, state: str, nonce: str,
        code_verifier: str,
    ) -> str:  # fmt: skip
        """Where to send the browser: the provider's sign-in page."""

    async def exchange(
        self, *, code: str, redirect_uri: str, code_verifier: str, nonce: str
    ) -> ProviderTokens:
        """Redeem the authorization code; the ID token's claims verified."""
