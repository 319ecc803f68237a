"""Suggestions' parts on small bases: whole points, the scaling that keeps
a version at 100, adoption's refusals, and the pattern rows' backtests held
equal to the scoring engine run account by account."""

import random
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from profiles.selectors import attribute_registry
from reviews.suggestions.edits import (
    adoption_changes,
    criteria_of,
    edited,
    rebalance,
    ruleset_of,
    whole_points,
    with_values,
)
from reviews.suggestions.lift import lifted
from reviews.suggestions.model import Criterion
from reviews.suggestions.patterns import Probe, backtest, evaluator, moved, patterns_for
from reviews.suggestions.suggest import suggestions_for
from reviews.suggestions.window import Window
from scoring.engine import Thresholds, Tier, evaluate
from scoring.expressions import matched_mask
from scoring.models import Account, DealState
from tests.drafting import with_criteria
from tests.factories import AccountFactory, CriterionFactory, DealFactory, VersionFactory

NOW = timezone.now()


def test_whole_points_sum_to_the_total_by_largest_remainder() -> None:
    assert whole_points([1, 1, 1]) == [34, 33, 33]
    assert whole_points([3, 1]) == [75, 25]
    assert whole_points([0.2, -5, 0.2]) == [50, 0, 50]
    assert whole_points([0, 0]) == [0, 0]
    assert sum(whole_points([0.137, 0.291, 0.05, 0.7])) == 100


def test_rebalance_keeps_the_fixed_points_and_scales_the_rest_to_100() -> None:
    criteria = [
        Criterion("employees", "gte", 100, 40),
        Criterion("industry", "in", ["SaaS"], 60),
        Criterion("crm", "in", ["HubSpot"], 20),
        Criterion("industry", "in", ["Consumer"], 0, "disqualifier"),
    ]
    result = rebalance(criteria, fixed=[2])
    assert [c.points for c in result] == [32, 48, 20, 0]
    assert sum(c.points for c in result) == 100


def test_an_edit_of_values_leaves_every_points_figure_alone() -> None:
    a, b = (
        Criterion("industry", "in", ["SaaS"], 60, lineage=_uuid(1)),
        Criterion("employees", "gte", 100, 40, lineage=_uuid(2)),
    )
    after = edited([a, b], with_values(_uuid(1), ["SaaS", "Fintech"]))
    assert [c.points for c in after] == [60, 40]
    assert after[0].value == ["SaaS", "Fintech"]


def _uuid(n: int) -> Any:
    import uuid

    return uuid.UUID(int=n)


# --- Pattern rows against the engine ------------------------------------------------

INDUSTRIES = ["SaaS", "saas ", "Fintech", "Consumer", "Media", ""]
TOOLS = ["slack", "dbt", "hubspot", "jira"]


def _base(rng: random.Random) -> None:
    for n in range(90):
        account = AccountFactory(
            employees=rng.choice([None, 5, 60, 150, 199, 200, 499, 500, 2500, 9000]),
            industry=rng.choice(INDUSTRIES),
            crm=rng.choice(["HubSpot", "Salesforce", "", "Zoho"]),
            tech_stack=sorted(rng.sample(TOOLS, rng.randint(0, 3))),
            has_revops=rng.choice([True, False, None]),
            country=rng.choice(["US", "DE", ""]),
        )
        for _ in range(rng.randint(0, 3)):
            days = rng.randint(1, 80)
            DealFactory(
                account=account,
                status=rng.choice([DealState.WON, DealState.LOST]),
                closed_at=NOW - timedelta(days=days),
            )
        del n


@pytest.mark.django_db
def test_pattern_backtests_equal_the_engine_account_by_account() -> None:
    _base(random.Random(5))
    version = VersionFactory.create(status="approved", approved_at=NOW - timedelta(days=200))
    with_criteria(
        version,
        [
            ("employees", "between", [150, 2500], 40, "fit"),
            ("industry", "in", ["SaaS"], 30, "fit"),
            ("tech_stack", "contains_any", ["slack"], 20, "fit"),
            ("has_revops", "is_true", None, 10, "fit"),
            ("industry", "in", ["Consumer"], 0, "disqualifier"),
        ],
    )
    registry = attribute_registry()
    thresholds = Thresholds(a=version.threshold_a, b=version.threshold_b)
    criteria = criteria_of(version)
    ruleset = ruleset_of(criteria, thresholds, registry)
    probes = [
        Probe(
            registry["employees"], edges=(Decimal(60), Decimal(150), Decimal(500), Decimal(2501))
        ),
        Probe(registry["industry"], values=("saas", "fintech", "consumer")),
        Probe(registry["tech_stack"], values=("slack", "dbt", "hubspot")),
        Probe(registry["has_revops"]),
        Probe(registry["crm"], values=("hubspot", "salesforce")),
    ]
    start, end = NOW - timedelta(days=100), NOW
    split = NOW - timedelta(days=30)
    patterns = patterns_for(ruleset, probes, start=start, split=split, end=end)
    # Read from a lift's facts instead of the accounts, the deals' rows are the same.
    with lifted(
        profile=version.profile, window=Window(start, end), extra={"m": matched_mask(ruleset)}
    ) as (_lift, tables):
        from_facts = patterns_for(
            ruleset, probes, start=start, split=split, end=end, deal_facts=tables, whole_base=False
        )
    for probe_index, rows in patterns.deals.items():
        assert sorted(map(repr, rows)) == sorted(map(repr, from_facts.deals[probe_index]))
    lineages = [c.lineage for c in criteria if c.lineage is not None]
    edits = {
        0: [  # employees: widened, narrowed, a new criterion
            with_values(lineages[0], [60, 2500]),
            with_values(lineages[0], [500, 2500]),
            lambda cs: [*cs, Criterion("employees", "gte", 2501, 15)],
        ],
        1: [with_values(lineages[1], ["SaaS", "Fintech"]), with_values(lineages[1], ["Fintech"])],
        2: [with_values(lineages[2], ["slack", "dbt"]), with_values(lineages[2], ["hubspot"])],
        3: [
            lambda cs: [*cs[:3], *cs[4:]],
            lambda cs: [*cs, Criterion("has_revops", "is_false", None, 5)],
        ],
        4: [lambda cs: [*cs, Criterion("crm", "in", ["HubSpot", "Salesforce"], 25)]],
    }
    accounts = list(Account.objects.prefetch_related("deals"))
    for probe, probe_edits in edits.items():
        before = evaluator(patterns, ruleset.rules, thresholds, probe)
        for edit in probe_edits:
            after_criteria = edited(criteria, edit)
            after_rules = ruleset_of(after_criteria, thresholds, registry)
            after = evaluator(patterns, after_rules.rules, thresholds, probe)
            got = backtest(patterns.deals[probe], after, period="all", base=patterns.base[probe])
            late = backtest(patterns.deals[probe], after, period="late")
            # The engine, account by account.
            tiers: Counter[str] = Counter()
            won: Counter[str] = Counter()
            lost: Counter[str] = Counter()
            late_won: Counter[str] = Counter()
            changed = 0
            for account in accounts:
                result = evaluate(after_rules, account.facts())
                tier = result.tier.value
                tiers[tier] += 1
                changed += tier != evaluate(ruleset, account.facts()).tier.value
                for deal in account.deals.all():
                    closed = deal.closed_at
                    assert closed is not None
                    if not start <= closed < end:
                        continue
                    won[tier] += deal.status == DealState.WON
                    lost[tier] += deal.status == DealState.LOST
                    late_won[tier] += deal.status == DealState.WON and closed >= split
            for t in (Tier.A, Tier.B, Tier.C, Tier.DQ):
                assert got.get(t.value).won == won[t.value], (probe, t)
                assert got.get(t.value).lost == lost[t.value], (probe, t)
                assert late.get(t.value).won == late_won[t.value], (probe, t)
                assert got.accounts.get(t.value, 0) == tiers[t.value], (probe, t)
            assert moved(patterns.base[probe], before, after) == changed


@pytest.mark.django_db
def test_adopting_an_unknown_suggestion_names_it() -> None:
    version = VersionFactory.create(status="approved", approved_at=NOW - timedelta(days=10))
    CriterionFactory(version=version, points=100)
    suggestions = suggestions_for(version=version, window=Window(NOW - timedelta(days=30), NOW))
    with pytest.raises(ValidationError) as error:
        adoption_changes(suggestions, ["add:nothing"])
    assert "add:nothing" in str(error.value.message_dict["keys"])
    with pytest.raises(ValidationError) as error:
        adoption_changes(suggestions, [])
    assert "keys" in error.value.message_dict


@pytest.mark.django_db
def test_a_number_probe_stands_for_each_bucket_by_its_low_edge() -> None:
    registry = attribute_registry()
    probe = Probe(registry["employees"], edges=(Decimal(100), Decimal(500)))
    assert probe.standing_for(0) == Decimal(99)
    assert probe.standing_for(2) == Decimal(500)
    assert probe.standing_for(None) is None


@pytest.mark.django_db
def test_current_suggestions_are_kept_for_the_revision_and_worked_out_again_after_an_edit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.core.cache import cache

    from reviews.suggestions import suggest

    cache.clear()
    version = VersionFactory.create(status="draft")
    CriterionFactory(version=version, points=100)
    calls = []
    real = suggest.suggestions_for

    def counted(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(suggest, "suggestions_for", counted)
    first = suggest.current_suggestions(version=version)
    again = suggest.current_suggestions(version=version)
    assert len(calls) == 1
    assert again.computed_at == first.computed_at
    version.revision += 1
    version.save(update_fields=["revision"])
    suggest.current_suggestions(version=version)
    assert len(calls) == 2
