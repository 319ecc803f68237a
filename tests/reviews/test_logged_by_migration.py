"""Overrides logged before `logged_by` existed were logged by their rep
(the only way to log one in another's name left no trace), so the
migration fills `logged_by` with the rep; going back drops it again."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from profiles.models import Profile, ProfileVersion, User
from scoring.models import Account

BEFORE = ("reviews", "0001_initial")
AFTER = ("reviews", "0004_override_logged_by_required")

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(target: tuple[str, str]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor


def test_existing_overrides_are_logged_by_their_rep(
    rep: User, manager: User, icp: Profile, v1: ProfileVersion, tiny: Account, acme: Account
) -> None:
    try:
        old = migrate(BEFORE).loader.project_state([BEFORE]).apps.get_model("reviews", "Override")
        common = {
            "profile_id": icp.pk,
            "version_id": v1.pk,
            "team_id": rep.teams.get().pk,
            "claimed_tier": "A",
            "reason": "strategic",
        }
        by_rep = old.objects.create(account_id=tiny.pk, rep_id=rep.pk, **common)
        by_manager = old.objects.create(account_id=acme.pk, rep_id=manager.pk, **common)
        new = migrate(AFTER).loader.project_state([AFTER]).apps.get_model("reviews", "Override")
        assert dict(new.objects.values_list("pk", "logged_by_id")) == {
            by_rep.pk: rep.pk,
            by_manager.pk: manager.pk,
        }
        assert not new._meta.get_field("logged_by").null
        migrate(BEFORE)
        assert old.objects.count() == 2
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
