"""The evidence a draft is judged by, and the outcome validation figures.

Evidence for a draft: the accounts with overrides accepted under the live
version and the accounts with deals closed since it went live. For them,
how the live version tiered them, how the draft tiers them, whether the
draft agrees with the accepted overrides, a backtest of both versions on the
closed deals (deal-level: each deal closed since counts once, in its
account's tier), and where the accounts that won a deal and the overridden
accounts fall against the draft's numeric thresholds (account-level: an
account counts once however many deals it won). All of it in the database:
the draft is scored by the SQL scoring.expressions compiles, never account
by account in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet

from profiles.attributes import AttrType, Operator
from profiles.models import ProfileVersion
from reviews import sql
from reviews.drift import live_version
from reviews.figures import (
    BEGINNING,
    Figures,
    moment,
    run_tiering,
    tier_figures,
    version_tiering,
)
from reviews.models import Override, OverrideStatus
from scoring.engine import Rule
from scoring.expressions import known, matched, scores_select
from scoring.models import Account, Deal, DealState, ScoringRun
from scoring.rulesets import ruleset_for
from scoring.sql import fetchall, fetchone, of, scratch

EVIDENCE_ROWS = 50


@dataclass(frozen=True)
class EvidenceRow:
    account_id: int
    name: str
    live_tier: str | None
    draft_tier: str
    claimed: str | None
    won: int
    lost: int
    won_amount: Decimal | None

    @property
    def agrees(self) -> bool | None:
        return None if self.claimed is None else self.claimed == self.draft_tier


SPREAD_GROUPS = {
    "won": "Accounts that won a deal",
    "overridden": "Accounts with an accepted override",
}


@dataclass(frozen=True)
class Spread:
    """Where a group of accounts falls against a numeric criterion's range
    (each account once)."""

    group: str
    below: int
    within: int
    above: int
    unknown: int
    below_range: tuple[Any, Any] | None
    above_range: tuple[Any, Any] | None

    @property
    def label(self) -> str:
        return SPREAD_GROUPS[self.group]


@dataclass(frozen=True)
class NumericCriterion:
    label: str
    low: Any
    high: Any
    spreads: list[Spread]


@dataclass
class Evidence:
    version: ProfileVersion
    live: ProfileVersion | None
    run: ScoringRun | None
    since: datetime | None = None
    accounts: int = 0
    overrides: int = 0
    agree_draft: int = 0
    agree_live: int = 0
    rows: list[EvidenceRow] = field(default_factory=list)
    backtest_live: Figures = field(default_factory=Figures)
    backtest_draft: Figures = field(default_factory=Figures)
    numeric: list[NumericCriterion] = field(default_factory=list)

    @property
    def agreement_rate(self) -> float | None:
        return round(self.agree_draft / self.overrides, 4) if self.overrides else None

    @property
    def live_agreement_rate(self) -> float | None:
        return round(self.agree_live / self.overrides, 4) if self.overrides else None

    @property
    def backtest(self) -> list[tuple[str, Any, Any]]:
        """(tier, live row, draft row) for the template."""
        return [
            (row.tier, row, self.backtest_draft.get(row.tier)) for row in self.backtest_live.rows
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version.number,
            "live_version": self.live.number if self.live else None,
            "since": self.since.isoformat() if self.since else None,
            "accounts": self.accounts,
            "accepted_overrides": self.overrides,
            "agreement_rate": self.agreement_rate,
            "live_agreement_rate": self.live_agreement_rate,
            "backtest": {
                "live": self.backtest_live.as_json(),
                "draft": self.backtest_draft.as_json(),
            },
            "numeric": [
                {
                    "criterion": n.label,
                    "low": n.low,
                    "high": n.high,
                    "spreads": [
                        {
                            "group": s.group,
                            "below": s.below,
                            "within": s.within,
                            "above": s.above,
                            "unknown": s.unknown,
                        }
                        for s in n.spreads
                    ],
                }
                for n in self.numeric
            ],
        }


def _accepted(live: ProfileVersion) -> Any:
    return Override.objects.filter(
        profile_id=live.profile_id, version=live, status=OverrideStatus.ACCEPTED
    )


def evidence_for(*, version: ProfileVersion) -> Evidence:
    live = live_version(version.profile)
    run = (
        ScoringRun.objects.filter(profile_id=version.profile_id, is_current=True)
        .select_related("version")
        .first()
    )
    evidence = Evidence(version=version, live=live, run=run)
    if live is None or run is None:
        return evidence
    since = live.approved_at or BEGINNING
    evidence.since = since
    closed = _closed_deals(since).values("account_id")
    accepted_ids = _accepted(live).values("account_id")
    members = Account.objects.filter(Q(id__in=accepted_ids) | Q(id__in=closed))
    ruleset = ruleset_for(version)
    draft = scores_select(members, ruleset)
    claims = sql.accepted_claims(live.profile_id, live.pk)
    closed_only = of(closed)
    # The draft scores its members once, into a scratch table the three
    # questions below read (3.1 s -> 2.5 s with 99,000 closed deals in a million).
    with scratch(sql.select_tiering(draft)) as drafts:
        agreement = fetchone(sql.evidence_agreement(drafts, run.pk, claims))
        total, with_claim, agree_draft, agree_live = agreement or (0, 0, 0, 0)
        evidence.accounts = int(total or 0)
        evidence.overrides = int(with_claim or 0)
        evidence.agree_draft = int(agree_draft or 0)
        evidence.agree_live = int(agree_live or 0)
        evidence.rows = [
            EvidenceRow(
                account_id=row[0],
                name=row[1],
                live_tier=row[2],
                draft_tier=row[3],
                claimed=row[4],
                won=int(row[5] or 0),
                lost=int(row[6] or 0),
                won_amount=_amount(row[7]),
            )
            for row in fetchall(
                sql.evidence_rows(drafts, run.pk, claims, moment(since), EVIDENCE_ROWS)
            )
        ]
        evidence.backtest_draft = tier_figures(
            sql.table_tiering(drafts), since=since, accounts_sql=closed_only
        )
    evidence.backtest_live = tier_figures(run_tiering(run), since=since, accounts_sql=closed_only)
    evidence.numeric = _numeric(ruleset.rules, accepted_ids, since)
    return evidence


def _closed_deals(since: datetime) -> QuerySet[Deal]:
    return Deal.objects.filter(
        status__in=[DealState.WON, DealState.LOST], closed_at__gte=since
    ).order_by()


def _amount(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class _Check:
    """A numeric criterion's range and the conditions for each side of it."""

    rule: Rule
    low: Any
    high: Any
    known: Q
    below: Q
    above: Q


def _check(rule: Rule) -> _Check | None:
    if rule.type != AttrType.NUMBER or rule.disqualifier:
        return None
    if rule.operator == Operator.BETWEEN:
        low, high = rule.value
    elif rule.operator == Operator.GTE:
        low, high = rule.value, None
    elif rule.operator == Operator.LTE:
        low, high = None, rule.value
    else:
        return None
    has = known(rule)
    nothing = Q(pk__in=[])
    at_least = Rule(rule.attribute, rule.type, Operator.GTE, low, is_trait=rule.is_trait)
    at_most = Rule(rule.attribute, rule.type, Operator.LTE, high, is_trait=rule.is_trait)
    return _Check(
        rule,
        low,
        high,
        has,
        below=has & ~matched(at_least) if low is not None else nothing,
        above=has & ~matched(at_most) if high is not None else nothing,
    )


def _spreads(group: str, accounts: QuerySet[Account], checks: list[_Check]) -> list[Spread]:
    """Where the accounts fall against each check, in one query."""
    aggregates: dict[str, Any] = {}
    for i, c in enumerate(checks):
        aggregates[f"{i}_below"] = Count("id", filter=c.below)
        aggregates[f"{i}_within"] = Count("id", filter=matched(c.rule))
        aggregates[f"{i}_above"] = Count("id", filter=c.above)
        aggregates[f"{i}_unknown"] = Count("id", filter=~c.known)
        if not c.rule.is_trait:
            for side, condition in (("below", c.below), ("above", c.above)):
                aggregates[f"{i}_{side}_min"] = Min(c.rule.attribute, filter=condition)
                aggregates[f"{i}_{side}_max"] = Max(c.rule.attribute, filter=condition)
    counts = accounts.aggregate(**aggregates)
    spreads = []
    for i in range(len(checks)):
        b_min, b_max = counts.get(f"{i}_below_min"), counts.get(f"{i}_below_max")
        a_min, a_max = counts.get(f"{i}_above_min"), counts.get(f"{i}_above_max")
        spreads.append(
            Spread(
                group=group,
                below=counts[f"{i}_below"],
                within=counts[f"{i}_within"],
                above=counts[f"{i}_above"],
                unknown=counts[f"{i}_unknown"],
                below_range=(b_min, b_max) if b_min is not None else None,
                above_range=(a_min, a_max) if a_min is not None else None,
            )
        )
    return spreads


def _numeric(rules: tuple[Rule, ...], accepted_ids: Any, since: datetime) -> list[NumericCriterion]:
    """Account-level: an account that won several deals since counts once.

    One query per group, each reading only its group's accounts (found by
    id), whatever the number of numeric criteria."""
    checks = [c for c in map(_check, rules) if c is not None]
    if not checks:
        return []
    won = _closed_deals(since).filter(status=DealState.WON).values("account_id")
    by_group = [
        _spreads(group, Account.objects.filter(id__in=ids).order_by(), checks)
        for group, ids in (("won", won), ("overridden", accepted_ids))
    ]
    return [
        NumericCriterion(c.rule.label, c.low, c.high, [spreads[i] for spreads in by_group])
        for i, c in enumerate(checks)
    ]


@dataclass
class Validation:
    """Outcome figures by tier over all recorded outcomes: the live version's
    stored scores beside a draft scored on the fly."""

    live: ProfileVersion | None
    draft: ProfileVersion | None
    live_figures: Figures | None
    draft_figures: Figures | None

    def as_json(self) -> dict[str, Any]:
        return {
            "live_version": self.live.number if self.live else None,
            "draft_version": self.draft.number if self.draft else None,
            "live": self.live_figures.as_json() if self.live_figures else None,
            "draft": self.draft_figures.as_json() if self.draft_figures else None,
        }


def validation_for(*, run: ScoringRun | None, draft: ProfileVersion | None) -> Validation:
    return Validation(
        live=run.version if run else None,
        draft=draft,
        live_figures=tier_figures(run_tiering(run)) if run else None,
        draft_figures=tier_figures(version_tiering(draft)) if draft else None,
    )
