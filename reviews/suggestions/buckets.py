"""Numeric attributes in buckets a person can read ("200-499", "1M-4.9M").
Pure Python, no database.

How the edges are chosen, deterministically:
1. the values of the accounts that closed a deal in the window are cut into
   QUANTILES groups of (nearly) equal size, in the database (NTILE); each
   group's lowest value is a cut;
2. each cut is rounded down to the 1-2-5 series (..., 0.5, 1, 2, 5, 10, 20,
   50, 100, 200, 500, 1,000, ...; a negative cut to minus the series number
   at or above its size), so it reads as a round number and never moves up;
3. equal edges become one, and an edge at or below the lowest value is
   dropped (its first bucket would be empty).
A bucket holds low <= value < high (the first has no low, the last no high),
which is exactly what the engine's "is at least low" and not "is at least
high" select, so a bucket can become a criterion as it stands.

Labels: with whole-number edges a bucket reads "200-499" (its high less one),
the first "under 200" and the last "5,000+"; from 10,000 up numbers are
short, truncated to one decimal ("10K-19.9K", "1M-4.9M"). With an edge that
is not a whole number: "under 0.5", "0.5 to under 1", "1+".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from itertools import pairwise

QUANTILES = 5

SERIES = (Decimal(1), Decimal(2), Decimal(5))

_SHORT = (
    (Decimal(10) ** 12, "T"),
    (Decimal(10) ** 9, "B"),
    (Decimal(10) ** 6, "M"),
    (Decimal(1000), "K"),
)
# Below this a number is written in full ("9,999"), from it short ("10K").
SHORT_FROM = Decimal(10_000)
_TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Bucket:
    """low <= value < high; None: no bound on that side."""

    index: int
    low: Decimal | None
    high: Decimal | None
    label: str

    def holds(self, value: Decimal | int | float) -> bool:
        number = Decimal(str(value))
        above = self.low is None or number >= self.low
        below = self.high is None or number < self.high
        return above and below


def _nice_below(size: Decimal) -> Decimal:
    """The largest 1-2-5 series number at or below `size` (> 0)."""
    scale = Decimal(10) ** size.adjusted()
    return max(step * scale for step in SERIES if step * scale <= size)


def _nice_above(size: Decimal) -> Decimal:
    """The smallest 1-2-5 series number at or above `size` (> 0)."""
    scale = Decimal(10) ** size.adjusted()
    return min(step * scale for step in (*SERIES, Decimal(10)) if step * scale >= size)


def nice_floor(value: Decimal) -> Decimal:
    """`value` rounded down to the 1-2-5 series (0 stays 0)."""
    if value > 0:
        return _nice_below(value)
    if value < 0:
        return -_nice_above(-value)
    return Decimal(0)


def bucket_edges(cuts: Iterable[Decimal], lowest: Decimal) -> list[Decimal]:
    """The readable edges for quantile `cuts` of values whose least is `lowest`."""
    edges = {nice_floor(Decimal(cut)) for cut in cuts}
    return sorted(edge for edge in edges if edge > lowest)


def _whole(number: Decimal) -> bool:
    return number == number.to_integral_value()


def short(number: Decimal) -> str:
    """A number as a label shows it: in full with thousands separators
    below SHORT_FROM, else short and truncated to one decimal ("4.9M")."""
    size = abs(number)
    if size < SHORT_FROM:
        return f"{number.normalize():,f}" if not _whole(number) else f"{int(number):,}"
    for scale, suffix in _SHORT:
        if size >= scale:
            shown = (size / scale).quantize(_TENTH, rounding=ROUND_FLOOR)
            text = f"{shown:f}".removesuffix(".0")
            return f"{'-' if number < 0 else ''}{text}{suffix}"
    raise AssertionError("unreachable: SHORT_FROM is at least the smallest scale")


def _span(low: str, high: str, negative: bool) -> str:
    return f"{low} to {high}" if negative else f"{low}-{high}"


def buckets(edges: list[Decimal]) -> list[Bucket]:
    """The buckets between `edges` (sorted, distinct), labelled."""
    if not edges:
        return [Bucket(0, None, None, "any value")]
    whole = all(_whole(edge) for edge in edges)
    bounds: list[Decimal | None] = [None, *edges, None]
    result = []
    for i, (low, high) in enumerate(pairwise(bounds)):
        if low is None:
            assert high is not None
            label = f"under {short(high)}"
        elif high is None:
            label = f"{short(low)}+"
        elif whole:
            label = _span(short(low), short(high - 1), low < 0 or high - 1 < 0)
        else:
            label = f"{short(low)} to under {short(high)}"
        result.append(Bucket(i, low, high, label))
    return result
