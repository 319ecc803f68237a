"""Bar charts drawn as SVG by the server: geometry here, markup in
templates/reviews/partials/_chart.html. No JavaScript, no CDN."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from icpsite.numbers import count, money, percent
from reviews.evidence import Validation
from reviews.figures import TIERS, Figures, TierFigures

# Wide enough that two bars' value labels ("47,462") never run into each other.
WIDTH, HEIGHT = 480, 200
TOP, BOTTOM, LEFT = 16, 28, 8
BAR_WIDTH, GAP = 40, 8


@dataclass(frozen=True)
class Bar:
    series: str
    x: int
    y: float
    height: float
    value: str

    @property
    def x_label(self) -> int:
        return self.x + BAR_WIDTH // 2


@dataclass(frozen=True)
class Group:
    tier: str
    x_label: int
    bars: list[Bar]


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    groups: list[Group]
    width: int = WIDTH
    height: int = HEIGHT
    bar_width: int = BAR_WIDTH

    @property
    def baseline(self) -> int:
        return self.height - BOTTOM


def _whole_money(value: Decimal | None) -> str:
    """An average amount in whole units: cents would crowd the bar labels."""
    return money(None if value is None else round(value))


def bar_chart(
    key: str,
    title: str,
    series: list[tuple[str, Figures]],
    measure: Callable[[TierFigures], float | Decimal | int | None],
    label: Callable[[Any], str],
) -> Chart:
    values = {(name, tier): measure(fig.get(tier)) for name, fig in series for tier in TIERS}
    top = max((float(v) for v in values.values() if v is not None), default=0.0) or 1.0
    plot = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) // len(TIERS)
    groups = []
    for i, tier in enumerate(TIERS):
        width = len(series) * BAR_WIDTH + (len(series) - 1) * GAP
        start = LEFT + i * slot + (slot - width) // 2
        bars = []
        for j, (name, _) in enumerate(series):
            value = values[(name, tier)]
            height = plot * float(value) / top if value is not None else 0.0
            bars.append(
                Bar(
                    series=name,
                    x=start + j * (BAR_WIDTH + GAP),
                    y=round(HEIGHT - BOTTOM - height, 1),
                    height=round(height, 1),
                    value=label(value),
                )
            )
        groups.append(Group(tier, LEFT + i * slot + slot // 2, bars))
    return Chart(key, title, groups)


def validation_charts(validation: Validation) -> list[Chart]:
    series: list[tuple[str, Figures]] = []
    if validation.live_figures is not None and validation.live is not None:
        series.append((f"live v{validation.live.number}", validation.live_figures))
    if validation.draft_figures is not None and validation.draft is not None:
        series.append((f"v{validation.draft.number}", validation.draft_figures))
    if not series:
        return []
    return [
        bar_chart("tiers", "Accounts by tier", series, lambda r: r.accounts, count),
        bar_chart(
            "win-rate",
            "Win rate: closed deals won, by the account's tier",
            series,
            lambda r: r.win_rate,
            percent,
        ),
        bar_chart(
            "deal-size",
            "Average won deal, by the account's tier",
            series,
            lambda r: r.avg_deal,
            _whole_money,
        ),
        bar_chart(
            "churn", "Churn: customers churned, by tier", series, lambda r: r.churn_rate, percent
        ),
    ]
