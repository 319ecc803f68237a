"""The database face must agree with the engine on every account, however
its values are spelled."""

from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.engine import Ruleset, evaluate
from scoring.expressions import scores_select
from scoring.models import CANONICAL_COLUMNS, Account, canonical_fields
from tests.scoring.strategies import accounts, respellings, rulesets

pytestmark = pytest.mark.django_db


def store(facts: dict[str, Any], n: int) -> Account:
    """The account as sent, with its canonical columns and list index as
    ingest fills them (scoring.models.canonical_fields)."""
    fields = {k: v for k, v in facts.items() if k != "traits"}
    for key in CANONICAL_COLUMNS:
        fields[key] = fields[key] or ""  # a missing category is stored as ""
    return Account.objects.create(
        external_id=f"acc-{n}",
        name=f"Account {n}",
        traits=facts["traits"],
        **fields,
        **canonical_fields(facts),
    )


def database_scores(ruleset: Ruleset) -> dict[int, tuple[int, str, int]]:
    sql, params = scores_select(Account.objects.all(), ruleset)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: (row[1], row[2], row[3]) for row in cursor.fetchall()}


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rulesets(), st.data())
def test_both_faces_give_the_same_score_tier_and_matches(
    ruleset: Ruleset, data: st.DataObject
) -> None:
    facts_list = data.draw(st.lists(accounts(ruleset), min_size=1, max_size=12))
    Account.objects.all().delete()
    stored = [store(facts, n) for n, facts in enumerate(facts_list)]
    in_database = database_scores(ruleset)
    for account in stored:
        result = evaluate(ruleset, account.facts())
        expected = (result.score, str(result.tier), result.matched_mask)
        assert in_database[account.pk] == expected, (account.facts(), ruleset)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rulesets(), st.data())
def test_an_account_respelled_scores_the_same_in_both_faces(
    ruleset: Ruleset, data: st.DataObject
) -> None:
    account = data.draw(accounts(ruleset))
    Account.objects.all().delete()
    sent, respelled = store(account, 0), store(data.draw(respellings(account)), 1)
    in_database = database_scores(ruleset)
    result = evaluate(ruleset, sent.facts())
    expected = (result.score, str(result.tier), result.matched_mask)
    again = evaluate(ruleset, respelled.facts())
    assert (again.score, str(again.tier), again.matched_mask) == expected
    assert in_database == {sent.pk: expected, respelled.pk: expected}, (account, ruleset)
