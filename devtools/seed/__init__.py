"""Seed data: real airports, fictional airlines, and a deterministic generated schedule."""

from __future__ import annotations

from devtools.seed.loader import (
    AlreadySeeded,
    SeedError,
    SeedReport,
    load_reference_data,
    seed_database,
)
from devtools.seed.schedule import Schedule

__all__ = [
    "AlreadySeeded",
    "Schedule",
    "SeedError",
    "SeedReport",
    "load_reference_data",
    "seed_database",
]
