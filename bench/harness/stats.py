"""Statistics every report uses: nearest-rank percentiles, medians that skip what was not
measured, and ratios."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence


def nearest_rank(fraction: float, count: int) -> int:
    """The 1-based rank of the ``fraction`` percentile among ``count`` ordered values
    (a hair under the next integer still rounds down: 0.95 * 20 is 19, not 20)."""
    return max(1, min(count, int(fraction * count + 0.999999)))


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence; NaN when it is empty."""
    if not ordered:
        return float("nan")
    return ordered[nearest_rank(fraction, len(ordered)) - 1]


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values measured (None where none was)."""
    measured = [v for v in values if v is not None]
    return statistics.median(measured) if measured else None


def ratio(mine: float | None, theirs: float | None) -> float | None:
    """``mine / theirs``, or None when either is missing or the divisor is 0."""
    if mine is None or not theirs:
        return None
    return mine / theirs
