"""Sign-in with Google through PKCE against `skybound serve` (two workers sharing the
flows through the database), with the official supabase-auth client and a local OpenID
Connect provider playing Google."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import asyncpg
from supabase_auth import AsyncGoTrueClient

from tests.e2e.harness import running_server
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, running_provider
from tests.test_gotrue_oauth import APP, follow, query_of
from tests.tokens import ANON_KEY

GOOGLE = {"provider": "google", "options": {"redirect_to": APP}}


async def test_the_official_client_signs_in_with_google_against_skybound_serve(
    database_url: str, tmp_path: Path, db: asyncpg.Connection
) -> None:
    async with running_provider() as provider:
        env = {
            "SKYBOUND_AUTH_GOOGLE_CLIENT_ID": CLIENT_ID,
            "SKYBOUND_AUTH_GOOGLE_SECRET": CLIENT_SECRET,
            "SKYBOUND_AUTH_GOOGLE_ISSUER": provider.issuer,
            "SKYBOUND_AUTH_REDIRECT_URLS": "http://app.example.com/**",
        }
        async with running_server(database_url, tmp_path / "home", workers=2,
                                  env=env) as server:  # fmt: skip
            gotrue = AsyncGoTrueClient(url=server.url("/auth/v1"), headers={"apikey": ANON_KEY},
                                       auto_refresh_token=False, flow_type="pkce")  # fmt: skip
            jar = aiohttp.CookieJar(unsafe=True)
            try:
                async with aiohttp.ClientSession(cookie_jar=jar) as browser:
                    for _ in range(3):  # sign-ins may start on one worker and end on another
                        started = await gotrue.sign_in_with_oauth(GOOGLE)
                        landed = await follow(browser, started.url)
                        assert landed.startswith(APP + "?code=")
                        code = query_of(landed)["code"]
                        session = (await gotrue.exchange_code_for_session(
                            {"auth_code": code})).session  # fmt: skip
                        assert session is not None
                        assert session.user.email == "ada@example.com"
                user = await gotrue.get_user()
                assert user is not None
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(
                        server.url("/v1/me"),
                        headers={"Authorization": f"Bearer {session.access_token}"},
                    ) as me,
                ):
                    assert me.status == 200
                    assert (await me.json())["email"] == "ada@example.com"
            finally:
                await gotrue.close()
    assert await db.fetchval("SELECT count(*) FROM auth_identities") == 1
    assert await db.fetchval("SELECT count(*) FROM auth_sessions WHERE method = 'oauth'") == 3
