"""Asking a GoTrue server (Supabase Auth) whether a token's user is still signed in,
through the official client's ``get_user``: what strict token verification relies on."""

from __future__ import annotations

from typing import Any

from adapters.identity_provider import ProviderFailed

# GoTrue's answers for a token whose session or user is gone (or that it never issued).
_REFUSALS = frozenset({401, 403, 404})


class GoTrueUsers:
    """One client for the process's life. ``supabase_auth`` is imported here, not at the
    top: it is needed (from the `supabase` extra) only when strict mode is on."""

    def __init__(self, auth_url: str, api_key: str | None) -> None:
        from supabase_auth import AsyncGoTrueClient

        headers = {"apikey": api_key} if api_key else {}
        self._client: Any = AsyncGoTrueClient(
            url=auth_url, headers=headers, auto_refresh_token=False, persist_session=False
        )

    async def user_is_live(self, token: str) -> bool:
        """True when GoTrue answers with the token's user; False when it refuses the
        token; ProviderFailed when it cannot be asked."""
        from supabase_auth.errors import AuthApiError, AuthError

        try:
            answer = await self._client.get_user(jwt=token)
        except AuthApiError as exc:
            if exc.status in _REFUSALS:
                return False
            raise ProviderFailed("gotrue", f"status {exc.status}") from None
        except (AuthError, OSError) as exc:
            raise ProviderFailed("gotrue", repr(exc)) from None
        except Exception as exc:  # httpx's transport errors, without importing httpx here
            raise ProviderFailed("gotrue", repr(exc)) from None
        return answer is not None and answer.user is not None

    async def close(self) -> None:
        await self._client.close()
