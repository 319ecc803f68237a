"""Where a run's scores are stored.

On PostgreSQL `scoring_accountscore` is partitioned by run: each run writes
into a table of its own, `scoring_accountscore_r<run id>`, attached as the
partition for its id. Readers query the parent as one table (a query naming
a run reads only that run's partition).

Why: a run writes a row for every account at once. Into a table of its own
it writes them without a primary key index and builds the index in one
sorted pass once all rows are in (the run's finish): keeping the index up to
date row by row was more than half the cost of the writing. And a pruned run
is a dropped table instead of a million deleted rows for VACUUM to clean up.

On SQLite all runs share the one table, with its primary key throughout;
the functions here then only name that table or delete rows.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from scoring.models import AccountScore

PARENT = AccountScore._meta.db_table

# Memory for building a run's primary key, a sort of all its rows: a million
# rows fit in about 50 MB, so the sort never spills to disk.
INDEX_BUILD_MEMORY = "256MB"


def key() -> str:
    """The columns of a run's primary key, as ON CONFLICT names them. A
    run's own table holds one run, so account_id alone identifies a row:
    a one-column key is built in two thirds of the time."""
    return "account_id" if _partitioned() else "run_id, account_id"


def _partitioned() -> bool:
    return connection.vendor == "postgresql"


def table(run_id: int | None) -> str:
    """The table that holds the run's scores (the shared table without a run)."""
    if run_id is None or not _partitioned():
        return PARENT
    return f"{PARENT}_r{int(run_id)}"


def _exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return bool(cursor.fetchone()[0])


def _has_key(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'p')",
            [name],
        )
        return bool(cursor.fetchone()[0])


def create(run_id: int) -> None:
    """Give a new run its empty table, with its primary key.

    The table is made on its own and then attached: attaching locks the
    parent only against other schema changes, while creating a partition in
    place would lock out every reader until the caller's transaction ends.
    """
    if not _partitioned():
        return
    name = table(run_id)
    with connection.cursor() as cursor:
        if _exists(name):
            # Left behind with its run id in use again: by a test database's
            # flush, which empties tables but keeps them, or by a drop that
            # stopped between detaching the table and dropping it.
            cursor.execute(f"TRUNCATE {name}")
        else:
            cursor.execute(
                f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
            )
        key_build(run_id)
        if _attachment(name) is None:
            cursor.execute(
                f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES IN ({int(run_id)})"
            )


def _attachment(name: str) -> bool | None:
    """None when the table is not attached to the parent, else whether an
    interrupted concurrent detach left it pending."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = %s::regclass", [name]
        )
        row = cursor.fetchone()
        return None if row is None else bool(row[0])


def clear(run_id: int) -> None:
    """Remove every score of the run."""
    with connection.cursor() as cursor:
        if _partitioned():
            cursor.execute(f"TRUNCATE {table(run_id)}")
        else:
            cursor.execute(f"DELETE FROM {PARENT} WHERE run_id = %s", [run_id])  # noqa: S608


def key_drop(run_id: int) -> None:
    """Drop the run's primary key before its chunks write (see the module)."""
    if _partitioned():
        name = table(run_id)
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT IF EXISTS {name}_pkey")


def key_build(run_id: int) -> None:
    """Build the run's primary key if it has none; fails on a duplicate row."""
    if not _partitioned():
        return
    name = table(run_id)
    if _has_key(name):
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [INDEX_BUILD_MEMORY])
        cursor.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_pkey PRIMARY KEY (account_id)")


def drop(run_id: int) -> None:
    """Remove the run's scores and, on PostgreSQL, its table.

    Outside a transaction the table is detached CONCURRENTLY, so readers of
    the other runs are never locked out; inside one (tests, the demo's
    reset) it is detached plainly, which holds the parent until commit.
    """
    if not _partitioned():
        clear(run_id)
        return
    name = table(run_id)
    if not _exists(name):
        return
    pending = _attachment(name)
    with connection.cursor() as cursor:
        if pending is not None:
            how = "" if connection.in_atomic_block else " CONCURRENTLY"
            if pending:  # an earlier concurrent detach was interrupted
                how = " FINALIZE"
            cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {name}{how}")
        cursor.execute(f"DROP TABLE {name}")


def analyze(run_id: int) -> None:
    """Let PostgreSQL's planner see a run's rows now rather than when
    autovacuum gets to them; pages filter and join on them."""
    if _partitioned():
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table(run_id)}")


def on_run_deleted(sender: type, instance: Any, **kwargs: Any) -> None:
    """post_delete of a run, when a profile's deletion takes its runs along:
    their tables go once that commits (runs_delete drops them itself)."""
    run_id = instance.pk
    transaction.on_commit(lambda: drop(run_id))
