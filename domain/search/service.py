"""Flight search: validate, find itineraries per slice (cached), price, combine, page.

Callable without HTTP: ``SearchService.search(request)`` returns the response body
(``SearchResults`` as JSON, the same bytes whether answered afresh or from the
response cache) or raises ``ValidationFailed`` (naming the field) or ``SearchTimedOut``.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from domain.flights import Carrier
from domain.reference import ReferenceCache, ReferenceData, TaxKind
from domain.search.cache import CachedSlice, CatchUp, ResponseCache, SearchCache, SliceKey
from domain.search.codeshares import CodeshareCodes
from domain.search.itineraries import ConnectionRules, Itinerary, SliceSearch
from domain.search.models import (
    FareConditions,
    Layover,
    Money,
    Offer,
    OfferSlice,
    PlaceRef,
    PriceLine,
    SearchRequest,
    SearchResults,
    Segment,
    SliceRequest,
    TaxLine,
)
from domain.search.pricing import (
    Price,
    PriceBook,
    brand_names,
    combine,
    combined_total,
    unit_prices,
)
from domain.search.tokens import Signer, TamperedToken
from domain.times import Instant, zone
from foundation.errors import FieldError, ServiceUnavailable, ValidationFailed

BOOKING_HORIZON_DAYS = 365
# Consecutive slices of one trip: the next leaves at least this long after the last lands.
MIN_SLICE_GAP = timedelta(hours=1)
# "Best" weighs an hour of travel like this much money, and each stop like this much more.
BEST_USD_PER_HOUR = 50
BEST_USD_PER_STOP = 40


class SearchTimedOut(ServiceUnavailable):
    slug = "search-timed-out"
    title = "Search took too long"


@dataclass(frozen=True, slots=True)
class SearchLimits:
    budget_seconds: float = 2.0
    max_offers: int = 500
    offer_ttl: timedelta = timedelta(minutes=20)
    # Options per slice carried into combination, best first per sort order.
    options_per_slice: int = 300


@dataclass(slots=True)
class _Candidate:
    score: float
    tiebreak: str
    itineraries: tuple[Itinerary, ...]
    # The slices' fare components: combined into the journey's price only for the offers
    # of the page asked for.
    components: tuple[Price, ...]


@dataclass(slots=True)
class _PageParts:
    """The parts the offers of a page share (places, carriers, tax lines): each is built
    once per page, not once per segment or passenger type."""

    places: dict[str, PlaceRef] = field(default_factory=dict)
    carriers: dict[str, Carrier] = field(default_factory=dict)
    tax_lines: dict[tuple[str, TaxKind, int], TaxLine] = field(default_factory=dict)


@dataclass
class SearchStats:
    searches: int = 0
    timeouts: int = 0
    partial: int = 0
    # Catch-up barriers run (a cache had something to serve), and those that timed out.
    catch_ups: int = 0
    catch_up_timeouts: int = 0
    durations: list[float] = field(default_factory=list)


class _CatchUp:
    """The catch-up barrier of one search, run at most once, and only when a cache holds
    something to serve it: what a search reads from the database needs no barrier."""

    __slots__ = ("_barrier", "_passed", "_stats")

    def __init__(self, barrier: CatchUp | None, stats: SearchStats) -> None:
        self._barrier = barrier
        self._stats = stats
        # None until run; False when the change stream was too far behind to wait for.
        self._passed: bool | None = None if barrier is not None else True

    async def __call__(self) -> bool:
        if self._passed is None:
            assert self._barrier is not None
            self._stats.catch_ups += 1
            self._passed = await self._barrier()
            if not self._passed:
                self._stats.catch_up_timeouts += 1
        return self._passed

    @property
    def refused(self) -> bool:
        """The barrier ran and timed out: this search reads no cache."""
        return self._passed is False

    @property
    def pending(self) -> CatchUp | None:
        """What a cache must await before serving: this barrier until it has passed."""
        return self if self._passed is None else None


class SearchService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        reference: ReferenceCache,
        cache: SearchCache,
        signing_key: bytes,
        *,
        rules: ConnectionRules | None = None,
        limits: SearchLimits | None = None,
        position: Callable[[], int] = lambda: 0,
        caught_up: CatchUp | None = None,
        response_cache_entries: int = 5_000,
    ) -> None:
        self.pool = pool
        self.reference = reference
        self.cache = cache
        self.rules = rules or ConnectionRules()
        self.limits = limits or SearchLimits()
        self.responses = ResponseCache(max_entries=0 if response_cache_entries == 0 else 5_000)
        self.offers = Signer(signing_key, "offer")
        self.cursors = Signer(signing_key, "cursor")
        self._position = position
        self._caught_up = caught_up
        self.stats = SearchStats()
        self.codeshares = CodeshareCodes(pool)

    # Validation --------------------------------------------------------------------

    def _validate(self, request: SearchRequest, ref: ReferenceData, now: datetime) -> None:
        errors: list[FieldError] = []
        for n, piece in enumerate(request.slices):
            for end in ("origin", "destination"):
                code = getattr(piece, end)
                if code not in ref.airports:
                    errors.append(
                        FieldError(
                            f"slices.{n}.{end}", f"Unknown airport {code}.", "unknown_airport"
                        )
                    )
            if piece.origin in ref.airports:
                today = now.astimezone(zone(ref.airports[piece.origin].time_zone)).date()
                if piece.date < today:
                    errors.append(FieldError(f"slices.{n}.date", "Date is in the past.", "past"))
                elif piece.date > today + timedelta(days=BOOKING_HORIZON_DAYS):
                    errors.append(
                        FieldError(
                            f"slices.{n}.date",
                            f"Schedules are open {BOOKING_HORIZON_DAYS} days ahead.",
                            "too_far_ahead",
                        )
                    )
            if n and piece.date < request.slices[n - 1].date:
                errors.append(
                    FieldError(
                        f"slices.{n}.date", "Slices must be in chronological order.", "order"
                    )
                )
        if request.currency not in ref.rates:
            errors.append(FieldError("currency", "Unsupported currency.", "unsupported"))
        if errors:
            raise ValidationFailed(errors)

    def _search_hash(self, request: SearchRequest) -> str:
        shape = request.model_dump(mode="json", exclude={"cursor", "limit"})
        return hashlib.sha256(orjson.dumps(shape, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]

    def _cursor_after(self, request: SearchRequest, search_hash: str) -> tuple[float, str] | None:
        if request.cursor is None:
            return None
        try:
            payload = self.cursors.verify(request.cursor)
            if payload["s"] != search_hash:
                raise TamperedToken("cursor of another search")
            return float(payload["k"][0]), str(payload["k"][1])
        except (TamperedToken, KeyError, IndexError, TypeError, ValueError):
            raise ValidationFailed(
                [FieldError("cursor", "Not a cursor of this search.", "invalid_cursor")]
            ) from None

    # Itineraries -------------------------------------------------------------------

    @staticmethod
    def _slice_key(request: SearchRequest, piece: SliceRequest) -> SliceKey:
        return (
            piece.origin,
            piece.destination,
            piece.date.isoformat(),
            request.cabin,
            request.passengers.seats,
            request.max_connections,
        )

    async def _slices(
        self, ref: ReferenceData, request: SearchRequest, catch_up: _CatchUp, deadline: float
    ) -> list[tuple[list[Itinerary], bool]]:
        """Each slice's itineraries and whether they are complete: cached, else from the
        database. The cache is read first: the barrier it may run takes a connection of its
        own, which must not queue behind the ones searches hold for their queries."""
        cached: list[CachedSlice | None] = []
        for piece in request.slices:
            key = self._slice_key(request, piece)
            cached.append(None if catch_up.refused else await self.cache.get(key, catch_up.pending))
        fresh: dict[int, tuple[list[Itinerary], bool]] = {}
        if any(entry is None for entry in cached):
            async with self.pool.acquire() as conn:
                for n, piece in enumerate(request.slices):
                    if cached[n] is None:
                        fresh[n] = await self._find(conn, ref, request, piece, deadline)
        return [
            fresh[n] if entry is None else (list(entry.itineraries), entry.complete)
            for n, entry in enumerate(cached)
        ]

    async def _find(
        self,
        conn: asyncpg.Connection,
        ref: ReferenceData,
        request: SearchRequest,
        piece: SliceRequest,
        deadline: float,
    ) -> tuple[list[Itinerary], bool]:
        """A slice's itineraries from the database, stored in the slice cache if complete."""
        since = self._position()
        finder = SliceSearch(
            conn, ref, self.rules, cabin=request.cabin, seats=request.passengers.seats
        )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        async with asyncio.timeout(remaining):
            found, first, last = await finder.direct_and_one_stop(
                piece.origin, piece.destination, piece.date, request.max_connections
            )
        complete = True
        if request.max_connections >= 2 and last is not None:
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    found += await finder.two_stop(
                        piece.origin, piece.destination, piece.date, first, last
                    )
            except TimeoutError:
                complete = False  # keep what was found: direct and one-stop
        if complete:
            await self.cache.put(self._slice_key(request, piece), found, complete, since)
        return found, complete

    # Ranking ---------------------------------------------------------------------------

    def _per_slice_filter(
        self, request: SearchRequest, ref: ReferenceData, piece: SliceRequest, it: Itinerary
    ) -> bool:
        filters = request.filters
        if filters.max_stops is not None and it.stops > filters.max_stops:
            return False
        carriers = {leg.carrier for leg in it.legs}
        if filters.airlines and not carriers <= set(filters.airlines):
            return False
        if filters.exclude_airlines and carriers & set(filters.exclude_airlines):
            return False
        if filters.max_duration_minutes is not None and it.minutes > filters.max_duration_minutes:
            return False
        if filters.max_layover_minutes is not None and any(
            minutes > filters.max_layover_minutes for minutes in it.layovers()
        ):
            return False
        for window, moment, airport in (
            (piece.departure_window, it.departure, it.legs[0].origin),
            (piece.arrival_window, it.arrival, it.legs[-1].destination),
        ):
            if window is not None:
                local = moment.astimezone(zone(ref.airports[airport].time_zone)).time()
                if not window.from_ <= local.replace(second=0, microsecond=0) <= window.to:
                    return False
        return True

    def _score(
        self, request: SearchRequest, ref: ReferenceData, n: int, it: Itinerary, amount: int
    ) -> float:
        sort = request.sort
        if sort == "price":
            return float(amount)
        if sort == "duration":
            return float(it.minutes)
        if sort == "departure":
            return it.departure.timestamp() * 1e9 + amount if n == 0 else float(amount)
        if sort == "arrival":
            last = n == len(request.slices) - 1
            return it.arrival.timestamp() * 1e9 + amount if last else float(amount)
        per_hour = ref.convert(BEST_USD_PER_HOUR * 100, "USD", request.currency)
        per_stop = ref.convert(BEST_USD_PER_STOP * 100, "USD", request.currency)
        return amount + it.minutes / 60 * per_hour + it.stops * per_stop

    def _combine(
        self,
        request: SearchRequest,
        ref: ReferenceData,
        per_slice: Sequence[list[Itinerary]],
    ) -> list[_Candidate]:
        """The best combinations per brand, by the requested order (k-best of sums)."""
        limit = self.limits.max_offers
        filters = request.filters
        book = PriceBook(ref, request.cabin, request.passengers, request.currency)
        brands = [
            {it: set(brand_names(ref, it.legs, request.cabin)) for it in options}
            for options in per_slice
        ]
        names: list[str] | None = None
        for available in brands:
            here = set().union(*available.values()) if available else set()
            names = sorted(here) if names is None else [n for n in names if n in here]
        out: list[_Candidate] = []
        for name in names or []:
            lists: list[list[tuple[float, Itinerary, Price]]] = []
            for n, options in enumerate(per_slice):
                priced = []
                for it in options:
                    if name in brands[n][it]:
                        p = book.itinerary(it, name)
                        priced.append((self._score(request, ref, n, it, p.total), it, p))
                priced.sort(key=lambda entry: (entry[0], entry[1].key))
                lists.append(priced[: self.limits.options_per_slice])
            if any(not options for options in lists):
                continue
            start = (0,) * len(lists)
            heap = [(sum(lst[0][0] for lst in lists), start)]
            seen = {start}
            pops = 0
            found = 0
            low, high = filters.min_price_minor, filters.max_price_minor
            while heap and found < limit and pops < limit * 40:
                score, index = heapq.heappop(heap)
                pops += 1
                chosen = [lists[i][j] for i, j in enumerate(index)]
                itineraries = tuple(entry[1] for entry in chosen)
                if all(
                    b.departure >= a.arrival + MIN_SLICE_GAP
                    for a, b in itertools.pairwise(itineraries)
                ):
                    components = tuple(entry[2] for entry in chosen)
                    total = combined_total(components)
                    if (low is None or total >= low) and (high is None or total <= high):
                        tiebreak = name + "/" + "|".join(it.key for it in itineraries)
                        out.append(_Candidate(score, tiebreak, itineraries, components))
                        found += 1
                for i in range(len(lists)):
                    if index[i] + 1 < len(lists[i]):
                        nxt = (*index[:i], index[i] + 1, *index[i + 1 :])
                        if nxt not in seen:
                            seen.add(nxt)
                            heapq.heappush(
                                heap, (sum(lists[k][j][0] for k, j in enumerate(nxt)), nxt)
                            )
        out.sort(key=lambda c: (c.score, c.tiebreak))
        return out[:limit]

    # Offers ------------------------------------------------------------------------------

    def _offer(
        self,
        request: SearchRequest,
        ref: ReferenceData,
        candidate: _Candidate,
        now: datetime,
        codes: Mapping[int, Mapping[str, int]],
        parts: _PageParts,
    ) -> Offer:
        currency = request.currency
        pax = request.passengers
        expires = now + self.limits.offer_ttl
        p = combine(candidate.components)

        def money(amount: int) -> Money:
            return Money(amount_minor=amount, currency=currency)

        def place(code: str) -> PlaceRef:
            found = parts.places.get(code)
            if found is None:
                a = ref.airports[code]
                found = parts.places[code] = PlaceRef(
                    iata=a.iata, name=a.name, city=a.city, country=a.country
                )
            return found

        def instant(moment: datetime, code: str) -> Instant:
            return Instant.of(moment, ref.airports[code].time_zone)

        def carrier(code: str) -> Carrier:
            found = parts.carriers.get(code)
            if found is None:
                found = parts.carriers[code] = Carrier(code=code, name=ref.carriers[code][0])
            return found

        # The itinerary's carrier sells partners' legs under its own code where it can.
        seller = candidate.itineraries[0].legs[0].carrier
        slices = []
        for it in candidate.itineraries:
            segments = [
                Segment(
                    flight_id=leg.id,
                    designator=(
                        f"{seller}{codes[leg.id][seller]}"
                        if seller in codes.get(leg.id, {})
                        else f"{leg.carrier}{leg.number}"
                    ),
                    carrier=carrier(leg.carrier),
                    marketing_carrier=carrier(seller) if seller in codes.get(leg.id, {}) else None,
                    origin=place(leg.origin),
                    destination=place(leg.destination),
                    departure=instant(leg.departure, leg.origin),
                    arrival=instant(leg.arrival, leg.destination),
                    duration_minutes=int((leg.arrival - leg.departure).total_seconds() // 60),
                    aircraft=ref.aircraft.get(leg.aircraft or ""),
                    cabin=request.cabin,
                    fare_brand=p.brand,
                )
                for leg in it.legs
            ]
            layovers = [
                Layover(airport=a.destination, departs_from=b.origin, minutes=minutes)
                for (a, b), minutes in zip(itertools.pairwise(it.legs), it.layovers(), strict=True)
            ]
            slices.append(
                OfferSlice(
                    origin=it.legs[0].origin,
                    destination=it.legs[-1].destination,
                    departure=instant(it.departure, it.legs[0].origin),
                    arrival=instant(it.arrival, it.legs[-1].destination),
                    duration_minutes=it.minutes,
                    stops=it.stops,
                    segments=segments,
                    layovers=layovers,
                )
            )
        names = ref.taxes.names

        def tax_line(code: str, kind: TaxKind, amount: int) -> TaxLine:
            found = parts.tax_lines.get((code, kind, amount))
            if found is None:
                found = parts.tax_lines[(code, kind, amount)] = TaxLine(
                    code=code, name=names.get(code, code), kind=kind, amount=money(amount)
                )
            return found

        lines = [
            PriceLine(
                passenger_type=line.passenger_type, count=line.count, base=money(line.base),
                taxes=[tax_line(*tax) for tax in line.taxes],
                unit=money(line.unit), total=money(line.unit * line.count),
            )
            for line in unit_prices(p, pax)
        ]  # fmt: skip
        offer_id = self.offers.sign(
            {
                "l": [[leg.id for leg in it.legs] for it in candidate.itineraries],
                "c": request.cabin,
                "b": p.brand,
                "p": [pax.adults, pax.children, pax.infants],
                "t": p.total,
                "$": currency,
                "x": int(expires.timestamp()),
            }
        )
        return Offer(
            id=offer_id,
            total=money(p.total),
            price_breakdown=lines,
            slices=slices,
            seats_left=min(it.seats for it in candidate.itineraries),
            fare=FareConditions(
                brand=p.brand,
                refundable=p.refundable,
                changeable=p.changeable,
                change_fee=money(p.change_fee),
                cancellation_fee=money(p.cancellation_fee),
                checked_bags=p.checked_bags,
            ),
            expires_at=expires,
        )

    # Entry point ---------------------------------------------------------------------------

    async def search(self, request: SearchRequest, *, now: datetime | None = None) -> bytes:
        started = time.monotonic()
        now = now or datetime.now(UTC)
        ref = await self.reference.get()
        self._validate(request, ref, now)
        search_hash = self._search_hash(request)
        after = self._cursor_after(request, search_hash)
        # A cache serves only once every change committed before this request has been
        # applied to it: a search right after a price change or a seat sale is never stale.
        # The barrier runs when a cache first has something to serve, not before.
        catch_up = _CatchUp(self._caught_up, self.stats)
        response_key = request.model_dump_json()
        cached = await self.responses.get(response_key, catch_up.pending)
        if cached is not None:
            return cached
        since = self._position()
        deadline = started + self.limits.budget_seconds
        self.stats.searches += 1
        try:
            found = await self._slices(ref, request, catch_up, deadline)
        except TimeoutError:
            self.stats.timeouts += 1
            raise SearchTimedOut(
                "The search did not finish within its time budget; try again, or narrow it "
                "(fewer connections or slices).",
                retry_after=2,
            ) from None
        per_slice: list[list[Itinerary]] = []
        complete = True
        for piece, (itineraries, done) in zip(request.slices, found, strict=True):
            complete &= done
            per_slice.append(
                [it for it in itineraries if self._per_slice_filter(request, ref, piece, it)]
            )
        if not complete:
            self.stats.partial += 1
        candidates = self._combine(request, ref, per_slice)
        total = len(candidates)
        if after is not None:
            candidates = [c for c in candidates if (c.score, c.tiebreak) > after]
        page = candidates[: request.limit]
        next_cursor = None
        if len(candidates) > request.limit:
            last = page[-1]
            next_cursor = self.cursors.sign({"s": search_hash, "k": [last.score, last.tiebreak]})
        # Only a partner's leg can carry the seller's code: an offer flown by its seller
        # alone (most of them) needs no lookup at all.
        codes = await self.codeshares.of(
            ref,
            {
                leg.id
                for c in page
                for it in c.itineraries
                for leg in it.legs
                if leg.carrier != c.itineraries[0].legs[0].carrier
            },
        )
        parts = _PageParts()
        offers = [self._offer(request, ref, c, now, codes, parts) for c in page]
        self.stats.durations.append(time.monotonic() - started)
        del self.stats.durations[:-1000]
        results = SearchResults.model_construct(
            offers=offers,
            next_cursor=next_cursor,
            total_offers=total,
            complete=complete,
            currency=request.currency,
        )
        body = self._body(results)
        if complete:
            flights = {leg.id for options in per_slice for it in options for leg in it.legs}
            self.responses.put(response_key, body, flights, since)
        return body

    @staticmethod
    def _body(results: SearchResults) -> bytes:
        """The response body, serialised once: answered now or from the response cache."""
        return SearchResults.__pydantic_serializer__.to_json(results)
