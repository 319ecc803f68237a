"""The pure parts of attribute lift: Wilson intervals, the minimum-evidence
rule, readable bucket edges and labels, the default window. No database."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from math import sqrt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviews.suggestions.buckets import Bucket, bucket_edges, buckets, nice_floor, short
from reviews.suggestions.stats import Interval, Standing, evidence_standing, wilson
from reviews.suggestions.window import Window

Z = 1.959963984540054  # the normal quantile of 97.5%: a two-sided 95% interval


def by_formula(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval: centre (p + z²/2n) / (1 + z²/n), half width
    z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²)."""
    p = k / n
    d = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / d
    half = Z / d * sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (5, 11, 0.2127, 0.7199),
        (4, 7, 0.2505, 0.8418),
        (0, 3, 0.0, 0.5615),
        (1, 1, 0.2065, 1.0),
        (27, 30, 0.7438, 0.9654),
        (74, 119, 0.5322, 0.7039),
    ],
)
def test_wilson_matches_the_bounds_computed_by_hand(
    k: int, n: int, low: float, high: float
) -> None:
    interval = wilson(k, n)
    assert interval is not None
    assert (round(interval.low, 4), round(interval.high, 4)) == (low, high)


@given(
    st.integers(min_value=1, max_value=5000).flatmap(
        lambda n: st.tuples(st.integers(0, n), st.just(n))
    )
)
def test_wilson_agrees_with_the_formula(case: tuple[int, int]) -> None:
    k, n = case
    interval = wilson(k, n)
    assert interval is not None
    low, high = by_formula(k, n)
    assert interval.low == pytest.approx(max(low, 0.0), abs=1e-9)
    assert interval.high == pytest.approx(min(high, 1.0), abs=1e-9)


def test_wilson_has_no_interval_without_trials_and_refuses_impossible_counts() -> None:
    assert wilson(0, 0) is None
    with pytest.raises(ValueError, match="5 successes in 3 trials"):
        wilson(5, 3)


BASE = Interval(0.5322, 0.7039)


@pytest.mark.parametrize(
    ("closed", "interval", "standing"),
    [
        (30, Interval(0.7438, 0.9654), Standing.CLEARS),  # above the base
        (30, Interval(0.0346, 0.2562), Standing.CLEARS),  # below it
        (29, Interval(0.883, 1.0), Standing.TOO_FEW_DEALS),  # one deal short
        (30, Interval(0.3315, 0.6685), Standing.OVERLAPS_BASE),  # holds the base rate
        # Leaves out the base rate (0.6218) but overlaps its interval: not enough.
        (30, Interval(0.2738, 0.6078), Standing.OVERLAPS_BASE),
        # Touching counts as overlapping.
        (30, Interval(0.7039, 0.9), Standing.OVERLAPS_BASE),
        (0, None, Standing.TOO_FEW_DEALS),
    ],
)
def test_the_minimum_evidence_rule(
    closed: int, interval: Interval | None, standing: Standing
) -> None:
    assert evidence_standing(closed=closed, interval=interval, base=BASE, min_deals=30) == standing


def test_without_a_base_nothing_clears() -> None:
    standing = evidence_standing(closed=40, interval=Interval(0.8, 0.9), base=None, min_deals=30)
    assert standing == Standing.OVERLAPS_BASE


@pytest.mark.parametrize(
    ("value", "nice"),
    [
        ("230", "200"),
        ("480", "200"),
        ("510", "500"),
        ("999", "500"),
        ("1000", "1000"),
        ("1", "1"),
        ("0.37", "0.2"),
        ("0", "0"),
        ("1200000", "1000000"),
        ("4900000", "2000000"),
        ("-30", "-50"),
        ("-50", "-50"),
    ],
)
def test_cuts_round_down_to_the_one_two_five_series(value: str, nice: str) -> None:
    assert nice_floor(Decimal(value)) == Decimal(nice)


def test_edges_are_distinct_and_above_the_least_value() -> None:
    cuts = [Decimal(v) for v in ("230", "480", "510", "2600")]
    assert bucket_edges(cuts, Decimal(12)) == [Decimal(200), Decimal(500), Decimal(2000)]
    assert bucket_edges(cuts, Decimal(200)) == [Decimal(500), Decimal(2000)]
    assert bucket_edges([], Decimal(7)) == []


def labels(edges: list[str]) -> list[str]:
    return [b.label for b in buckets([Decimal(e) for e in edges])]


def test_labels_read_as_people_write_ranges() -> None:
    assert labels(["200", "500", "1000", "10000"]) == [
        "under 200",
        "200-499",
        "500-999",
        "1,000-9,999",
        "10K+",
    ]
    assert labels(["1000000", "5000000", "20000000"]) == [
        "under 1M",
        "1M-4.9M",
        "5M-19.9M",
        "20M+",
    ]
    assert labels(["0.5", "1"]) == ["under 0.5", "0.5 to under 1", "1+"]
    assert labels(["-50", "0", "10"]) == ["under -50", "-50 to -1", "0-9", "10+"]
    assert labels([]) == ["any value"]


def test_short_numbers_truncate_to_one_decimal() -> None:
    assert [short(Decimal(v)) for v in ("9999", "10000", "19999", "999999", "2500000000")] == [
        "9,999",
        "10K",
        "19.9K",
        "999.9K",
        "2.5B",
    ]


def test_a_bucket_holds_its_low_and_not_its_high() -> None:
    bucket = Bucket(1, Decimal(200), Decimal(500), "200-499")
    assert [bucket.holds(v) for v in (199, 200, 499.5, 500)] == [False, True, True, False]


NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("approved_days_ago", "start_days_ago"),
    [(None, 365), (30, 365), (365, 365), (500, 500)],
)
def test_the_default_window_reaches_back_at_least_a_year(
    approved_days_ago: int | None, start_days_ago: int
) -> None:
    approved = None if approved_days_ago is None else NOW - timedelta(days=approved_days_ago)
    window = Window.default(approved_at=approved, now=NOW, min_days=365)
    assert window == Window(NOW - timedelta(days=start_days_ago), NOW)


def test_a_window_needs_time_zones() -> None:
    with pytest.raises(ValueError, match="time zone"):
        Window(datetime(2025, 1, 1), NOW)  # noqa: DTZ001
