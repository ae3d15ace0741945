"""An identity provider's published signing keys (JWKS), fetched over HTTP."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 5.0


class JwksFetcher:
    """Fetches the key set at ``url``; one HTTP session for the process's life."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._session: aiohttp.ClientSession | None = None

    async def fetch(self) -> dict[str, Any] | None:
        """The JWKS document, or None when the provider cannot be read right now."""
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
            self._session = aiohttp.ClientSession(timeout=timeout)
        try:
            async with self._session.get(self.url) as response:
                response.raise_for_status()
                document = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("JWKS fetch failed", extra={"error": repr(exc)})
            return None
        return document if isinstance(document, dict) else None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
