"""Hypothesis strategies for rulesets and accounts, shared by the engine's
tests and the test that holds the database face to the same results.

Values come from small pools so rules and accounts meet often: equal numbers
at range boundaries, the same category words, overlapping tag lists, and
every way of being unknown (None, "", [], a missing trait). Words and tags
come in other spellings of the same value too ("SaaS", "saas", " SAAS ",
"Series  B", "Straße" and "STRASSE", "é" composed or not), which compare
equal (profiles.attributes.canonical).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from profiles.attributes import (
    BUILTIN_ATTRIBUTES,
    OPERATORS_BY_TYPE,
    Attribute,
    AttrType,
    Operator,
    canonical,
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
WORDS = [
    "SaaS", "saas", " SAAS ", "Fintech", "Retail", "US", "DE", "Series B", "Series  B",
    "Salesforce", "HubSpot", "ü", "Straße", "STRASSE", "é", "e\u0301",
]  # fmt: skip
TAGS = ["salesforce", "hubspot", "Slack", "SLACK", " Segment ", "dbt", "é", "Google  Ads", "ß"]

# Whitespace that compares as one space (or none, at either end).
SPACES = [" ", "  ", "\t", "\u00a0"]
_CASES: list[Callable[[str], str]] = [str, str.upper, str.lower, str.title, str.swapcase]


@st.composite
def respelled(draw: st.DrawFn, text: str) -> str:
    """`text` as written, or half the time spelled another way that compares
    equal: another letter case, decomposed or not, other whitespace between
    its words and around it."""
    if draw(st.booleans()):
        return text
    spelled = draw(st.sampled_from(_CASES))(text)
    if draw(st.booleans()):
        spelled = unicodedata.normalize("NFD", spelled)
    spelled = draw(st.sampled_from(SPACES)).join(spelled.split())
    around = st.sampled_from(["", *SPACES])
    spelled = draw(around) + spelled + draw(around)
    assert canonical(spelled) == canonical(text)
    return spelled


def words() -> st.SearchStrategy[str]:
    return st.sampled_from(WORDS).flatmap(respelled)


def tags() -> st.SearchStrategy[str]:
    return st.sampled_from(TAGS).flatmap(respelled)


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
            return words()
        # One criterion may not name a value twice in two spellings.
        return st.lists(words(), min_size=1, max_size=3, unique_by=canonical)
    if attribute.type == AttrType.LIST:
        return st.lists(tags(), min_size=1, max_size=3)
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


def _attribute_value(attribute: Attribute, named: list[str]) -> st.SearchStrategy[Any]:
    """A value of the attribute; a text value is, as often as not, one that
    a rule names (`named`), respelled or not."""
    text = words() if attribute.type == AttrType.CATEGORY else tags()
    if named:
        text = st.one_of(st.sampled_from(named).flatmap(respelled), text)
    if attribute.type == AttrType.NUMBER:
        # Built-in numbers are whole (headcount, revenue in whole units); traits may hold decimals.
        return st.one_of(st.none(), numbers(decimals=attribute.is_trait))
    if attribute.type == AttrType.CATEGORY:
        return st.one_of(st.none(), st.just(""), text)
    if attribute.type == AttrType.LIST:
        return st.lists(text, max_size=4)
    return st.one_of(st.none(), st.booleans())


def _named(ruleset: Ruleset | None, key: str) -> list[str]:
    """The text values the ruleset's rules on attribute `key` name."""
    named: list[str] = []
    for rule in ruleset.rules if ruleset else ():
        if rule.attribute == key and rule.type in (AttrType.CATEGORY, AttrType.LIST):
            named.extend([rule.value] if isinstance(rule.value, str) else rule.value)
    return named


@st.composite
def accounts(draw: st.DrawFn, ruleset: Ruleset | None = None) -> dict[str, Any]:
    """An account as the engine reads it, with values spelled as a CRM might
    send them: any case and spacing, missing categories as None or "". With
    a `ruleset`, text values are often ones its rules name."""
    account: dict[str, Any] = {}
    for key, attribute in BUILTIN_ATTRIBUTES.items():
        account[key] = draw(_attribute_value(attribute, _named(ruleset, key)))
    traits: dict[str, Any] = {}
    for key, attribute in TRAITS.items():
        if draw(st.booleans()):
            traits[key] = draw(_attribute_value(attribute, _named(ruleset, key)))
    account["traits"] = traits
    return account


@st.composite
def respellings(draw: st.DrawFn, account: dict[str, Any]) -> dict[str, Any]:
    """The same account with every category value and list item spelled
    another way that compares equal."""

    def again(value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            return draw(respelled(value))
        if isinstance(value, list):
            return [draw(respelled(item)) for item in value]
        return value

    other = {key: again(value) for key, value in account.items() if key != "traits"}
    other["traits"] = {key: again(value) for key, value in account["traits"].items()}
    return other
