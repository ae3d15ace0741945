"""Password hashing with argon2id, off the event loop.

Hashing costs about 0.1 s of CPU and 64 MiB by design, so it runs in a worker
thread. Sign-in against an unknown email still verifies against a dummy hash, so
the response time does not tell whether the account exists.
"""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.identity.accounts.errors import WeakPassword

# GoTrue's default minimum; the maximum only bounds the work one request can cause.
MIN_LENGTH = 6
MAX_LENGTH = 1024

# RFC 9106's second recommended option (argon2id, t=3, m=64 MiB, p=4), argon2-cffi's
# default. Looked up at call time, so tests can swap in argon2.profiles.CHEAPEST.
HASHER = PasswordHasher()


def check_strength(password: str) -> None:
    """Raise GoTrue's weak_password error for a password that is too short."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"Password should be at least {MIN_LENGTH} characters.", reasons=["length"]
        )


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("not the password of anyone")


def _verify(encoded: str | None, password: str) -> bool:
    try:
        return HASHER.verify(encoded or _dummy_hash(HASHER), password) and encoded is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(encoded: str | None, password: str) -> bool:
    """Whether ``password`` matches ``encoded``; None (no such user) never matches but
    takes as long as a real check."""
    return await asyncio.to_thread(_verify, encoded, password)


def needs_rehash(encoded: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    try:
        return HASHER.check_needs_rehash(encoded)
    except InvalidHashError:
        return True
