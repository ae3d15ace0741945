"""The API keys of the Supabase-compatible surface: an anon (publishable) key that any
client may hold and a service-role (secret) key for trusted servers.

Configured keys win (SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY: a Supabase
project's own); without them Skybound makes a pair once, in the database, so every
worker and restart accepts the same keys, and ``skybound demo`` prints them. Generated
keys take Supabase's new-style prefixes, which its clients treat as keys, not JWTs.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

from foundation.secrets import Queryable, app_secret
from foundation.settings import Settings

KeyRole = Literal["anon", "service_role"]


@dataclass(frozen=True, slots=True)
class ApiKeys:
    anon: str
    service_role: str

    def role_of(self, presented: str | None) -> KeyRole | None:
        """Whose key ``presented`` is; None for no key of ours (compared in constant time)."""
        if not presented:
            return None
        candidate = presented.encode()
        if hmac.compare_digest(candidate, self.service_role.encode()):
            return "service_role"
        if hmac.compare_digest(candidate, self.anon.encode()):
            return "anon"
        return None


async def load_api_keys(settings: Settings, conn: Queryable) -> ApiKeys:
    anon = settings.supabase_anon_key
    if anon is None:
        anon = "sb_publishable_" + (await app_secret(conn, "realtime_anon_key"))[:32]
    service_role = settings.supabase_service_role_key
    if service_role is None:
        service_role = "sb_secret_" + (await app_secret(conn, "realtime_service_key"))[:32]
    return ApiKeys(anon=anon, service_role=service_role)
