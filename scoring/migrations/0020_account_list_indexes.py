"""Indexes for the accounts list at a million accounts: its filters by
industry and country, on every database; on PostgreSQL its search by name
or domain (trigram indexes, pg_trgm) and the current runs' score indexes
(scoring.score_tables.indexes_build, which later runs build once current).

Not atomic: on PostgreSQL the trigram and score indexes are built
CONCURRENTLY, so accounts and scores keep being written meanwhile. The
industry and country indexes are plain CREATE INDEX (Django's AddIndex,
for every database): writes to the accounts wait for them, a few seconds
at a million accounts.
"""

from typing import Any

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models


class PostgresOnlyReverse:
    """For a CreateExtension, whose reverse asks pg_extension on any
    database: elsewhere than PostgreSQL both ways then do nothing."""

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(  # type: ignore[misc]
                app_label, schema_editor, from_state, to_state
            )


class PostgresTrigramExtension(PostgresOnlyReverse, TrigramExtension):
    pass


# The search's trigram indexes of this migration's time (0022 replaced them).
SEARCH_INDEXES = {"account_name_trgm": "name", "account_domain_trgm": "domain"}


def search_index_build(schema_editor: Any, index: str) -> None:
    """Built CONCURRENTLY: accounts keep being written meanwhile."""
    schema_editor.execute(
        f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{index}" ON "scoring_account" '
        f'USING gin ((UPPER("{SEARCH_INDEXES[index]}"::text)) gin_trgm_ops)'
    )


def search_indexes_build(apps: Any, schema_editor: Any) -> None:
    from scoring import score_tables

    if schema_editor.connection.vendor != "postgresql":
        return
    for index in SEARCH_INDEXES:
        search_index_build(schema_editor, index)
    current = apps.get_model("scoring", "ScoringRun").objects.filter(is_current=True)
    for run_id in current.values_list("pk", flat=True):
        # Those of its time: the later ones read columns added since (0021).
        score_tables.indexes_build(run_id, suffixes=("score", "tier_score"))


def search_indexes_drop(apps: Any, schema_editor: Any) -> None:
    from scoring import sql

    if schema_editor.connection.vendor != "postgresql":
        return
    for index in SEARCH_INDEXES:
        schema_editor.execute(*sql.index_drop(index))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("scoring", "0019_account_outcome_columns_removed"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="account",
            index=models.Index(fields=["industry_canonical", "id"], name="account_industry"),
        ),
        migrations.AddIndex(
            model_name="account",
            index=models.Index(fields=["country_canonical", "id"], name="account_country"),
        ),
        PostgresTrigramExtension(),
        migrations.RunPython(search_indexes_build, search_indexes_drop),
    ]
