"""Supabase-style access tokens for tests, signed with the test secret."""

from __future__ import annotations

import time
import uuid

import jwt

TEST_JWT_SECRET = "test-secret-for-skybound-tests-only-0123456789"


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
