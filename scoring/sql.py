"""Every hand-written SQL statement of scoring, and the means to compose them.

A statement is an `Sql` value: text with `%s` placeholders and the
parameters for them, in the order the placeholders stand in the text (the
pair Django's `as_sql` returns). `sql()` builds one from a template with
named fields: a field holding an `Sql` is written in with its parameters at
that place, any other value becomes one parameter. A parameter's place in
the text and its place in the list therefore cannot drift apart, and a value
used twice is simply named twice.

What is written into the text: SQL from this module, names of tables and
constraints (from the models' `_meta`, quoted by the database backend) and
integers the code computes. Everything else is a parameter, the values of
the apps' enumerations included.

The other modules decide which statement runs when; none holds SQL of its own.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import uuid4

from django.db import connection, transaction
from django.db.models import Model, QuerySet

from profiles.models import Trait
from scoring.engine import Ruleset, Tier
from scoring.models import (
    SCORE_ROW_COPIES,
    Account,
    AccountScore,
    ChangeClock,
    Deal,
    ScoringRun,
)

# --- Composing statements -----------------------------------------------------


@dataclass(frozen=True)
class Sql:
    """SQL text and its parameters, one for each `%s` in the text, in order."""

    text: str
    params: tuple[Any, ...] = ()

    def __add__(self, other: Sql) -> Sql:
        return Sql(self.text + other.text, self.params + other.params)

    def __iter__(self) -> Iterator[Any]:
        """(text, params), the pair `cursor.execute` and `sql_with_params` use."""
        return iter((self.text, self.params))

    def join(self, parts: Iterable[Sql]) -> Sql:
        """The parts with this one between each two, as `str.join`."""
        joined: Sql | None = None
        for part in parts:
            joined = part if joined is None else joined + self + part
        return joined or Sql("")


EMPTY = Sql("")

_TEMPLATE = string.Formatter()


def sql(template: str, /, **fields: Any) -> Sql:
    """The template with each `{name}` replaced by fields[name]: an `Sql` is
    written in with its parameters, any other value becomes a parameter.

    A template never holds `%` itself (a parameter is always named), and
    every field given must be used: a misspelt name fails here, not as a
    parameter count the database refuses.
    """
    text: list[str] = []
    params: list[Any] = []
    used: set[str] = set()
    for literal, name, spec, conversion in _TEMPLATE.parse(template):
        if "%" in literal:
            raise ValueError(f"Name the parameter as {{name}} instead of %: {template!r}")
        text.append(literal)
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"A field is a plain {{name}}, not {{{name}}}: {template!r}")
        if name not in fields:
            raise KeyError(f"No value for {{{name}}} in {template!r}")
        used.add(name)
        value = fields[name]
        if isinstance(value, Sql):
            text.append(value.text)
            params.extend(value.params)
        else:
            text.append("%s")
            params.append(value)
    unused = fields.keys() - used
    if unused:
        raise KeyError(f"{', '.join(sorted(unused))} not in {template!r}")
    return Sql("".join(text), tuple(params))


def name(identifier: str) -> Sql:
    """A table, column or constraint name, quoted for the database."""
    return Sql(connection.ops.quote_name(identifier))


def table(model: type[Model]) -> Sql:
    """The model's table, quoted."""
    return name(model._meta.db_table)


def integer(value: int) -> Sql:
    """An integer written into the text, where SQL takes no parameter (DDL)
    or where the planner should see the number (bit masks, points)."""
    return Sql(str(int(value)))


def of(queryset: QuerySet[Any]) -> Sql:
    """The SQL the ORM compiles for the queryset."""
    text, params = queryset.query.sql_with_params()
    return Sql(text, tuple(params))


def ordered(rows: Sql, order: Sequence[tuple[str, bool, bool]]) -> Sql:
    """The rows `rows` (a SELECT, a LIMIT inside it kept there) selects, in
    the order of `order`: per key, one of its columns, descending, nulls
    last."""
    keys = Sql(", ").join(
        sql(
            "m.{column}" + (" DESC" if descending else " ASC") + (" NULLS LAST" if last else ""),
            column=name(column),
        )
        for column, descending, last in order
    )
    return sql("SELECT * FROM ({rows}) m ORDER BY {keys}", rows=rows, keys=keys)


# --- Running statements --------------------------------------------------------


def _run(cursor: Any, statement: Sql) -> None:
    # Without parameters the text is sent as written (several statements may
    # then share one round trip).
    cursor.execute(statement.text, statement.params or None)


def execute(statement: Sql) -> int:
    """Run the statement; the rows it wrote."""
    with connection.cursor() as cursor:
        _run(cursor, statement)
        return int(cursor.rowcount)


def execute_many(statements: Sequence[Sql]) -> None:
    """Run statements of one text with their parameters, in one call
    (psycopg sends them in one pipeline)."""
    if not statements:
        return
    text = statements[0].text
    if any(s.text != text for s in statements):
        raise ValueError("execute_many runs one statement text with many parameters")
    with connection.cursor() as cursor:
        cursor.executemany(text, [s.params for s in statements])


def fetchall(statement: Sql) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        _run(cursor, statement)
        return [tuple(row) for row in cursor.fetchall()]


def fetchone(statement: Sql) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        _run(cursor, statement)
        row = cursor.fetchone()
        return None if row is None else tuple(row)


def fetchvalue(statement: Sql) -> Any:
    """The first column of the statement's one row (None without a row)."""
    row = fetchone(statement)
    return None if row is None else row[0]


@contextmanager
def scratch(select: Sql) -> Iterator[Sql]:
    """A table holding what `select` selects, for the length of the block
    (its quoted name), created and dropped inside one transaction, so no
    other connection ever sees it and it is gone with the transaction if
    the block fails.

    On PostgreSQL an UNLOGGED table rather than a TEMPORARY one: a
    temporary table lives in the connection's own memory, so no parallel
    worker may read it, and every statement over it ran in one process. At
    a million accounts, the suggestions' facts table filled in 0.41-0.48 s
    instead of 0.71-0.81 s and the statement summing every attribute's
    values over it took 0.69-0.70 s instead of 0.91-1.05 s (psql, the
    same database). Like a temporary table, an unlogged one writes no WAL.
    Unlike one, it needs CREATE on the schema, as the runs' score tables
    already do (scoring.score_tables)."""
    scratch_table = name(f"scratch_{uuid4().hex}")
    kind = Sql("UNLOGGED" if connection.vendor == "postgresql" else "TEMPORARY")
    with transaction.atomic():
        execute(
            sql("CREATE {kind} TABLE {t} AS {select}", kind=kind, t=scratch_table, select=select)
        )
        if connection.vendor == "postgresql":
            # Created in this transaction, autovacuum never sees it: without
            # this the planner would not know its rows.
            execute(sql("ANALYZE {t}", t=scratch_table))
        yield scratch_table
        execute(sql("DROP TABLE {t}", t=scratch_table))


# --- Tables ---------------------------------------------------------------------

# The stored scores' table (on PostgreSQL the parent of one table per run,
# see scoring.score_tables).
SCORES = AccountScore._meta.db_table


def partitioned() -> bool:
    """Whether each run's scores live in a table of their own."""
    return connection.vendor == "postgresql"


def scores_table_name(run_id: int | None) -> str:
    """The table that holds the run's scores (the shared table without a run)."""
    if run_id is None or not partitioned():
        return SCORES
    return f"{SCORES}_r{int(run_id)}"


def scores(run_id: int | None = None) -> Sql:
    """The run's scores table, quoted (the shared table without a run)."""
    return name(scores_table_name(run_id))


def accounts() -> Sql:
    return table(Account)


# --- A run's own scores table (scoring.score_tables) ----------------------------


def relation_exists(relation: str) -> Sql:
    return sql("SELECT to_regclass({relation}) IS NOT NULL", relation=relation)


def primary_key_exists(relation: str) -> Sql:
    return sql(
        "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = {relation}::regclass "
        "AND contype = {primary})",
        relation=relation,
        primary="p",
    )


def partition_attachment(relation: str) -> Sql:
    """Whether the table is attached: no row when not, else whether a
    concurrent detach is pending."""
    return sql(
        "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = {relation}::regclass",
        relation=relation,
    )


def partition_create(run_id: int) -> Sql:
    return sql(
        "CREATE TABLE {t} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)",
        t=scores(run_id),
        parent=scores(),
    )


def partition_attach(run_id: int) -> Sql:
    return sql(
        "ALTER TABLE {parent} ATTACH PARTITION {t} FOR VALUES IN ({run})",
        parent=scores(),
        t=scores(run_id),
        run=integer(run_id),
    )


def partition_detach(run_id: int, how: Literal["", "CONCURRENTLY", "FINALIZE"]) -> Sql:
    return sql(
        "ALTER TABLE {parent} DETACH PARTITION {t}{how}",
        parent=scores(),
        t=scores(run_id),
        how=Sql(f" {how}" if how else ""),
    )


def partition_truncate(run_id: int) -> Sql:
    return sql("TRUNCATE {t}", t=scores(run_id))


def partition_drop(run_id: int) -> Sql:
    return sql("DROP TABLE {t}", t=scores(run_id))


def partition_analyze(run_id: int) -> Sql:
    return sql("ANALYZE {t}", t=scores(run_id))


def partition_statistics_name(run_id: int) -> str:
    return f"{scores_table_name(run_id)}_tier_score_mcv"


def partition_statistics_create(run_id: int) -> Sql:
    """Statistics of the run's (tier, score) pairs together: a tier holds a
    band of scores, and the planner, which takes columns for independent,
    otherwise guessed a tier with a score range at a seventh of its rows
    (a disqualified tier at score 0: 13,000 of 97,000) and read it instead
    of a category's index."""
    return sql(
        "CREATE STATISTICS IF NOT EXISTS {stats} (mcv) ON tier, score FROM {t}",
        stats=name(partition_statistics_name(run_id)),
        t=scores(run_id),
    )


def _primary_key(run_id: int) -> Sql:
    return name(f"{scores_table_name(run_id)}_pkey")


def partition_key_drop(run_id: int) -> Sql:
    return sql(
        "ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {key}",
        t=scores(run_id),
        key=_primary_key(run_id),
    )


def index_build_memory(amount: str) -> Sql:
    """Memory for the index builds of the transaction."""
    return sql(
        "SELECT set_config({setting}, {amount}, true)",
        setting="maintenance_work_mem",
        amount=amount,
    )


def partition_key_build(run_id: int) -> Sql:
    """A run's table holds one run, so account_id alone identifies a row:
    a one-column key is built in two thirds of the time."""
    return sql(
        "ALTER TABLE {t} ADD CONSTRAINT {key} PRIMARY KEY (account_id)",
        t=scores(run_id),
        key=_primary_key(run_id),
    )


# The accounts list's search (name or domain `icontains`, which PostgreSQL
# runs as UPPER(column) LIKE UPPER('%...%')) reads these trigram indexes
# instead of the base. Each is led by the canonical industry and country
# (btree_gin), so a word searched within an industry or a country is one
# scan of one index: an industry's own index gave a bitmap of its every
# account (220,000 at a million) to intersect with the word's. A search
# alone reads the trigrams only, as GIN reads any of an index's columns.
# Index name -> column.
ACCOUNT_SEARCH_INDEXES = {"account_name_search": "name", "account_domain_search": "domain"}
ACCOUNT_SEARCH_LEADING = ("industry_canonical", "country_canonical")


def account_search_index_build(index: str) -> Sql:
    """Built CONCURRENTLY: accounts keep being written meanwhile."""
    return sql(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {t} "
        "USING gin ({leading}, (UPPER({column}::text)) gin_trgm_ops)",
        index=name(index),
        t=accounts(),
        leading=Sql(", ").join(name(c) for c in ACCOUNT_SEARCH_LEADING),
        column=name(ACCOUNT_SEARCH_INDEXES[index]),
    )


def index_drop(index: str, how: Literal["", "CONCURRENTLY"] = "") -> Sql:
    """CONCURRENTLY: without locking out the table's reads and writes
    meanwhile (outside a transaction only)."""
    return sql("DROP INDEX {how} IF EXISTS {index}", how=Sql(how), index=name(index))


# A run's indexes for the accounts list, beside its primary key: by score
# (and account, so a page sorted by score reads its rows in order, ties
# included), by tier then score (a page of one tier) and by the account's
# industry or country then score (a page of one, from the rows' copies,
# AccountScore). Name -> columns.
PARTITION_INDEXES = {
    "score": "score, account_id",
    "tier_score": "tier, score, account_id",
    "industry_score": "industry_canonical, score, account_id",
    "country_score": "country_canonical, score, account_id",
}


def partition_index_names(run_id: int) -> list[str]:
    return [f"{scores_table_name(run_id)}_{suffix}" for suffix in PARTITION_INDEXES]


def indexes_invalid(names: Sequence[str]) -> Sql:
    """Which of the named indexes a failed concurrent build left invalid."""
    return sql(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = ANY({names}) AND NOT i.indisvalid",
        names=list(names),
    )


def partition_index_build(run_id: int, suffix: str, how: Literal["", "CONCURRENTLY"]) -> Sql:
    return sql(
        "CREATE INDEX{how} IF NOT EXISTS {index} ON {t} ({columns})",
        how=Sql(f" {how}" if how else ""),
        index=name(f"{scores_table_name(run_id)}_{suffix}"),
        t=scores(run_id),
        columns=Sql(PARTITION_INDEXES[suffix]),
    )


def scores_delete(run_id: int) -> Sql:
    """Every score of the run, in the shared table."""
    return sql("DELETE FROM {t} WHERE run_id = {run}", t=scores(), run=run_id)


# --- Scoring in the database (scoring.expressions) ------------------------------


def _raw(mask: Sql, ruleset: Ruleset) -> Sql:
    """The points earned, or -1 when a disqualifier matched, read from the
    matched mask: each rule's condition is evaluated once, for the mask, and
    never again for the score."""
    dq_bits = sum(1 << i for i, rule in enumerate(ruleset.rules) if rule.disqualifier)
    terms = [
        sql(
            "(CASE WHEN ({mask} & {bit}) <> 0 THEN {points} ELSE 0 END)",
            mask=mask,
            bit=integer(1 << i),
            points=integer(rule.points),
        )
        for i, rule in enumerate(ruleset.rules)
        if not rule.disqualifier and rule.points
    ]
    points = Sql(" + ").join(terms) if terms else Sql("0")
    if not dq_bits:
        return points
    return sql(
        "CASE WHEN ({mask} & {dq}) <> 0 THEN -1 ELSE {points} END",
        mask=mask,
        dq=integer(dq_bits),
        points=points,
    )


def _score(raw: Sql) -> Sql:
    """The 0-100 score from a raw column."""
    return sql("CASE WHEN {raw} < 0 THEN 0 WHEN {raw} > 100 THEN 100 ELSE {raw} END", raw=raw)


def _tier(raw: Sql, ruleset: Ruleset) -> Sql:
    """The tier from a raw column."""
    return sql(
        "CASE WHEN {raw} < 0 THEN {dq} WHEN {raw} >= {a} THEN {tier_a} "
        "WHEN {raw} >= {b} THEN {tier_b} ELSE {tier_c} END",
        raw=raw,
        a=integer(ruleset.thresholds.a),
        b=integer(ruleset.thresholds.b),
        dq=Tier.DQ.value,
        tier_a=Tier.A.value,
        tier_b=Tier.B.value,
        tier_c=Tier.C.value,
    )


def _fenced(select: Sql) -> Sql:
    """A subquery the planner will not flatten, so the score CASE runs once
    per row rather than once per outer reference (PostgreSQL inlined it up
    to three times)."""
    if connection.vendor == "sqlite":
        return select + Sql(" LIMIT -1 OFFSET 0")
    return select + Sql(" OFFSET 0")


def _copies(alias: str) -> Sql:
    """The score rows' copies of the account's columns (SCORE_ROW_COPIES),
    read from `alias`, each as its own name."""
    return Sql(", ").join(sql("{a}.{c} AS {c}", a=Sql(alias), c=name(c)) for c in SCORE_ROW_COPIES)


def scores_select(matches: Sql, ruleset: Ruleset) -> Sql:
    """SELECT account_id, score, tier, matched and the copies of the
    account's columns (SCORE_ROW_COPIES) from `matches`, a SELECT of each
    account's id, matched mask and those columns.

    Layered, each layer fenced: the raw points read from the mask's bits,
    then score and tier from the raw points.
    """
    with_raw = sql(
        "SELECT m.id, m.matched, {copies}, {raw} AS raw FROM ({matches}) m",
        copies=_copies("m"),
        raw=_raw(Sql("m.matched"), ruleset),
        matches=_fenced(matches),
    )
    return sql(
        "SELECT s.id AS account_id, {score} AS score, {tier} AS tier, s.matched AS matched, "
        "{copies} FROM ({with_raw}) s",
        score=_score(Sql("s.raw")),
        tier=_tier(Sql("s.raw"), ruleset),
        copies=_copies("s"),
        with_raw=_fenced(with_raw),
    )


# --- A run's scores (scoring.services) -----------------------------------------


def chunk_settings() -> Sql:
    """For the chunk's transaction: its commit need not wait for the WAL to
    reach the disk, no JIT, and room to hold its rows (see services)."""
    return Sql(
        "SET LOCAL synchronous_commit = off; SET LOCAL jit = off; SET LOCAL work_mem = '32MB'"
    )


def clock_share(profile_id: int) -> Sql:
    """The profile's change counter, held in shared mode."""
    return sql(
        "SELECT 1 FROM {clocks} WHERE profile_id = {profile} FOR SHARE",
        clocks=table(ChangeClock),
        profile=profile_id,
    )


_SAME = Sql("p.score = n.score AND p.tier = n.tier AND p.matched = n.matched")
_COPIES = Sql(", ").join(name(c) for c in SCORE_ROW_COPIES)
_COLUMNS = Sql("run_id, account_id, score, tier, matched, changed_seq, changed_at, ") + _COPIES


def _up_to(column: str, high: int | None) -> Sql:
    return EMPTY if high is None else sql(" AND {column} <= {high}", column=Sql(column), high=high)


def _compared(select: Sql, previous: ScoringRun | None, low: int, high: int | None) -> Sql:
    """The new scores beside the account's row in `previous`: when score,
    tier and matched criteria are the same the row keeps that row's change
    number and time, otherwise they are NULL ("changed by this run")."""
    return sql(
        "SELECT n.account_id, n.score, n.tier, n.matched, p.tier AS previous_tier, "
        "CASE WHEN {same} THEN COALESCE(p.changed_seq, {seq}) END AS changed_seq, "
        "CASE WHEN {same} THEN COALESCE(p.changed_at, {at}) END AS changed_at, {copies} "
        "FROM ({select}) n LEFT JOIN {earlier} p ON p.run_id = {previous} "
        # The id range again, on the previous run's rows: PostgreSQL does not
        # carry it through the subquery and would read that whole run.
        "AND p.account_id = n.account_id AND p.account_id >= {low}{up_to}",
        same=_SAME,
        copies=_copies("n"),
        seq=previous.feed_seq if previous else None,
        at=previous.finished_at if previous else None,
        select=select,
        earlier=scores(previous.pk if previous else None),
        previous=previous.pk if previous else 0,
        low=low,
        up_to=_up_to("p.account_id", high),
    )


def _insert_scored(run_id: int) -> Sql:
    return sql(
        "INSERT INTO {t} ({columns}) "
        "SELECT {run}, account_id, score, tier, matched, changed_seq, changed_at, {copies} "
        "FROM scored",
        t=scores(run_id),
        columns=_COLUMNS,
        run=run_id,
        copies=_COPIES,
    )


def scores_write_tallied(
    run_id: int, select: Sql, previous: ScoringRun | None, low: int, high: int | None
) -> Sql:
    """Write the run's scores from `select` (ids low..high) and count the
    written rows by (tier, previous tier), from one scan (PostgreSQL)."""
    return sql(
        "WITH scored AS MATERIALIZED ({compared}), written AS ({insert}) "
        "SELECT tier, previous_tier, COUNT(*) FROM scored GROUP BY tier, previous_tier",
        compared=_compared(select, previous, low, high),
        insert=_insert_scored(run_id),
    )


def scores_write(
    run_id: int, select: Sql, previous: ScoringRun | None, low: int, high: int | None
) -> Sql:
    """Write the run's scores from `select` (ids low..high); scores_tally counts them."""
    return sql(
        "WITH scored AS ({compared}) {insert}",
        compared=_compared(select, previous, low, high),
        insert=_insert_scored(run_id),
    )


def scores_tally(run_id: int, previous_id: int | None, low: int, high: int | None) -> Sql:
    """The run's rows with ids low..high, counted by (tier, previous tier)."""
    return sql(
        "SELECT n.tier, p.tier, COUNT(*) FROM {t} n LEFT JOIN {earlier} p "
        "ON p.run_id = {previous} AND p.account_id = n.account_id "
        "WHERE n.run_id = {run} AND n.account_id >= {low}{up_to} GROUP BY n.tier, p.tier",
        t=scores(run_id),
        earlier=scores(previous_id),
        previous=previous_id or 0,
        run=run_id,
        low=low,
        up_to=_up_to("n.account_id", high),
    )


def scores_mark_changed_by_run(run_id: int, account_ids: Iterable[int]) -> list[Sql]:
    """One statement per account, each naming the whole primary key."""
    return [
        sql(
            "UPDATE {t} SET changed_seq = NULL, changed_at = NULL "
            "WHERE run_id = {run} AND account_id = {account}",
            t=scores(run_id),
            run=run_id,
            account=account_id,
        )
        for account_id in account_ids
    ]


def scores_upsert(run_id: int, select: Sql, seq: int, at: datetime) -> Sql:
    """Write the scores from `select` into the run; a row already there is
    replaced only where score, tier or matched criteria differ. Written rows
    get change number `seq` and time `at`. (A row whose copies of the
    account's columns alone differ is scores_copies_refresh's.)"""
    t = scores(run_id)
    changing = ("score", "tier", "matched", "changed_seq", "changed_at", *SCORE_ROW_COPIES)
    # A run's own table is keyed by account_id alone (see partition_key_build).
    key = Sql("account_id" if partitioned() else "run_id, account_id")
    return sql(
        "INSERT INTO {t} ({columns}) "
        "SELECT {run}, account_id, score, tier, matched, {seq}, {at}, {copies} "
        "FROM ({select}) scored WHERE 1 = 1 "  # WHERE: SQLite's upsert grammar
        "ON CONFLICT ({key}) DO UPDATE SET {assign} WHERE {differs}",
        t=t,
        columns=_COLUMNS,
        run=run_id,
        seq=seq,
        at=at,
        copies=_COPIES,
        select=select,
        key=key,
        assign=Sql(", ").join(sql("{c} = excluded.{c}", c=Sql(c)) for c in changing),
        differs=Sql(" OR ").join(
            sql("{t}.{c} <> excluded.{c}", t=t, c=Sql(c)) for c in ("score", "tier", "matched")
        ),
    )


def scores_copies_refresh(run_id: int, ids: Sql | None = None) -> Sql:
    """Bring the run's rows' copies of the account's columns
    (SCORE_ROW_COPIES) in step with the accounts, where they differ, for
    the accounts whose ids `ids` selects (every account without it). Score,
    tier and change number stay: the copies are not what a row says."""
    t = scores(run_id)
    only = EMPTY if ids is None else sql(" AND a.id IN ({ids})", ids=ids)
    return sql(
        "UPDATE {t} SET {assign} FROM {accounts} a "
        "WHERE {t}.run_id = {run} AND {t}.account_id = a.id{only} AND ({differs})",
        t=t,
        assign=Sql(", ").join(sql("{c} = a.{c}", c=name(c)) for c in SCORE_ROW_COPIES),
        accounts=accounts(),
        run=run_id,
        only=only,
        differs=Sql(" OR ").join(sql("{t}.{c} <> a.{c}", t=t, c=name(c)) for c in SCORE_ROW_COPIES),
    )


# --- Impact preview (scoring.preview) ------------------------------------------


def preview_pairs(draft: Sql, live_run_id: int) -> Sql:
    """Each account's draft score and tier beside its live ones (NULL when
    the live run has not scored it)."""
    return sql(
        "SELECT d.account_id, d.score AS draft_score, d.tier AS draft_tier, "
        "l.score AS live_score, l.tier AS live_tier FROM ({draft}) d "
        "LEFT JOIN {scores} l ON l.account_id = d.account_id AND l.run_id = {run}",
        draft=draft,
        scores=scores(),
        run=live_run_id,
    )


def preview_movement(pairs: Sql) -> Sql:
    """(live tier, draft tier, accounts) over the pairs table."""
    return sql(
        "SELECT live_tier, draft_tier, COUNT(*) FROM {pairs} GROUP BY live_tier, draft_tier",
        pairs=pairs,
    )


def preview_movers(pairs: Sql, limit: int) -> Sql:
    """The accounts whose tier moves, largest score change first."""
    return sql(
        "SELECT p.account_id, a.name, p.live_score, p.live_tier, p.draft_score, p.draft_tier "
        "FROM {pairs} p JOIN {accounts} a ON a.id = p.account_id "
        "WHERE p.live_tier <> p.draft_tier "
        "ORDER BY ABS(p.draft_score - p.live_score) DESC, a.name, p.account_id LIMIT {limit}",
        pairs=pairs,
        accounts=accounts(),
        limit=limit,
    )


# --- Imports (scoring.ingest) ---------------------------------------------------


def accounts_copy(columns: Iterable[str]) -> Sql:
    """COPY into the accounts table from the client (PostgreSQL)."""
    return sql(
        "COPY {t} ({columns}) FROM STDIN",
        t=accounts(),
        columns=Sql(", ").join(name(c) for c in columns),
    )


def traits_key_share(keys: Sequence[str]) -> Sql:
    """The key and type of the traits named, held in key-share mode until the
    transaction ends (PostgreSQL): imports hold them side by side, a label
    change goes ahead, and a type change or a removal, which takes the row
    FOR UPDATE, waits or is refused (scoring.traits)."""
    return sql(
        "SELECT key, type FROM {traits} WHERE key = ANY({keys}) FOR KEY SHARE",
        traits=table(Trait),
        keys=list(keys),
    )


def accounts_analyze() -> Sql:
    """Fresh planner statistics for the accounts table (PostgreSQL)."""
    return sql("ANALYZE {t}", t=accounts())


def rows_update(model: type[Model], columns: Sequence[str], rows: str) -> Sql:
    """One UPDATE of many rows of `model` (PostgreSQL) from `rows`, a JSON
    array of objects holding each row's id and its new values of `columns`;
    the database reads each value as its column's type
    (json_populate_recordset), so the statement has one parameter however
    many rows it writes."""
    return sql(
        "UPDATE {t} AS a SET {assignments} "
        "FROM json_populate_recordset(NULL::{t}, {rows}::json) AS v WHERE a.id = v.id",
        t=table(model),
        assignments=Sql(", ").join(sql("{c} = v.{c}", c=name(c)) for c in columns),
        rows=rows,
    )


# --- The demo's deal histories (demo.accounts) -------------------------------


def deals() -> Sql:
    return table(Deal)


def deals_stage(stage: str, columns: Sequence[str]) -> Sql:
    """An empty temporary table with the deals' `columns` and
    `account_external_id` (the account's external id) for COPY to fill
    (PostgreSQL): deals arrive named by their account's CRM id. Dropped at
    commit at the latest (stage_drop drops it sooner)."""
    return sql(
        "CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
        "SELECT a.external_id AS account_external_id, {columns} "
        "FROM {deals} d JOIN {accounts} a ON a.id = d.account_id WITH NO DATA",
        stage=name(stage),
        columns=Sql(", ").join(sql("d.{c}", c=name(c)) for c in columns),
        deals=deals(),
        accounts=accounts(),
    )


def stage_copy(stage: str, columns: Iterable[str]) -> Sql:
    """COPY into a staging table from the client (PostgreSQL)."""
    return sql(
        "COPY {t} ({columns}) FROM STDIN",
        t=name(stage),
        columns=Sql(", ").join(name(c) for c in ["account_external_id", *columns]),
    )


def deals_from_stage(stage: str, columns: Sequence[str], at: datetime) -> Sql:
    """The staged deals into the deals table, each joined to its account by
    external id; created and updated `at`."""
    names = Sql(", ").join(name(c) for c in columns)
    return sql(
        "INSERT INTO {deals} (account_id, {names}, created_at, updated_at) "
        "SELECT a.id, {staged}, {at}, {at} FROM {stage} s "
        "JOIN {accounts} a ON a.external_id = s.account_external_id",
        deals=deals(),
        names=names,
        staged=Sql(", ").join(sql("s.{c}", c=name(c)) for c in columns),
        at=at,
        stage=name(stage),
        accounts=accounts(),
    )


def stage_drop(stage: str) -> Sql:
    return sql("DROP TABLE {t}", t=name(stage))


def deals_analyze() -> Sql:
    """Fresh planner statistics for the deals table (PostgreSQL)."""
    return sql("ANALYZE {t}", t=deals())
