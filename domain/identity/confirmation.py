"""Strict token verification: besides its signature, a token's user must still be signed
in at the auth server (Supabase Auth), asked with GoTrue's ``get_user``.

A signature stays valid until the token expires, even after its user signed out or was
deleted in Supabase. With strict mode each token is also confirmed with GoTrue, and the
answer is kept for ``ttl`` seconds, so such a user loses access within that time at the
price of one call to GoTrue per token per ``ttl``. When GoTrue cannot be asked, the
request fails (503) rather than trusting an unconfirmed token.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Protocol

from adapters.identity_provider import ProviderFailed
from domain.identity.tokens import Unauthorized
from foundation.errors import ServiceUnavailable

log = logging.getLogger(__name__)


class AuthServer(Protocol):
    async def user_is_live(self, token: str) -> bool: ...

    async def close(self) -> None: ...


class SignedOut(Unauthorized):
    slug = "token-signed-out"
    title = "Signed out"


class AuthServerUnavailable(ServiceUnavailable):
    slug = "auth-server-unavailable"
    title = "The auth server cannot confirm the token"


class TokenConfirmation:
    def __init__(self, server: AuthServer, ttl: float, max_entries: int = 10_000) -> None:
        self.server = server
        self.ttl = ttl
        self.max_entries = max_entries
        self._answers: OrderedDict[str, tuple[bool, float]] = OrderedDict()

    async def confirm(self, token: str) -> None:
        """Nothing when the token's user is signed in; SignedOut otherwise."""
        now = time.monotonic()
        known = self._answers.get(token)
        if known is None or now - known[1] >= self.ttl:
            try:
                live = await self.server.user_is_live(token)
            except ProviderFailed as exc:
                log.warning("GoTrue cannot confirm a token", extra={"error": str(exc)})
                raise AuthServerUnavailable("Supabase Auth cannot be reached.") from None
            known = (live, now)
            if self.ttl > 0:
                self._answers[token] = known
                if len(self._answers) > self.max_entries:
                    self._answers.popitem(last=False)
        if not known[0]:
            raise SignedOut("The token's session or user no longer exists at Supabase Auth.")

    async def close(self) -> None:
        await self.server.close()
