"""Agendas stored before they stayed live were worked out when their
check-in opened: the migration records that time as when they were worked
out, so a held one says so; a check-in without an agenda records none."""

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from profiles.models import Profile

BEFORE = ("reviews", "0006_notifications_and_my_work")
AFTER = ("reviews", "0007_checkin_agenda_held_and_trigger_figures")

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(target: tuple[str, str]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    executor.loader.build_graph()
    return executor


def test_stored_agendas_are_dated_at_their_check_in_s_creation(icp: Profile) -> None:
    try:
        old = migrate(BEFORE).loader.project_state([BEFORE]).apps.get_model("reviews", "CheckIn")
        with_agenda = old.objects.create(
            profile_id=icp.pk, kind="scheduled", due_on=date(2026, 3, 1),
            agenda={"overrides": {"total": 3}},
        )  # fmt: skip
        without = old.objects.create(profile_id=icp.pk, kind="scheduled", due_on=date(2026, 6, 1))

        new = migrate(AFTER).loader.project_state([AFTER]).apps.get_model("reviews", "CheckIn")

        dated = new.objects.get(pk=with_agenda.pk)
        assert dated.agenda_at == dated.created_at
        assert dated.agenda == {"overrides": {"total": 3}}
        assert dated.trigger_figures == {}
        assert new.objects.get(pk=without.pk).agenda_at is None
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
