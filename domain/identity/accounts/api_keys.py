"""The `apikey` the Supabase clients send with every auth request, checked as Supabase's
API gateway checks it in front of GoTrue.

The accepted keys are SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY when set;
without an anon key, Skybound's own: a JWT with `role: anon` signed with the auth
secret, so every worker and restart derives the same one (`skybound anon-key` prints
it). Like Supabase's, it identifies the app, not a user: it has no `sub` and no `aud`,
so it is no access token.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass

import jwt


def embedded_anon_key(secret: str) -> str:
    return jwt.encode({"iss": "skybound", "role": "anon"}, secret, algorithm="HS256")


@dataclass(frozen=True, slots=True)
class ApiKeys:
    keys: tuple[str, ...]

    @classmethod
    def of(cls, keys: Iterable[str | None]) -> ApiKeys:
        return cls(tuple(key for key in keys if key))

    def accepts(self, presented: str) -> bool:
        # Compared in constant time, every key, so the answer's time tells nothing.
        matches = [hmac.compare_digest(presented.encode(), key.encode()) for key in self.keys]
        return any(matches)
