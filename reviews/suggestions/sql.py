"""Every hand-written SQL statement of attribute lift, composed with
scoring.sql's `sql()` under its rules (names and integers in the text,
every other value a parameter).

The work is two steps. `account_outcomes` reads the deals, churn and
accepted overrides once, into one row per account that has any of them in
the window (a scratch table, `o` below). Each attribute is then one GROUP BY
of those rows by the account's value ("keyed": a SELECT of id, value).
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from profiles.attributes import LIST_SEPARATOR
from reviews.models import NOT_A_FIT_TIER, TIERS, ClaimedTier, Override, OverrideStatus
from reviews.sql import churned_accounts, churned_inside, customer, per_account_deals
from scoring.sql import Sql, accounts, integer, sql, table

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


def outcome_accounts(outcomes: Sql, *, closed_only: bool) -> Sql:
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


def value_outcomes(outcomes: Sql, keyed: Sql) -> Sql:
    """Per value of `keyed` (a SELECT of id, value; an account may have
    several values, or a NULL one): the sums over its accounts' outcomes."""
    return sql(
        "SELECT k.value, {sums} FROM {o} o JOIN ({keyed}) k ON k.id = o.account_id "
        "GROUP BY k.value",
        sums=_SUMS,
        o=outcomes,
        keyed=keyed,
    )


def quantile_cuts(valued: Sql, tiles: int) -> Sql:
    """(tile, least value) of `valued` (a SELECT of one column, value) cut
    into `tiles` groups of nearly equal size in value order."""
    return sql(
        "SELECT tile, MIN(value) FROM (SELECT value, NTILE({tiles}) OVER (ORDER BY value) AS tile "
        "FROM ({valued}) x) t GROUP BY tile ORDER BY tile",
        tiles=integer(tiles),
        valued=valued,
    )


def spellings(spelled: Sql) -> Sql:
    """(value, its most common spelling) over `spelled` (a SELECT of id,
    value, spelling); ties go to the spelling that sorts first."""
    return sql(
        "SELECT value, spelling FROM (SELECT value, spelling, ROW_NUMBER() OVER "
        "(PARTITION BY value ORDER BY COUNT(*) DESC, spelling) AS r "
        "FROM ({spelled}) s WHERE value IS NOT NULL GROUP BY value, spelling) w WHERE r = 1",
        spelled=spelled,
    )


def list_items(ids: Sql, key: str) -> Sql:
    """(id, value) for every item of list attribute `key` the accounts `ids`
    selects hold, each item once per account, as the list index holds it
    ("|key:item|", canonical form, see scoring.models.list_index_for)."""
    prefix = f"{key}:"
    start = integer(len(prefix) + 1)
    if connection.vendor == "postgresql":
        return sql(
            "SELECT a.id, substr(i.item, {start}) AS value FROM {accounts} a "
            "CROSS JOIN LATERAL unnest(string_to_array(a.list_index, {separator})) AS i(item) "
            "WHERE a.id IN ({ids}) AND substr(i.item, 1, {length}) = {prefix}",
            start=start,
            accounts=accounts(),
            separator=LIST_SEPARATOR,
            ids=ids,
            length=integer(len(prefix)),
            prefix=prefix,
        )
    # SQLite splits no strings: a recursive query takes one item at a time.
    return sql(
        "WITH RECURSIVE parts(id, rest, item) AS ("
        "SELECT a.id, substr(a.list_index, 2), NULL FROM {accounts} a "
        "WHERE a.id IN ({ids}) AND a.list_index <> '' "
        "UNION ALL SELECT id, substr(rest, instr(rest, {separator}) + 1), "
        "substr(rest, 1, instr(rest, {separator}) - 1) FROM parts WHERE rest <> '') "
        "SELECT id, substr(item, {start}) AS value FROM parts "
        "WHERE substr(item, 1, {length}) = {prefix}",
        accounts=accounts(),
        ids=ids,
        separator=LIST_SEPARATOR,
        start=start,
        length=integer(len(prefix)),
        prefix=prefix,
    )
