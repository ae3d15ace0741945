"""Codeshares among the seed's airlines: partners sell some of each other's legs.

Partners are pairs of carriers whose networks meet (a transatlantic pair, a European and
a Gulf carrier...). A partner markets about a third of the other's legs, chosen by a
stable hash of the leg, under its own code and a number in the 5000-9999 range derived
from the operator's flight number, as codeshare numbers usually are.
"""

from __future__ import annotations

import asyncpg

PARTNERS: tuple[tuple[str, str], ...] = (
    ("SB", "KA"), ("SB", "MN"), ("SB", "CB"), ("KA", "AE"), ("AE", "AH"), ("FG", "SO"),
    ("FG", "SF"), ("SO", "SC"), ("SO", "JC"), ("SH", "AH"), ("IP", "CB"), ("BB", "FG"),
    ("RC", "SB"), ("ZP", "KA"),
)  # fmt: skip

# Both directions of each pair; one in three legs; numbers 5000 + the operator's (mod 5000).
_LOAD = """
INSERT INTO codeshares (flight_id, marketing_carrier, marketing_number)
SELECT f.id, p.marketer, 5000 + f.flight_number % 5000
FROM flights f
JOIN unnest($1::text[], $2::text[]) AS p(operator, marketer) ON p.operator = f.carrier
WHERE abs(hashtext(f.id::text || p.marketer)) % 3 = 0
ON CONFLICT DO NOTHING
"""


async def load_codeshares(conn: asyncpg.Connection) -> int:
    pairs = [*PARTNERS, *((b, a) for a, b in PARTNERS)]
    status = await conn.execute(_LOAD, [a for a, _ in pairs], [b for _, b in pairs])
    return int(status.split()[-1])
