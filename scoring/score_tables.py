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

from collections.abc import Collection
from typing import Any, Literal

from django.db import connection, transaction

from scoring import sql

PARENT = sql.SCORES

# Memory for building a run's primary key, a sort of all its rows: a million
# rows fit in about 50 MB, so the sort never spills to disk.
INDEX_BUILD_MEMORY = "256MB"


def table(run_id: int | None) -> str:
    """The table that holds the run's scores (the shared table without a run)."""
    return sql.scores_table_name(run_id)


def create(run_id: int) -> None:
    """Give a new run its empty table, with its primary key.

    The table is made on its own and then attached: attaching locks the
    parent only against other schema changes, while creating a partition in
    place would lock out every reader until the caller's transaction ends.
    """
    if not sql.partitioned():
        return
    name = table(run_id)
    if sql.fetchvalue(sql.relation_exists(name)):
        # Left behind with its run id in use again: by a test database's
        # flush, which empties tables but keeps them, or by a drop that
        # stopped between detaching the table and dropping it.
        sql.execute(sql.partition_truncate(run_id))
    else:
        sql.execute(sql.partition_create(run_id))
    key_build(run_id)
    if _attachment(name) is None:
        sql.execute(sql.partition_attach(run_id))


def _attachment(name: str) -> bool | None:
    """None when the table is not attached to the parent, else whether an
    interrupted concurrent detach left it pending."""
    row = sql.fetchone(sql.partition_attachment(name))
    return None if row is None else bool(row[0])


def clear(run_id: int) -> None:
    """Remove every score of the run."""
    if sql.partitioned():
        sql.execute(sql.partition_truncate(run_id))
    else:
        sql.execute(sql.scores_delete(run_id))


def key_drop(run_id: int) -> None:
    """Drop the run's primary key, and any list index a table left behind
    holds, before its chunks write (see the module)."""
    if sql.partitioned():
        sql.execute(sql.partition_key_drop(run_id))
        for index in sql.partition_index_names(run_id):
            sql.execute(sql.index_drop(index))


def indexes_build(run_id: int, suffixes: Collection[str] = tuple(sql.PARTITION_INDEXES)) -> None:
    """Build the run's indexes for the accounts list (sql.PARTITION_INDEXES,
    or those of them named by `suffixes`) where missing: a page sorted by
    score, or of one tier or one category, reads its rows through them
    instead of sorting the whole run.

    Built once the run is current (the pruning task), not by the chunks or
    the flip: like the primary key they would slow the writing, and they
    took 0.6 and 1.2 s at a million rows. Outside a transaction they are
    built CONCURRENTLY, so ingest keeps writing scores into the run
    meanwhile; an index a failed concurrent build left invalid is built
    again.
    """
    if not sql.partitioned() or not sql.fetchvalue(sql.relation_exists(table(run_id))):
        return
    for (invalid,) in sql.fetchall(sql.indexes_invalid(sql.partition_index_names(run_id))):
        sql.execute(sql.index_drop(invalid))
    how: Literal["", "CONCURRENTLY"] = "" if connection.in_atomic_block else "CONCURRENTLY"
    for suffix in suffixes:
        sql.execute(sql.partition_index_build(run_id, suffix, how))


def key_build(run_id: int) -> None:
    """Build the run's primary key if it has none; fails on a duplicate row."""
    if not sql.partitioned() or sql.fetchvalue(sql.primary_key_exists(table(run_id))):
        return
    sql.execute(sql.index_build_memory(INDEX_BUILD_MEMORY))
    sql.execute(sql.partition_key_build(run_id))


def drop(run_id: int) -> None:
    """Remove the run's scores and, on PostgreSQL, its table.

    Outside a transaction the table is detached CONCURRENTLY, so readers of
    the other runs are never locked out; inside one (tests, the demo's
    reset) it is detached plainly, which holds the parent until commit.
    """
    if not sql.partitioned():
        clear(run_id)
        return
    name = table(run_id)
    if not sql.fetchvalue(sql.relation_exists(name)):
        return
    pending = _attachment(name)
    if pending is not None:
        if pending:  # an earlier concurrent detach was interrupted
            sql.execute(sql.partition_detach(run_id, "FINALIZE"))
        elif connection.in_atomic_block:
            sql.execute(sql.partition_detach(run_id, ""))
        else:
            sql.execute(sql.partition_detach(run_id, "CONCURRENTLY"))
    sql.execute(sql.partition_drop(run_id))


def analyze(run_id: int) -> None:
    """Let PostgreSQL's planner see a run's rows now rather than when
    autovacuum gets to them, tiers and scores together
    (sql.partition_statistics_create); pages filter and join on them."""
    if sql.partitioned():
        sql.execute(sql.partition_statistics_create(run_id))
        sql.execute(sql.partition_analyze(run_id))


def on_run_deleted(*, instance: Any, **_: Any) -> None:
    """post_delete of a run, when a profile's deletion takes its runs along:
    their tables go once that commits (runs_delete drops them itself)."""
    run_id = instance.pk
    transaction.on_commit(lambda: drop(run_id))
