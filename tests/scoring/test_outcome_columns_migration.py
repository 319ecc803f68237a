"""The account's outcome columns go (scoring 0019): the outcome deals keep
every outcome; going back puts the columns back and fills them from the
outcome deals."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from scoring.models import Account, Deal

BEFORE = ("scoring", "0018_fill_account_canonical_values")
AFTER = ("scoring", "0019_account_outcome_columns_removed")
NO_DEALS = ("scoring", "0012_webhook_attempts")
COLUMNS = ("opportunity_opened_at", "deal_status", "deal_closed_at", "deal_amount")

MARCH = datetime(2026, 3, 2, tzinfo=UTC)
MAY = datetime(2026, 5, 29, tzinfo=UTC)

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(target: tuple[str, str]) -> Any:
    """Migrate to `target`; the apps as they stand there."""
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor.loader.project_state([target]).apps


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def account_columns() -> set[str]:
    with connection.cursor() as cursor:
        table = connection.introspection.get_table_description(cursor, "scoring_account")
    return {column.name for column in table}


def outcome_columns(apps: Any) -> dict[str, tuple[Any, ...]]:
    rows = apps.get_model("scoring", "Account").objects.values_list("external_id", *COLUMNS)
    return {external_id: tuple(values) for external_id, *values in rows}


def test_the_columns_go_and_the_outcome_deals_keep_the_outcomes() -> None:
    try:
        apps = migrate(BEFORE)
        old, deal = apps.get_model("scoring", "Account"), apps.get_model("scoring", "Deal")
        acme = old.objects.create(
            external_id="acme",
            name="Acme",
            opportunity_opened_at=MARCH,
            deal_status="won",
            deal_closed_at=MAY,
            deal_amount=Decimal("48000.00"),
        )
        deal.objects.create(
            external_id="outcome:acme",
            account=acme,
            status="won",
            opened_at=MARCH,
            closed_at=MAY,
            amount=Decimal("48000.00"),
        )
        assert set(COLUMNS) <= account_columns()

        migrate(AFTER)

        assert not set(COLUMNS) & account_columns()
        assert list(
            Deal.objects.values_list(
                "external_id", "account__external_id", "status", "opened_at", "closed_at", "amount"
            )
        ) == [("outcome:acme", "acme", "won", MARCH, MAY, Decimal("48000.00"))]
    finally:
        migrate_to_latest()


def test_an_outcome_held_only_by_the_columns_becomes_its_outcome_deal() -> None:
    """0013 copied only accounts with a status or an opening date: an amount
    or a close date alone was in the columns only, and must not be lost."""
    try:
        apps = migrate(BEFORE)
        old = apps.get_model("scoring", "Account")
        old.objects.create(
            external_id="amount", name="Amount", deal_amount=Decimal("9000.00"), deal_closed_at=MAY
        )
        old.objects.create(external_id="nothing", name="Nothing")

        migrate(AFTER)

        assert list(
            Deal.objects.values_list(
                "external_id", "account__external_id", "status", "closed_at", "amount"
            )
        ) == [("outcome:amount", "amount", "open", MAY, Decimal("9000.00"))]
    finally:
        migrate_to_latest()


def test_going_back_fills_the_columns_from_the_outcome_deals() -> None:
    try:
        migrate(AFTER)
        won = Account.objects.create(external_id="won", name="Won")
        Deal.objects.create(
            external_id="outcome:won",
            account=won,
            status="won",
            opened_at=MARCH,
            closed_at=MAY,
            amount=Decimal("48000.50"),
        )
        opened = Account.objects.create(external_id="opened", name="Opened")
        Deal.objects.create(external_id="outcome:opened", account=opened, opened_at=MARCH)
        # Deals that are not the account's outcome deal leave it without one.
        plain = Account.objects.create(external_id="plain", name="Plain")
        Deal.objects.create(external_id="opp-1", account=plain, status="lost", closed_at=MAY)
        Deal.objects.create(
            external_id="merged:outcome:gone", account=plain, status="won", closed_at=MAY
        )

        apps = migrate(BEFORE)

        assert outcome_columns(apps) == {
            "won": (MARCH, "won", MAY, Decimal("48000.50")),
            "opened": (MARCH, "open", None, None),
            "plain": (None, "", None, None),
        }
        assert apps.get_model("scoring", "Deal").objects.count() == 4
    finally:
        migrate_to_latest()


def test_an_outcome_from_before_deals_comes_back_as_it_was() -> None:
    """0013 made the columns an outcome deal; 0019 dropped them; going back
    to before 0019 gives them back from that deal."""
    values = (MARCH, "lost", MAY, Decimal("10.00"))
    try:
        apps = migrate(NO_DEALS)
        apps.get_model("scoring", "Account").objects.create(
            external_id="acme", name="Acme", **dict(zip(COLUMNS, values, strict=True))
        )
        migrate(AFTER)
        assert Deal.objects.get().external_id == "outcome:acme"

        assert outcome_columns(migrate(BEFORE)) == {"acme": values}
    finally:
        migrate_to_latest()
