"""Accounts stored before the canonical columns existed get them from the
migration (scoring 0018), batch by batch, exactly as the code computes them
for a new write; going back leaves the list index as the code before built
it."""

import importlib
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from profiles.attributes import AttrType, Operator
from scoring.engine import Rule, Ruleset, evaluate
from scoring.expressions import scores_select
from scoring.models import Account, canonical_fields

BEFORE = ("scoring", "0016_import_kinds")
AFTER = ("scoring", "0018_fill_account_canonical_values")
FILL = importlib.import_module("scoring.migrations.0018_fill_account_canonical_values")

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNTS: list[dict[str, Any]] = [
    {
        "industry": "SaaS",
        "country": " kp ",
        "funding_stage": "Series  B",
        "crm": "HubSpot",
        "tech_stack": ["slack", "google  ads", "straße"],
        "traits": {"region": "EMEA", "channels": ["Email", "email"], "seats": 5},
        # As the code before built it, from the items as stored.
        "list_index": "|tech_stack:slack|tech_stack:google  ads|tech_stack:straße"
        "|channels:Email|channels:email|",
    },
    {"industry": "", "country": "", "funding_stage": "", "crm": "", "tech_stack": []},
    {"industry": "Zu\u0308rich", "country": "DE", "crm": "SALESFORCE", "tech_stack": ["DBT"]},
    {"industry": "Fintech", "country": "US", "traits": {"region": "  Nord  Amerika "}},
    {"industry": "Retail", "country": "de", "tech_stack": ["Slack"]},
]


def migrate(target: tuple[str, str]) -> Any:
    """Migrate to `target`; the Account model as it stands there."""
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor.loader.project_state([target]).apps.get_model("scoring", "Account")


def test_existing_accounts_get_their_canonical_values_in_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(FILL, "BATCH", 2)
    try:
        old = migrate(BEFORE)
        ids = [
            old.objects.create(external_id=f"crm-{n}", name=f"Company {n}", **values).pk
            for n, values in enumerate(ACCOUNTS)
        ]
        migrate(AFTER)
        accounts = Account.objects.in_bulk(ids)
        first = accounts[ids[0]]
        assert (
            first.industry_canonical,
            first.country_canonical,
            first.funding_stage_canonical,
            first.crm_canonical,
        ) == ("saas", "kp", "series b", "hubspot")
        assert first.traits_canonical == {"region": "emea"}
        assert first.list_index == (
            "|tech_stack:slack|tech_stack:google ads|tech_stack:strasse|channels:email|"
        )
        assert accounts[ids[2]].industry_canonical == "zürich"
        for account in accounts.values():
            stored = {name: getattr(account, name) for name in canonical_fields(account.facts())}
            assert stored == canonical_fields(account.facts()), account.external_id
            assert account.reindex() is False
        # The values as sent are left alone.
        assert (first.country, first.tech_stack) == (" kp ", ["slack", "google  ads", "straße"])

        # Going back drops the columns and rebuilds the list index as before.
        old = migrate(BEFORE)
        assert old.objects.get(pk=ids[0]).list_index == ACCOUNTS[0]["list_index"]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_filled_accounts_score_alike_in_both_faces() -> None:
    try:
        old = migrate(BEFORE)
        for n, values in enumerate(ACCOUNTS):
            old.objects.create(external_id=f"crm-{n}", name=f"Company {n}", **values)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    category, listed = AttrType.CATEGORY, AttrType.LIST
    ruleset = Ruleset(
        (
            Rule("industry", category, Operator.IN, ["saas", "ZÜRICH"], 40),
            Rule("country", category, Operator.IN, ["KP"], disqualifier=True),
            Rule("tech_stack", listed, Operator.CONTAINS_ANY, ["Slack"], 30),
            Rule("region", category, Operator.EQ, "nord amerika", 30, is_trait=True),
        )
    )
    text, params = scores_select(Account.objects.all(), ruleset)
    with connection.cursor() as cursor:
        cursor.execute(text, params)
        in_database = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
    scored = {}
    for account in Account.objects.all():
        result = evaluate(ruleset, account.facts())
        assert in_database[account.pk] == (result.score, str(result.tier))
        scored[account.external_id] = in_database[account.pk]
    assert scored == {
        "crm-0": (0, "DQ"),
        "crm-1": (0, "C"),
        "crm-2": (40, "B"),
        "crm-3": (30, "C"),
        "crm-4": (30, "C"),
    }
