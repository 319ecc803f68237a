"""The database face must agree with the engine on every account."""

from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.attributes import normalise_list
from scoring.engine import Ruleset, evaluate
from scoring.expressions import scores_select
from scoring.models import Account, list_index_for
from tests.scoring.strategies import accounts, rulesets

pytestmark = pytest.mark.django_db


def store(facts: dict[str, Any], n: int) -> Account:
    traits = {
        key: normalise_list(value) if isinstance(value, list) else value
        for key, value in facts["traits"].items()
    }
    tech_stack = normalise_list(facts["tech_stack"])
    fields = {k: v for k, v in facts.items() if k not in ("traits", "tech_stack")}
    for key in ("industry", "country", "funding_stage", "crm"):
        fields[key] = fields[key] or ""  # a missing category is stored as ""
    return Account.objects.create(
        external_id=f"acc-{n}",
        name=f"Account {n}",
        tech_stack=tech_stack,
        traits=traits,
        list_index=list_index_for(tech_stack, traits),
        **fields,
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
@given(rulesets(), st.lists(accounts(), min_size=1, max_size=12))
def test_both_faces_give_the_same_score_tier_and_matches(
    ruleset: Ruleset, facts_list: list[dict[str, Any]]
) -> None:
    Account.objects.all().delete()
    stored = [store(facts, n) for n, facts in enumerate(facts_list)]
    in_database = database_scores(ruleset)
    for account in stored:
        result = evaluate(ruleset, account.facts())
        expected = (result.score, str(result.tier), result.matched_mask)
        assert in_database[account.pk] == expected, (account.facts(), ruleset)
