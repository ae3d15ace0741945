"""Built-in accounts: users, password sign-in, sessions with rotating refresh tokens,
password recovery and login throttling, shaped after Supabase Auth (GoTrue)."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg

# Functions that run one statement take either; those that need a transaction take
# a Connection.
Executor: TypeAlias = asyncpg.Connection | asyncpg.Pool
