"""Every hand-written SQL statement of attribute lift and of the
suggestions' pattern rows, composed with scoring.sql's `sql()` under its
rules (names and integers in the text, every other value a parameter).

Lift is three steps. `account_outcomes` reads the deals, churn and
accepted overrides once, into one row per account that has any of them (a
scratch table, `o` below). Those accounts' grouping values, a column per
attribute, go into a second (the "facts" table, see lift.facts_of). One
GROUP BY then sums the outcomes per value of every attribute ("keyed": a
SELECT of id, value per attribute).

Pattern rows (patterns.py) group facts rows by their matched mask and a
group per probed attribute (category_group, number_group, list_group), in
two steps (pattern_counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import connection

from profiles.attributes import LIST_SEPARATOR
from reviews.models import NOT_A_FIT_TIER, TIERS, ClaimedTier, Override, OverrideStatus
from reviews.sql import churned_accounts, churned_inside, customer, per_account_deals
from scoring.models import Deal, DealState
from scoring.sql import Sql, integer, sql, table

# A tier's rank: a claim ranking above the tier the score gave claims a higher tier.
TIER_RANK = {tier: len(TIERS) - i for i, tier in enumerate(TIERS)}


def _rank(column: Sql) -> Sql:
    """The rank of the tier in `column` (NULL for no tier)."""
    whens = Sql(" ").join(
        sql("WHEN {tier} THEN {rank}", tier=tier, rank=integer(rank))
        for tier, rank in TIER_RANK.items()
    )
    return sql("CASE {column} {whens} END", column=column, whens=whens)


def override_claims(profile_id: int, since: Any, until: Any) -> Sql:
    """Per account: the profile's overrides accepted inside the window that
    claim a higher tier than the score gave, and those that claim a lower
    one ("not a fit" claims DQ)."""
    claimed = sql(
        "CASE WHEN o.claimed_tier = {not_a_fit} THEN {not_a_fit_tier} ELSE o.claimed_tier END",
        not_a_fit=ClaimedTier.NOT_A_FIT.value,
        not_a_fit_tier=NOT_A_FIT_TIER,
    )
    claimed_rank, machine_rank = _rank(claimed), _rank(Sql("o.machine_tier"))
    return sql(
        "SELECT o.account_id, "
        "SUM(CASE WHEN {claimed} > {machine} THEN 1 ELSE 0 END) AS claimed_higher, "
        "SUM(CASE WHEN {claimed} < {machine} THEN 1 ELSE 0 END) AS claimed_lower "
        "FROM {overrides} o WHERE o.profile_id = {profile} AND o.status = {accepted} "
        "AND o.reviewed_at >= {since} AND o.reviewed_at < {until} GROUP BY o.account_id",
        claimed=claimed_rank,
        machine=machine_rank,
        overrides=table(Override),
        profile=profile_id,
        accepted=OverrideStatus.ACCEPTED.value,
        since=since,
        until=until,
    )


def account_outcomes(profile_id: int, since: Any, until: Any) -> Sql:
    """One row per account with a closed deal (before `until`), a churn or
    an override accepted in the window: account_id; closed (1 when it closed
    a deal in the window, else 0); deals won and lost in the window, the won
    amount in the reporting currency and the won deals it is known for;
    customer and churned (reviews.sql's definitions, 1 or 0); and the
    accepted overrides claiming a higher and a lower tier."""
    return sql(
        "WITH d AS ({deals}), c AS ({churned_accounts}), v AS ({claims}) "
        "SELECT e.account_id, "
        "CASE WHEN COALESCE(d.won, 0) + COALESCE(d.lost, 0) > 0 THEN 1 ELSE 0 END AS closed, "
        "COALESCE(d.won, 0) AS won, COALESCE(d.lost, 0) AS lost, "
        "COALESCE(d.won_amount, 0) AS won_amount, COALESCE(d.won_priced, 0) AS won_priced, "
        "{customer} AS customer, {churned} AS churned, "
        "COALESCE(v.claimed_higher, 0) AS claimed_higher, "
        "COALESCE(v.claimed_lower, 0) AS claimed_lower "
        "FROM (SELECT account_id FROM d UNION SELECT id FROM c UNION SELECT account_id FROM v) e "
        "LEFT JOIN d ON d.account_id = e.account_id LEFT JOIN c ON c.id = e.account_id "
        "LEFT JOIN v ON v.account_id = e.account_id",
        deals=per_account_deals(since, None, until),
        churned_accounts=churned_accounts(),
        claims=override_claims(profile_id, since, until),
        customer=customer(since),
        churned=churned_inside(since, until),
    )


def outcome_accounts(outcomes: Sql, *, closed_only: bool = False) -> Sql:
    """The ids of the accounts in the outcomes table (only those that closed
    a deal in the window, when `closed_only`)."""
    where = Sql(" WHERE closed = 1") if closed_only else Sql("")
    return sql("SELECT account_id FROM {o}{where}", o=outcomes, where=where)


def among(select: Sql, ids: Sql) -> Sql:
    """The rows of `select` (which has an id column) whose id `ids` selects."""
    return sql("SELECT * FROM ({select}) r WHERE r.id IN ({ids})", select=select, ids=ids)


_SUMS = Sql(
    "SUM(o.closed), SUM(o.won), SUM(o.lost), SUM(o.won_amount), SUM(o.won_priced), "
    "SUM(o.customer), SUM(o.churned), SUM(o.claimed_higher), SUM(o.claimed_lower)"
)


def base_outcomes(outcomes: Sql) -> Sql:
    """The sums over every account in the outcomes table (the base rates)."""
    return sql("SELECT {sums} FROM {o} o", sums=_SUMS, o=outcomes)


def values_outcomes(outcomes: Sql, keyed: Sequence[tuple[int, Sql]]) -> Sql:
    """Per (index, value as text) of each (index, keyed), keyed a SELECT of
    id, value (an account may have several values, or a NULL one): the
    sums over its accounts' outcomes. One statement for every attribute."""
    union = Sql(" UNION ALL ").join(
        sql(
            "SELECT {i} AS a, k.id, CAST(k.value AS TEXT) AS value FROM ({keyed}) k",
            i=integer(i),
            keyed=select,
        )
        for i, select in keyed
    )
    return sql(
        "SELECT k.a, k.value, {sums} FROM {o} o JOIN ({union}) k ON k.id = o.account_id "
        "GROUP BY k.a, k.value",
        sums=_SUMS,
        o=outcomes,
        union=union,
    )


# --- Keyed by one attribute, from the facts table (lift._facts) ---------------------


def facts_column(facts: Sql, column: Sql) -> Sql:
    """(id, value) with the value the facts table holds in `column`."""
    return sql("SELECT id, {column} AS value FROM {facts}", column=column, facts=facts)


def quantile_cuts(outcomes: Sql, facts: Sql, column: Sql, tiles: int) -> Sql:
    """(tile, least value) of the known values in `column` of the accounts
    that closed a deal in the window, cut into `tiles` groups of nearly
    equal size in value order."""
    return sql(
        "SELECT tile, MIN(value) FROM (SELECT f.{column} AS value, "
        "NTILE({tiles}) OVER (ORDER BY f.{column}) AS tile FROM {facts} f "
        "JOIN {o} o ON o.account_id = f.id WHERE o.closed = 1 AND f.{column} IS NOT NULL) t "
        "GROUP BY tile ORDER BY tile",
        column=column,
        tiles=integer(tiles),
        facts=facts,
        o=outcomes,
    )


def bucketed(facts: Sql, column: Sql, edges: Sequence[tuple[int, Decimal]]) -> Sql:
    """(id, bucket) for the number in `column`: the index of the highest
    edge (index, low) it is at least, 0 below them all, NULL when unknown.
    "At least" compares as the scoring engine's `gte` does, as decimals."""
    whens = Sql(" ").join(
        sql(
            "WHEN {column} >= CAST({low} AS NUMERIC) THEN {index}",
            column=column,
            low=str(low),
            index=integer(index),
        )
        for index, low in sorted(edges, reverse=True)
    )
    return sql(
        "SELECT id, CASE {whens} WHEN {column} IS NOT NULL THEN 0 END AS value FROM {facts}",
        whens=whens,
        column=column,
        facts=facts,
    )


def spellings(facts: Sql, column: Sql, spelled: Sql) -> Sql:
    """(value, its most common spelling) of the category in `column`, its
    spelling in `spelled`; ties go to the spelling that sorts first."""
    return sql(
        "SELECT value, spelling FROM (SELECT {column} AS value, {spelled} AS spelling, "
        "ROW_NUMBER() OVER (PARTITION BY {column} ORDER BY COUNT(*) DESC, {spelled}) AS r "
        "FROM {facts} WHERE {column} IS NOT NULL GROUP BY {column}, {spelled}) w WHERE r = 1",
        column=column,
        spelled=spelled,
        facts=facts,
    )


def list_items(facts: Sql, column: Sql, key: str) -> Sql:
    """(id, value) for every item of list attribute `key` each account of
    the facts table holds, each item once per account, as the list index
    holds it ("|key:item|", canonical form, see scoring.models.list_index_for);
    and (id, NULL) for the accounts without any (`column` is 0)."""
    prefix = f"{key}:"
    start = integer(len(prefix) + 1)
    length = integer(len(prefix))
    if connection.vendor == "postgresql":
        items = sql(
            "SELECT f.id, substr(i.item, {start}) AS value FROM {facts} f "
            "CROSS JOIN LATERAL unnest(string_to_array(f.list_index, {separator})) AS i(item) "
            "WHERE f.{column} = 1 AND substr(i.item, 1, {length}) = {prefix}",
            start=start,
            facts=facts,
            separator=LIST_SEPARATOR,
            column=column,
            length=length,
            prefix=prefix,
        )
    else:
        # SQLite splits no strings: a recursive query takes one item at a time.
        items = sql(
            "WITH RECURSIVE parts(id, rest, item) AS ("
            "SELECT id, substr(list_index, 2), NULL FROM {facts} WHERE {column} = 1 "
            "UNION ALL SELECT id, substr(rest, instr(rest, {separator}) + 1), "
            "substr(rest, 1, instr(rest, {separator}) - 1) FROM parts WHERE rest <> '') "
            "SELECT id, substr(item, {start}) AS value FROM parts "
            "WHERE substr(item, 1, {length}) = {prefix}",
            facts=facts,
            column=column,
            separator=LIST_SEPARATOR,
            start=start,
            length=length,
            prefix=prefix,
        )
    return sql(
        "SELECT id, value FROM ({items}) i UNION ALL "
        "SELECT id, NULL AS value FROM {facts} WHERE {column} = 0",
        items=items,
        facts=facts,
        column=column,
    )


# --- Pattern rows of suggestions' backtests (patterns.py) ---------------------------


def deals_per_account(start: Any, split: Any, end: Any) -> Sql:
    """Per account with a deal closed in [start, end): deals won and lost
    before `split` (w1, l1) and from it on (w2, l2)."""
    won, lost = DealState.WON.value, DealState.LOST.value
    return sql(
        "SELECT d.account_id, "
        "SUM(CASE WHEN d.status = {won} AND d.closed_at < {split} THEN 1 ELSE 0 END) AS w1, "
        "SUM(CASE WHEN d.status = {lost} AND d.closed_at < {split} THEN 1 ELSE 0 END) AS l1, "
        "SUM(CASE WHEN d.status = {won} AND d.closed_at >= {split} THEN 1 ELSE 0 END) AS w2, "
        "SUM(CASE WHEN d.status = {lost} AND d.closed_at >= {split} THEN 1 ELSE 0 END) AS l2 "
        "FROM {deals} d WHERE d.status IN ({won}, {lost}) "
        "AND d.closed_at >= {start} AND d.closed_at < {end} GROUP BY d.account_id",
        won=won,
        lost=lost,
        split=split,
        start=start,
        end=end,
        deals=table(Deal),
    )


def deal_accounts(deals: Sql) -> Sql:
    """The ids of the accounts deals_per_account has a row for."""
    return sql("SELECT account_id FROM ({deals}) a", deals=deals)


def with_deals(rows: Sql, deals: Sql) -> Sql:
    """A FROM clause: the rows (a SELECT of id, m, g0, ...) of the accounts
    with deals as f, their deals' columns (deals_per_account) as d."""
    return sql("({rows}) f JOIN ({deals}) d ON d.account_id = f.id", rows=rows, deals=deals)


def rows_of(rows: Sql) -> Sql:
    """A FROM clause: the rows (a SELECT of id, m, g0, ...) as f."""
    return sql("({rows}) f", rows=rows)


def with_groups(source: Sql, groups: Sequence[Sql]) -> Sql:
    """id, m and g0, g1, ... (the `groups` expressions over a facts row,
    whose columns they name as r.<column>) of each row of `source` (a
    table, or a SELECT in parentheses, with id and m columns)."""
    columns = Sql("").join(
        sql(", {g} AS {name}", g=g, name=Sql(f"g{i}")) for i, g in enumerate(groups)
    )
    return sql("SELECT r.id, r.m{columns} FROM {source} r", columns=columns, source=source)


def category_group(column: Sql, values: Sequence[str]) -> Sql:
    """The index in `values` of the canonical value in `column`, len(values)
    for any other value, NULL for none."""
    whens = Sql("").join(
        sql("WHEN {c} = {v} THEN {i} ", c=column, v=v, i=integer(i)) for i, v in enumerate(values)
    )
    return sql(
        "CASE {whens}WHEN {c} IS NOT NULL THEN {other} END",
        whens=whens,
        c=column,
        other=integer(len(values)),
    )


def yes_no_group(column: Sql, yes: str, no: str) -> Sql:
    """1 for `yes`, 0 for `no` in `column`, NULL for neither."""
    return sql("CASE WHEN {c} = {yes} THEN 1 WHEN {c} = {no} THEN 0 END", c=column, yes=yes, no=no)


def number_group(column: Sql, edges: Sequence[Decimal]) -> Sql:
    """1 + the index of the highest of `edges` (ascending) the number in
    `column` is at least, 0 below them all, NULL when unknown; "at least"
    as the engine's `gte` compares, as decimals."""
    whens = Sql("").join(
        sql(
            "WHEN {c} >= CAST({low} AS NUMERIC) THEN {i} ", c=column, low=str(low), i=integer(i + 1)
        )
        for i, low in reversed(list(enumerate(edges)))
    )
    return sql("CASE {whens}WHEN {c} IS NOT NULL THEN 0 END", whens=whens, c=column)


def list_group(column: Sql, key: str, items: Sequence[str]) -> Sql:
    """A bit per item of `items` the account's list (attribute `key`) holds,
    as the list index holds it ("|key:item|"); NULL when the list is empty
    (`column` is 0)."""
    function = "strpos" if connection.vendor == "postgresql" else "instr"
    find = function + "(r.list_index, {needle}) > 0"
    bits = Sql(" + ").join(
        sql(
            "CASE WHEN " + find + " THEN {bit} ELSE 0 END",
            needle=f"{LIST_SEPARATOR}{key}:{item}{LIST_SEPARATOR}",
            bit=integer(1 << i),
        )
        for i, item in enumerate(items)
    )
    return sql("CASE WHEN {c} = 1 THEN {bits} END", c=column, bits=bits if items else Sql("0"))


def pattern_counts(source: Sql, sums: Sequence[str], count: int) -> Sql:
    """Per combination of the matched mask f.m and the groups f.g0 ..
    f.g{count-1} (whole numbers, or NULL) of the rows of `source` (a FROM
    clause): the combination as text ("m,g0,g1", -1 for a NULL group),
    then the aggregates `sums`. Grouped by one text key, which PostgreSQL
    hashes in each parallel worker; the few thousand combinations are then
    summed per probe in Python (patterns.py)."""
    parts = [Sql("CAST(f.m AS TEXT)")] + [
        Sql(f"COALESCE(CAST(f.g{i} AS TEXT), '-1')") for i in range(count)
    ]
    key = Sql(" || ',' || ").join(parts)
    return sql(
        "SELECT {key} AS k, {sums} FROM {source} GROUP BY {key}",
        key=key,
        sums=Sql(", ").join(Sql(s) for s in sums),
        source=source,
    )


def hash_in_parallel() -> list[Sql]:
    """For the rest of the transaction (PostgreSQL): group by hashing the
    rows the parallel workers pass up, rather than sorting them. The
    planner cannot tell a pattern key has a few thousand values, not a
    million, and sorts a million rows otherwise (0.4 s of 1.6 s at a
    million accounts)."""
    return [Sql("SET LOCAL parallel_tuple_cost = 0"), Sql("SET LOCAL enable_sort = off")]
