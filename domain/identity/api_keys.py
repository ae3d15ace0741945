"""The API keys of the Supabase-compatible surface, one pair for auth and realtime alike:
an anon (publishable) key any client may hold, and a service-role (secret) key for
trusted servers. supabase-js and the other clients send the anon key with every request,
to /auth/v1 as to /realtime/v1, so both must accept the same one.

Configured keys win (SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY: a Supabase project's
own). Without them, running its own auth, Skybound's anon key is a JWT with `role: anon`
signed with the auth secret, as Supabase's legacy anon key is (no `sub`, no `aud`: it
names the app, not a user; `skybound anon-key` prints it); without an auth secret, a
key made once in the database. The service-role key is made once in the database, so
every worker and restart accepts the same keys; `skybound demo` prints them.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

import jwt

from foundation.secrets import Queryable, app_secret
from foundation.settings import Settings

KeyRole = Literal["anon", "service_role"]


def embedded_anon_key(secret: str) -> str:
    return jwt.encode({"iss": "skybound", "role": "anon"}, secret, algorithm="HS256")


@dataclass(frozen=True, slots=True)
class ApiKeys:
    anon: str
    service_role: str

    def role_of(self, presented: str | None) -> KeyRole | None:
        """Whose key ``presented`` is; None for no key of ours. Both are compared, in
        constant time, so the answer's time tells nothing."""
        if not presented:
            return None
        candidate = presented.encode()
        service = hmac.compare_digest(candidate, self.service_role.encode())
        anon = hmac.compare_digest(candidate, self.anon.encode())
        return "service_role" if service else "anon" if anon else None

    def accepts(self, presented: str) -> bool:
        return self.role_of(presented) is not None


async def load_api_keys(
    settings: Settings, conn: Queryable, auth_secret: str | None = None
) -> ApiKeys:
    anon = settings.supabase_anon_key
    if anon is None:
        anon = (
            embedded_anon_key(auth_secret)
            if auth_secret
            else "sb_publishable_" + (await app_secret(conn, "realtime_anon_key"))[:32]
        )
    service_role = settings.supabase_service_role_key
    if service_role is None:
        service_role = "sb_secret_" + (await app_secret(conn, "realtime_service_key"))[:32]
    return ApiKeys(anon=anon, service_role=service_role)
