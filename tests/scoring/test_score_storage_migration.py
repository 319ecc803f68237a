"""Upgrading a PostgreSQL database moves each run's scores into a table of
its own (scoring migration 0006), and downgrading moves them back, with
nothing lost either way."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from profiles.models import Profile, User
from scoring import score_tables, services
from scoring.models import AccountScore
from tests.conftest import run_table_has_key
from tests.factories import AccountFactory, CriterionFactory, VersionFactory

BEFORE = ("scoring", "0005_change_numbers_on_score_rows")
AFTER = ("scoring", "0006_scores_partitioned_by_run")

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite keeps every run in one table"
    ),
    pytest.mark.django_db(transaction=True),
]


def migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([target])


def stored() -> set[tuple[int, int, int, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT run_id, account_id, score, tier FROM scoring_accountscore")
        return set(cursor.fetchall())


def partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'scoring_accountscore'::regclass"
        )
        return {row[0] for row in cursor.fetchall()}


def test_scores_survive_the_move_into_per_run_tables_and_back(
    icp: Profile, ops_manager: User
) -> None:
    version = VersionFactory.create(
        profile=icp, number=1, status="approved", approved_at=timezone.now()
    )
    CriterionFactory.create(
        version=version, attribute="employees", operator="gte", value=100, points=70
    )
    AccountFactory.create_batch(5, employees=300)
    AccountFactory.create_batch(3, employees=20)
    runs = []
    for _ in range(2):
        run = services.run_in_process(profile=icp, version=version, actor=ops_manager)
        assert run is not None
        runs.append(run)
    before = stored()
    assert len(before) == 16
    assert {run_id for run_id, *_ in before} == {run.pk for run in runs}
    try:
        migrate(BEFORE)
        assert partitions() == set()  # one plain table again
        assert stored() == before
        migrate(AFTER)
        assert partitions() == {score_tables.table(run.pk) for run in runs}
        assert stored() == before
        # Each run's rows sit in its own table, keyed.
        for run in runs:
            assert AccountScore.objects.filter(run=run).count() == 8
            assert run_table_has_key(run) is True
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
