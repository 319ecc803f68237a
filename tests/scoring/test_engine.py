from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profiles.attributes import AttrType, Operator
from scoring.engine import (
    Outcome,
    Rule,
    Ruleset,
    Thresholds,
    Tier,
    evaluate,
    tier_for,
    tier_scores,
)
from tests.scoring.strategies import accounts, respellings, rulesets

MID_MARKET = Ruleset(
    (
        Rule(
            "employees", AttrType.NUMBER, Operator.BETWEEN, [200, 2000], 30, label="200-2,000 staff"
        ),
        Rule("industry", AttrType.CATEGORY, Operator.IN, ["SaaS", "Software"], 20, label="SaaS"),
        Rule("crm", AttrType.CATEGORY, Operator.IN, ["Salesforce", "HubSpot"], 25, label="CRM"),
        Rule("funding_stage", AttrType.CATEGORY, Operator.IN, ["Series B", "Series C"], 15),
        Rule("has_revops", AttrType.BOOLEAN, Operator.IS_TRUE, None, 10, label="RevOps"),
        Rule(
            "country",
            AttrType.CATEGORY,
            Operator.IN,
            ["KP", "IR"],
            disqualifier=True,
            label="Embargo",
        ),
    ),
    Thresholds(a=70, b=40),
)

FIT_ACCOUNT: dict[str, Any] = {
    "employees": 450,
    "industry": "SaaS",
    "crm": "HubSpot",
    "funding_stage": "Series B",
    "has_revops": True,
    "country": "DE",
    "traits": {},
}


def test_a_fitting_account_scores_every_matched_point() -> None:
    result = evaluate(MID_MARKET, FIT_ACCOUNT)
    assert (result.score, result.tier) == (100, Tier.A)
    assert [c.points for c in result.contributions] == [30, 20, 25, 15, 10, 0]
    assert result.matched_mask == 0b011111
    assert result.top_reasons() == ["200-2,000 staff (+30)", "CRM (+25)", "SaaS (+20)"]


def test_range_boundaries_are_inclusive() -> None:
    for employees in (200, 2000):
        result = evaluate(MID_MARKET, {**FIT_ACCOUNT, "employees": employees})
        assert result.contributions[0].outcome == Outcome.MATCHED
    result = evaluate(MID_MARKET, {**FIT_ACCOUNT, "employees": 2001})
    assert result.contributions[0].outcome == Outcome.NOT_MATCHED
    assert (result.score, result.tier) == (70, Tier.A)


def test_missing_data_is_unknown_and_never_matches() -> None:
    sparse: dict[str, Any] = {"employees": None, "industry": "", "crm": "HubSpot", "traits": {}}
    result = evaluate(MID_MARKET, sparse)
    outcomes = [c.outcome for c in result.contributions]
    assert outcomes == [Outcome.UNKNOWN] * 2 + [Outcome.MATCHED] + [Outcome.UNKNOWN] * 3
    assert (result.score, result.tier) == (25, Tier.C)
    assert result.unknown_mask == 0b111011


def test_a_matched_disqualifier_gives_dq_and_zero_and_names_itself() -> None:
    result = evaluate(MID_MARKET, {**FIT_ACCOUNT, "country": "KP"})
    assert (result.score, result.tier) == (0, Tier.DQ)
    assert [rule.label for rule in result.disqualified_by] == ["Embargo"]
    assert result.top_reasons() == ["Disqualified: Embargo"]


def test_not_in_does_not_match_a_missing_value() -> None:
    rule = Rule("country", AttrType.CATEGORY, Operator.NOT_IN, ["KP"], 100)
    ruleset = Ruleset((rule,))
    assert evaluate(ruleset, {"country": None}).contributions[0].outcome == Outcome.UNKNOWN
    assert evaluate(ruleset, {"country": "DE"}).score == 100


def test_a_country_sent_in_lower_case_is_disqualified_as_in_upper_case() -> None:
    for country in ("KP", "kp", " Kp "):
        result = evaluate(MID_MARKET, {**FIT_ACCOUNT, "country": country})
        assert (result.score, result.tier) == (0, Tier.DQ), country


def test_not_in_compares_ignoring_case_and_spacing() -> None:
    allowed = Rule("country", AttrType.CATEGORY, Operator.NOT_IN, ["US", "DE"], disqualifier=True)
    ruleset = Ruleset((allowed, Rule("employees", AttrType.NUMBER, Operator.GTE, 0, 100)))
    for country in ("us", " De ", "US"):
        assert evaluate(ruleset, {"country": country, "employees": 5}).tier == Tier.A, country
    assert evaluate(ruleset, {"country": "kp", "employees": 5}).tier == Tier.DQ


@pytest.mark.parametrize(
    ("attribute", "sent"),
    [
        ("industry", "saas"),
        ("industry", " SAAS "),
        ("crm", "hubspot"),
        ("funding_stage", "series b"),
        ("funding_stage", "Series  B"),
        ("funding_stage", "SERIES\u00a0B"),
    ],
)
def test_category_values_match_ignoring_case_and_spacing(attribute: str, sent: str) -> None:
    result = evaluate(MID_MARKET, {**FIT_ACCOUNT, attribute: sent})
    assert (result.score, result.tier) == (100, Tier.A)


def test_values_compare_case_folded_and_composed() -> None:
    rule = Rule("region", AttrType.CATEGORY, Operator.EQ, "Straße", 100, is_trait=True)
    for sent in ("STRASSE", "strasse", "straße"):
        assert evaluate(Ruleset((rule,)), {"traits": {"region": sent}}).score == 100
    accent = Rule("region", AttrType.CATEGORY, Operator.IN, ["Zürich"], 100, is_trait=True)
    assert evaluate(Ruleset((accent,)), {"traits": {"region": "ZU\u0308RICH"}}).score == 100


def test_a_value_of_spaces_only_is_unknown() -> None:
    rule = Rule("industry", AttrType.CATEGORY, Operator.NOT_IN, ["SaaS"], 100)
    outcome = evaluate(Ruleset((rule,)), {"industry": " \t "}).contributions[0].outcome
    assert outcome == Outcome.UNKNOWN


def test_lists_compare_without_regard_to_case_and_empty_is_unknown() -> None:
    any_crm = Rule(
        "tech_stack", AttrType.LIST, Operator.CONTAINS_ANY, ["salesforce", "hubspot"], 50
    )
    all_of = Rule("tech_stack", AttrType.LIST, Operator.CONTAINS_ALL, ["slack", "dbt"], 50)
    ruleset = Ruleset((any_crm, all_of))
    assert evaluate(ruleset, {"tech_stack": ["HubSpot", "Slack"]}).score == 50
    assert evaluate(ruleset, {"tech_stack": ["dbt", "SLACK", "Salesforce"]}).score == 100
    assert evaluate(ruleset, {"tech_stack": [" DBT ", "Slack", "x"]}).score == 50
    empty = evaluate(ruleset, {"tech_stack": []})
    assert [c.outcome for c in empty.contributions] == [Outcome.UNKNOWN, Outcome.UNKNOWN]


def test_numbers_compare_as_exact_decimals() -> None:
    rule = Rule("seats", AttrType.NUMBER, Operator.GTE, 0.3, 100, is_trait=True)
    assert evaluate(Ruleset((rule,)), {"traits": {"seats": 0.1 + 0.2}}).score == 100
    assert evaluate(Ruleset((rule,)), {"traits": {"seats": 0.29}}).score == 0


def test_a_trait_of_the_wrong_type_is_unknown() -> None:
    rule = Rule("seats", AttrType.NUMBER, Operator.GTE, 10, 100, is_trait=True)
    for value in ("many", True, None):
        result = evaluate(Ruleset((rule,)), {"traits": {"seats": value}})
        assert result.contributions[0].outcome == Outcome.UNKNOWN


@pytest.mark.parametrize(
    ("score", "tier"), [(0, Tier.C), (39, Tier.C), (40, Tier.B), (69, Tier.B), (70, Tier.A)]
)
def test_tiers_start_at_their_thresholds(score: int, tier: Tier) -> None:
    assert tier_for(score, Thresholds(a=70, b=40)) == tier


@given(rulesets(), accounts())
def test_a_tier_s_scores_hold_the_score_of_every_account_of_that_tier(
    ruleset: Ruleset, account: dict[str, Any]
) -> None:
    result = evaluate(ruleset, account)
    low, high = tier_scores(result.tier, ruleset.thresholds)
    assert low <= result.score <= high


@given(st.integers(0, 100), st.integers(1, 100), st.data())
def test_the_tiers_scores_cover_zero_to_a_hundred_without_overlap(
    score: int, a: int, data: st.DataObject
) -> None:
    thresholds = Thresholds(a=a, b=data.draw(st.integers(0, a - 1)))
    holding = [t for t in (Tier.A, Tier.B, Tier.C) if tier_scores(t, thresholds)[0] <= score]
    holding = [t for t in holding if score <= tier_scores(t, thresholds)[1]]
    assert holding == [tier_for(score, thresholds)]


def test_unordered_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="0 <= B < A <= 100"):
        Thresholds(a=40, b=70)


def test_an_operator_that_does_not_fit_the_type_is_refused() -> None:
    with pytest.raises(ValueError, match="does not apply"):
        Rule("employees", AttrType.NUMBER, Operator.CONTAINS_ANY, ["x"], 10)


@given(rulesets(), accounts())
def test_the_score_is_the_sum_of_matched_fit_points_unless_disqualified(
    ruleset: Ruleset, account: dict[str, Any]
) -> None:
    result = evaluate(ruleset, account)
    assert 0 <= result.score <= 100
    assert len(result.contributions) == len(ruleset.rules)
    assert result.matched_mask & result.unknown_mask == 0
    if result.disqualified_by:
        assert (result.score, result.tier) == (0, Tier.DQ)
    else:
        earned = sum(r.points for i, r in enumerate(ruleset.rules) if result.matched_mask >> i & 1)
        assert result.score == min(100, earned)
        assert result.tier == tier_for(result.score, ruleset.thresholds)


@given(rulesets(), accounts())
def test_an_unknown_value_never_earns_points(ruleset: Ruleset, account: dict[str, Any]) -> None:
    for contribution in evaluate(ruleset, account).contributions:
        if contribution.outcome == Outcome.UNKNOWN:
            assert contribution.points == 0


@given(rulesets(), st.data())
def test_an_account_respelled_scores_the_same(ruleset: Ruleset, data: st.DataObject) -> None:
    account = data.draw(accounts(ruleset))
    sent = evaluate(ruleset, account)
    respelled = evaluate(ruleset, data.draw(respellings(account)))
    assert (respelled.score, respelled.tier, respelled.matched_mask) == (
        sent.score,
        sent.tier,
        sent.matched_mask,
    )
