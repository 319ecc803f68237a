"""On PostgreSQL, scoring_accountscore becomes a table partitioned by run:
each run's scores move into a table of their own, attached as the partition
for the run's id (see scoring/score_tables.py). SQLite keeps the one table.

The SQL is written out here rather than imported, so that the migration
does what it did when it was written whatever the code becomes.
"""

from django.db import migrations

PARENT = "scoring_accountscore"
OLD = "scoring_accountscore_unpartitioned"


def _run_ids(cursor):
    cursor.execute("SELECT id FROM scoring_scoringrun ORDER BY id")
    return [row[0] for row in cursor.fetchall()]


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {PARENT} RENAME TO {OLD}")
        cursor.execute(f"ALTER INDEX {PARENT}_pkey RENAME TO {OLD}_pkey")
        cursor.execute(
            f"CREATE TABLE {PARENT} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
            "PARTITION BY LIST (run_id)"
        )
        for run_id in _run_ids(cursor):
            name = f"{PARENT}_r{int(run_id)}"
            cursor.execute(
                f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
            )
            cursor.execute(f"INSERT INTO {name} SELECT * FROM {OLD} WHERE run_id = %s", [run_id])
            cursor.execute(
                f"ALTER TABLE {name} ADD CONSTRAINT {name}_pkey PRIMARY KEY (account_id)"
            )
            cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES IN ({run_id})")
            cursor.execute(f"ANALYZE {name}")
        # Rows of runs that no longer exist are dropped with the old table.
        cursor.execute(f"DROP TABLE {OLD}")


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {OLD} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        cursor.execute(f"INSERT INTO {OLD} SELECT * FROM {PARENT}")
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        partitions = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"DROP TABLE {PARENT}")  # and its partitions
        for name in partitions:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"ALTER TABLE {OLD} RENAME TO {PARENT}")
        cursor.execute(
            f"ALTER TABLE {PARENT} ADD CONSTRAINT {PARENT}_pkey PRIMARY KEY (run_id, account_id)"
        )


class Migration(migrations.Migration):
    dependencies = [("scoring", "0005_change_numbers_on_score_rows")]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
