"""Outcome figures by tier, computed in the database.

Every figure here is an aggregate over a "tiering": SQL that yields
(account_id, tier) for each account, either the stored scores of a run or a
version scored on the fly by scoring.expressions. Accounts are never loaded
into Python; each table is one GROUP BY.

Definitions used everywhere (pages, agenda, drift, API):
- closed deals: scoring.models.Deal rows won or lost, closed inside the
  window, of every type (new business, expansion, renewal). Each deal counts
  once, in the tier its account has in the tiering: an account with two won
  renewals adds two won deals;
- win rate (deal-level): deals won / closed deals; average deal size
  (deal-level): mean amount of the won deals whose amount is known in the
  reporting currency (a missing amount is not a deal of 0, and an amount in
  another currency is not added to ours);
- accounts (account-level): accounts in the tier;
- customers (account-level): accounts that ever won a deal or churned, not
  churned before the window; churn rate: customers who churned inside the
  window / customers. Churn is the account's (`Account.churned_at`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count

from profiles.models import ProfileVersion
from reviews import sql
from scoring.expressions import known, scores_select
from scoring.models import Account, AccountScore, ScoringRun
from scoring.rulesets import ruleset_for
from scoring.sql import Sql, fetchall

TIERS = ["A", "B", "C", "DQ"]
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)

Tiering = Sql


def run_tiering(run: ScoringRun) -> Tiering:
    return sql.run_tiering(run.pk)


def version_tiering(version: ProfileVersion) -> Tiering:
    return sql.select_tiering(scores_select(Account.objects.all(), ruleset_for(version)))


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01")) if value is not None else Decimal("0")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class TierFigures:
    """One tier's outcomes. Deal-level: won, lost (closed deals), won_amount,
    won_priced; account-level: accounts, customers, churned."""

    tier: str
    accounts: int = 0
    won: int = 0
    lost: int = 0
    won_amount: Decimal = Decimal("0")
    customers: int = 0
    churned: int = 0
    won_priced: int = 0

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def win_rate(self) -> float | None:
        return _rate(self.won, self.closed)

    @property
    def avg_deal(self) -> Decimal | None:
        if not self.won_priced:
            return None
        return (self.won_amount / self.won_priced).quantize(Decimal("0.01"))

    @property
    def churn_rate(self) -> float | None:
        return _rate(self.churned, self.customers)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["won_amount"] = str(self.won_amount)
        data["win_rate"] = self.win_rate
        data["avg_deal"] = str(self.avg_deal) if self.avg_deal is not None else None
        data["churn_rate"] = self.churn_rate
        return data


@dataclass
class Figures:
    """Outcome figures of one tiering, per tier and in total."""

    tiers: dict[str, TierFigures] = field(default_factory=dict)

    def get(self, tier: str) -> TierFigures:
        return self.tiers.get(tier) or TierFigures(tier)

    @property
    def rows(self) -> list[TierFigures]:
        return [self.get(tier) for tier in TIERS]

    @property
    def total(self) -> TierFigures:
        total = TierFigures("all")
        for row in self.tiers.values():
            total.accounts += row.accounts
            total.won += row.won
            total.lost += row.lost
            total.won_amount += row.won_amount
            total.customers += row.customers
            total.churned += row.churned
            total.won_priced += row.won_priced
        return total

    @property
    def lift_a(self) -> float | None:
        """Tier A's win rate over the base rate of all closed deals."""
        base, a = self.total.win_rate, self.get("A").win_rate
        if not base or a is None:
            return None
        return round(a / base, 2)

    def as_json(self) -> dict[str, Any]:
        return {
            "tiers": {row.tier: row.as_json() for row in self.rows},
            "total": self.total.as_json(),
            "lift_a": self.lift_a,
        }


def moment(at: datetime) -> Any:
    """`at` as a parameter of hand-written SQL compares with stored times.

    The raw parameter skips the field's adaptation: on SQLite an aware
    datetime is sent as '... 09:00:00+00:00' and compared as text with the
    stored '... 09:00:00', which left out a deal closed at the very instant
    `at` names (PostgreSQL and the ORM's filters include it)."""
    return connection.ops.adapt_datetimefield_value(at)


def tier_figures(
    tiering: Tiering,
    *,
    since: datetime | None = None,
    accounts_sql: Sql | None = None,
    until: datetime | None = None,
) -> Figures:
    """Outcomes by tier for deals closed and churn since `since` (all time
    when None) and before `until` (up to now when None), optionally only
    for the accounts `accounts_sql` selects."""
    rows = fetchall(
        sql.tier_outcomes(
            tiering,
            moment(since or BEGINNING),
            accounts_sql,
            None if until is None else moment(until),
        )
    )
    figures = Figures()
    for tier, accounts, won_n, lost, amount, customers, churned, priced in rows:
        figures.tiers[tier] = TierFigures(
            tier=tier,
            accounts=int(accounts),
            won=int(won_n or 0),
            lost=int(lost or 0),
            won_amount=_decimal(amount),
            customers=int(customers or 0),
            churned=int(churned or 0),
            won_priced=int(priced or 0),
        )
    return figures


def coverage(version: ProfileVersion) -> list[dict[str, Any]]:
    """For each criterion, the share of accounts that have the data it needs."""
    ruleset = ruleset_for(version)
    if not ruleset.rules:
        return []
    counts = Account.objects.aggregate(
        total=Count("id"),
        **{f"rule_{i}": Count("id", filter=known(rule)) for i, rule in enumerate(ruleset.rules)},
    )
    total = counts["total"]
    return [
        {
            "criterion": rule.label,
            "known": counts[f"rule_{i}"],
            "share": round(100 * counts[f"rule_{i}"] / total) if total else 0,
        }
        for i, rule in enumerate(ruleset.rules)
    ]


def current_tier_counts(run: ScoringRun) -> dict[str, int]:
    return dict(
        AccountScore.objects.filter(run_id=run.pk)
        .values_list("tier")
        .annotate(n=Count("*"))
        .values_list("tier", "n")
    )
