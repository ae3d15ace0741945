"""The seeded schedule's live departure boards: the busiest ones are what the realtime
benchmarks watch and change."""

from __future__ import annotations

import asyncpg

# The airports with the most departures on their live boards (an hour ago to 11 hours on),
# busiest first, and those departures in board order.
_BUSIEST = """
SELECT origin, array_agg(id ORDER BY scheduled_departure, id) AS ids
FROM flights
WHERE scheduled_departure >= now() - interval '1 hour'
  AND scheduled_departure < now() + interval '11 hours'
GROUP BY origin
ORDER BY count(*) DESC, origin
LIMIT $1
"""


async def busiest_boards(conn: asyncpg.Connection, count: int) -> list[tuple[str, list[int]]]:
    """Up to ``count`` airports with the most live departures, and those departures' ids."""
    rows = await conn.fetch(_BUSIEST, count)
    if not rows:
        raise RuntimeError("no flight departs in the next hours: seed with --start today")
    return [(row["origin"].strip(), list(row["ids"])) for row in rows]
