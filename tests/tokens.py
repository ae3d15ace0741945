"""Supabase-style access tokens for tests, signed with the test secret."""

from __future__ import annotations

import time
import uuid

import jwt

TEST_JWT_SECRET = "test-secret-for-skybound-tests-only-0123456789"
# The `apikey` the built-in auth accepts when signing with the test secret.
ANON_KEY = jwt.encode({"iss": "skybound", "role": "anon"}, TEST_JWT_SECRET, algorithm="HS256")


def access_token(
    user_id: uuid.UUID, *, ttl: float = 3600, audience: str = "authenticated", **claims: object
) -> str:
    now = int(time.time())
    payload = {
        "sub": str(user_id),
        "aud": audience,
        "role": "authenticated",
        "iat": now,
        "exp": now + ttl,
        **claims,
    }
    return jwt.encode(payload, TEST_JWT_SECRET, algorithm="HS256")
