"""A surprising won or lost deal is marked reviewed by the deal's id: the
marks made when they named the account move onto the account's outcome
deal, a mark whose account has none goes, and other marks stay as they
are; going back names the accounts again."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from profiles.models import User
from scoring.models import Account, Deal

BEFORE = ("reviews", "0004_override_logged_by_required")
AFTER = ("reviews", "0005_marks_name_deals")
CLOSED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(target: tuple[str, str]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor


def test_marks_on_a_won_or_lost_account_move_onto_its_outcome_deal(
    manager: User, acme: Account, tiny: Account
) -> None:
    try:
        state = migrate(BEFORE).loader.project_state([BEFORE])
        old = state.apps.get_model("reviews", "ReviewMark")
        outcome = Deal.objects.create(
            external_id=f"outcome:{acme.external_id}", account=acme, status="won", closed_at=CLOSED
        )
        Deal.objects.create(external_id="opp-1", account=acme, status="won", closed_at=CLOSED)
        won = old.objects.create(user_id=manager.pk, kind="won", object_id=acme.pk,
                                 occurred_at=CLOSED)  # fmt: skip
        old.objects.create(user_id=manager.pk, kind="lost", object_id=tiny.pk, occurred_at=CLOSED)
        churned = old.objects.create(user_id=manager.pk, kind="churned", object_id=acme.pk,
                                     occurred_at=CLOSED)  # fmt: skip
        override = old.objects.create(user_id=manager.pk, kind="override", object_id=acme.pk)

        new = migrate(AFTER).loader.project_state([AFTER]).apps.get_model("reviews", "ReviewMark")

        assert dict(new.objects.values_list("pk", "object_id")) == {
            won.pk: outcome.pk,
            churned.pk: acme.pk,
            override.pk: acme.pk,
        }
        assert new.objects.get(pk=won.pk).occurred_at == CLOSED
        migrate(BEFORE)
        assert dict(old.objects.values_list("pk", "object_id")) == {
            won.pk: acme.pk,
            churned.pk: acme.pk,
            override.pk: acme.pk,
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
