"""Fixtures of the end-to-end fault suite: data whose updates reach every kind of stream."""

from __future__ import annotations

import asyncpg
import pytest

from tests.e2e.harness import World, build_world


@pytest.fixture
async def world(db: asyncpg.Connection) -> World:
    """Four legs out of JFK and a traveller booked on the first two."""
    return await build_world(db)
