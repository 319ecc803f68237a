"""Hypothesis strategies for rulesets and accounts, shared by the engine's
tests and the test that holds the database face to the same results.

Values come from small pools so rules and accounts meet often: equal numbers
at range boundaries, the same category words, overlapping tag lists, and
every way of being unknown (None, "", [], a missing trait).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from profiles.attributes import (
    BUILTIN_ATTRIBUTES,
    OPERATORS_BY_TYPE,
    Attribute,
    AttrType,
    Operator,
    trait_attribute,
    validate_value,
)
from scoring.engine import Rule, Ruleset, Thresholds

TRAITS: dict[str, Attribute] = {
    attribute.key: attribute
    for attribute in (
        trait_attribute("seats", "Seats", AttrType.NUMBER, "firmographic"),
        trait_attribute("region", "Region", AttrType.CATEGORY, "firmographic"),
        trait_attribute("channels", "Channels", AttrType.LIST, "behavioral"),
        trait_attribute("uses_sso", "Uses SSO", AttrType.BOOLEAN, "technographic"),
    )
}
REGISTRY: dict[str, Attribute] = {**BUILTIN_ATTRIBUTES, **TRAITS}

NUMBERS = [0, 1, 10, 199, 200, 201, 1999, 2000, 2001, 50_000, 10_000_000]
DECIMAL_NUMBERS = [0.5, 199.99, 200.01, 1999.5]
WORDS = ["SaaS", "saas", "Fintech", "Retail", "US", "DE", "Series B", "Salesforce", "HubSpot", "ü"]
TAGS = ["salesforce", "hubspot", "Slack", "SLACK", "segment", "dbt", "é"]


def numbers(*, decimals: bool) -> st.SearchStrategy[Any]:
    pool = NUMBERS + (DECIMAL_NUMBERS if decimals else [])
    return st.one_of(st.sampled_from(pool), st.integers(min_value=0, max_value=3000))


def _rule_value(attribute: Attribute, operator: Operator) -> st.SearchStrategy[Any]:
    if attribute.type == AttrType.NUMBER:
        if operator == Operator.BETWEEN:
            pair = st.tuples(numbers(decimals=True), numbers(decimals=True))
            return pair.map(lambda p: sorted(p))
        return numbers(decimals=True)
    if attribute.type == AttrType.CATEGORY:
        if operator == Operator.EQ:
            return st.sampled_from(WORDS)
        return st.lists(st.sampled_from(WORDS), min_size=1, max_size=3)
    if attribute.type == AttrType.LIST:
        return st.lists(st.sampled_from(TAGS), min_size=1, max_size=3)
    return st.none()


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    attribute = REGISTRY[draw(st.sampled_from(sorted(REGISTRY)))]
    operator = draw(st.sampled_from(OPERATORS_BY_TYPE[attribute.type]))
    value = validate_value(attribute, operator, draw(_rule_value(attribute, operator)))
    disqualifier = draw(st.integers(min_value=0, max_value=3)) == 0
    return Rule(
        attribute=attribute.key,
        type=attribute.type,
        operator=operator,
        value=value,
        points=0 if disqualifier else draw(st.integers(min_value=0, max_value=60)),
        disqualifier=disqualifier,
        is_trait=attribute.is_trait,
    )


@st.composite
def rulesets(draw: st.DrawFn, max_rules: int = 8) -> Ruleset:
    b = draw(st.integers(min_value=0, max_value=99))
    a = draw(st.integers(min_value=b + 1, max_value=100))
    return Ruleset(tuple(draw(st.lists(rules(), max_size=max_rules))), Thresholds(a=a, b=b))


def _attribute_value(attribute: Attribute) -> st.SearchStrategy[Any]:
    if attribute.type == AttrType.NUMBER:
        # Built-in numbers are whole (headcount, revenue in whole units); traits may hold decimals.
        return st.one_of(st.none(), numbers(decimals=attribute.is_trait))
    if attribute.type == AttrType.CATEGORY:
        return st.one_of(st.none(), st.just(""), st.sampled_from(WORDS))
    if attribute.type == AttrType.LIST:
        return st.lists(st.sampled_from(TAGS), max_size=4)
    return st.one_of(st.none(), st.booleans())


@st.composite
def accounts(draw: st.DrawFn) -> dict[str, Any]:
    """An account as the engine reads it, with values as ingest stores them:
    list items normalised, missing categories as None or ""."""
    account: dict[str, Any] = {}
    for key, attribute in BUILTIN_ATTRIBUTES.items():
        account[key] = draw(_attribute_value(attribute))
    traits: dict[str, Any] = {}
    for key, attribute in TRAITS.items():
        if draw(st.booleans()):
            traits[key] = draw(_attribute_value(attribute))
    account["traits"] = traits
    return account
