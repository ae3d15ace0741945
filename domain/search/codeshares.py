"""Partners' codes of the legs a search shows, kept in memory like reference data.

A page of offers names a hundred or so legs, and the next search names most of them again:
asking the database every time was a round trip on every search, the only one left when
the itineraries came from the slice cache. Codes are schedule data (loaded with the
schedule, never changed by a booking or an operations event), so they are kept as long as
the reference data they were read with: a new load of it starts them afresh.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import asyncpg

from domain.reference import ReferenceData

_CODES = """
SELECT flight_id, rtrim(marketing_carrier) AS carrier, marketing_number
FROM codeshares WHERE flight_id = ANY($1::bigint[])
"""

# Flights remembered at most (codes or none), a few MB: then it starts afresh.
MAX_FLIGHTS = 200_000


class CodeshareCodes:
    """flight id -> marketing carrier -> flight number, for the legs searches show."""

    def __init__(self, pool: asyncpg.Pool, *, max_flights: int = MAX_FLIGHTS) -> None:
        self.pool = pool
        self.max_flights = max_flights
        self._read_with: ReferenceData | None = None
        self._codes: dict[int, dict[str, int]] = {}
        self.lookups = 0

    async def of(
        self, ref: ReferenceData, flight_ids: Collection[int]
    ) -> Mapping[int, Mapping[str, int]]:
        """The codes of these flights; a flight without any maps to an empty mapping."""
        if not flight_ids:
            return {}
        if ref is not self._read_with or len(self._codes) > self.max_flights:
            self._read_with = ref
            self._codes = {}
        codes = self._codes
        missing = [flight for flight in flight_ids if flight not in codes]
        if missing:
            self.lookups += 1
            found: dict[int, dict[str, int]] = {flight: {} for flight in missing}
            for row in await self.pool.fetch(_CODES, missing):
                found[row["flight_id"]][row["carrier"]] = row["marketing_number"]
            codes.update(found)
        return {flight: codes[flight] for flight in flight_ids}
