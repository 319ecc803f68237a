"""Every hand-written SQL statement of reviews, composed with scoring.sql's
`Sql` and `sql()` under the same rules: names and integers written into the
text, every other value (the enumerations' values included) a parameter.

A "tiering" is a SELECT of (account_id, tier): a run's stored scores, or a
version scored on the fly.
"""

from __future__ import annotations

from typing import Any

from reviews.models import NOT_A_FIT_TIER, ClaimedTier, Override, OverrideStatus, ReviewMark
from scoring.models import Deal, DealState
from scoring.sql import EMPTY, Sql, accounts, integer, scores, sql, table

# A deal's blank currency is the reporting currency: only amounts in it are
# added up (an amount in another currency is a deal of unknown size).
REPORTING_CURRENCY = ""

# --- Tierings and their outcome figures (reviews.figures) -----------------------


def run_tiering(run_id: int) -> Sql:
    """The run's stored tiers."""
    return sql(
        "SELECT account_id, tier FROM {scores} WHERE run_id = {run}", scores=scores(), run=run_id
    )


def select_tiering(select: Sql) -> Sql:
    """The tiers a SELECT of scores (scoring.expressions.scores_select) or a
    table of them gives."""
    return sql("SELECT account_id, tier FROM ({select}) v", select=select)


def table_tiering(tiers: Sql) -> Sql:
    """The tiers held in a table with account_id and tier columns."""
    return sql("SELECT account_id, tier FROM {t}", t=tiers)


def _deals() -> Sql:
    return table(Deal)


def per_account_deals(since: Any, only: Sql | None, until: Any = None) -> Sql:
    """Per account with a closed deal (of those `only` selects, all
    without): the deals won and lost since `since`, the won amount in the
    reporting currency and the won deals it is known for, and whether the
    account ever won a deal (1 or 0). With `until`, deals closed at or after
    it are left out altogether (a window that ends before now)."""
    won, lost = DealState.WON.value, DealState.LOST.value
    won_since = sql("d.status = {won} AND d.closed_at >= {since}", won=won, since=since)
    priced = sql(
        "{won_since} AND d.amount IS NOT NULL AND d.currency = {reporting}",
        won_since=won_since,
        reporting=REPORTING_CURRENCY,
    )
    return sql(
        "SELECT d.account_id, "
        "SUM(CASE WHEN {won_since} THEN 1 ELSE 0 END) AS won, "
        "SUM(CASE WHEN d.status = {lost} AND d.closed_at >= {since} THEN 1 ELSE 0 END) AS lost, "
        "SUM(CASE WHEN {priced} THEN d.amount ELSE 0 END) AS won_amount, "
        "SUM(CASE WHEN {priced} THEN 1 ELSE 0 END) AS won_priced, "
        "MAX(CASE WHEN d.status = {won} THEN 1 ELSE 0 END) AS ever_won "
        "FROM {deals} d WHERE d.status IN ({won}, {lost}){before}{among} GROUP BY d.account_id",
        won_since=won_since,
        lost=lost,
        since=since,
        priced=priced,
        won=won,
        deals=_deals(),
        before=EMPTY if until is None else sql(" AND d.closed_at < {until}", until=until),
        among=EMPTY if only is None else sql(" AND d.account_id IN ({only})", only=only),
    )


def churned_accounts() -> Sql:
    """(id, churned_at) of every account that churned."""
    return sql(
        "SELECT id, churned_at FROM {accounts} WHERE churned_at IS NOT NULL", accounts=accounts()
    )


def churned_inside(since: Any, until: Any = None) -> Sql:
    """1 when the account (`c`, a row of churned_accounts) churned inside the
    window, else 0."""
    before = EMPTY if until is None else sql(" AND c.churned_at < {until}", until=until)
    return sql(
        "CASE WHEN c.churned_at >= {since}{before} THEN 1 ELSE 0 END", since=since, before=before
    )


def customer(since: Any) -> Sql:
    """1 when the account is a customer in the window, else 0: it won a deal
    (`d`, a row of per_account_deals) or churned (`c`, a row of
    churned_accounts), and did not churn before the window."""
    return sql(
        "CASE WHEN (d.ever_won = 1 OR c.id IS NOT NULL) "
        "AND (c.churned_at IS NULL OR c.churned_at >= {since}) THEN 1 ELSE 0 END",
        since=since,
    )


def tier_outcomes(tiering: Sql, since: Any, only: Sql | None, until: Any = None) -> Sql:
    """Per tier: accounts, deals won, deals lost, won amount, customers,
    churned customers and won deals with an amount, for deals closed and
    churn since `since` (a value the backend has adapted), and before
    `until` when given, over the accounts `only` selects (all without).

    Deals count one by one, each in its account's tier; accounts, customers
    and churn count accounts. The tiering meets only the accounts with a
    closed deal and those that churned, never the whole accounts table
    (joining every account took about as long again as the rest)."""
    return sql(
        "SELECT t.tier, COUNT(*), SUM(COALESCE(d.won, 0)), SUM(COALESCE(d.lost, 0)), "
        "SUM(COALESCE(d.won_amount, 0)), SUM({customer}), SUM({churned}), "
        "SUM(COALESCE(d.won_priced, 0)) "
        "FROM ({tiering}) t LEFT JOIN ({per_account}) d ON d.account_id = t.account_id "
        "LEFT JOIN ({churned_accounts}) c ON c.id = t.account_id{where} "
        "GROUP BY t.tier",
        customer=customer(since),
        churned=churned_inside(since, until),
        tiering=tiering,
        per_account=per_account_deals(since, only, until),
        churned_accounts=churned_accounts(),
        where=EMPTY if only is None else sql(" WHERE t.account_id IN ({only})", only=only),
    )


# --- Evidence for a draft (reviews.evidence) --------------------------------------


def accepted_claims(profile_id: int, version_id: int) -> Sql:
    """The latest accepted claim per account under the version, as the tier
    it sets (account_id, tier): "not a fit" sets DQ."""
    overrides = table(Override)
    accepted = OverrideStatus.ACCEPTED.value
    return sql(
        "SELECT o.account_id, CASE WHEN o.claimed_tier = {not_a_fit} THEN {not_a_fit_tier} "
        "ELSE o.claimed_tier END AS tier FROM {overrides} o "
        "WHERE o.profile_id = {profile} AND o.version_id = {version} AND o.status = {accepted} "
        "AND NOT EXISTS (SELECT 1 FROM {overrides} n WHERE n.account_id = o.account_id "
        "AND n.profile_id = o.profile_id AND n.version_id = o.version_id "
        "AND n.status = {accepted} AND (n.reviewed_at > o.reviewed_at "
        "OR (n.reviewed_at = o.reviewed_at AND n.id > o.id)))",
        not_a_fit=ClaimedTier.NOT_A_FIT.value,
        not_a_fit_tier=NOT_A_FIT_TIER,
        overrides=overrides,
        profile=profile_id,
        version=version_id,
        accepted=accepted,
    )


def evidence_agreement(drafts: Sql, run_id: int, claims: Sql) -> Sql:
    """Over the draft's tiers (a table of account_id, tier): accounts,
    accounts with a claim, and the claims the draft and the run agree with."""
    return sql(
        "SELECT COUNT(*), COUNT(c.account_id), "
        "SUM(CASE WHEN d.tier = c.tier THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN l.tier = c.tier THEN 1 ELSE 0 END) "
        "FROM {drafts} d "
        "LEFT JOIN {scores} l ON l.account_id = d.account_id AND l.run_id = {run} "
        "LEFT JOIN ({claims}) c ON c.account_id = d.account_id",
        drafts=drafts,
        scores=scores(),
        run=run_id,
        claims=claims,
    )


def evidence_rows(drafts: Sql, run_id: int, claims: Sql, since: Any, limit: int) -> Sql:
    """The first `limit` accounts of the draft's tiers, claimed ones first,
    then by name: account_id, name, live tier, draft tier, claimed tier, and
    the account's deals closed since `since`: won, lost, and the won amount
    in the reporting currency (NULL when no won deal has one)."""
    won, lost = DealState.WON.value, DealState.LOST.value
    first = sql(
        "SELECT d.account_id, a.name, l.tier AS live_tier, d.tier AS draft_tier, "
        "c.tier AS claimed, CASE WHEN c.account_id IS NULL THEN 1 ELSE 0 END AS unclaimed "
        "FROM {drafts} d JOIN {accounts} a ON a.id = d.account_id "
        "LEFT JOIN {scores} l ON l.account_id = d.account_id AND l.run_id = {run} "
        "LEFT JOIN ({claims}) c ON c.account_id = d.account_id "
        "ORDER BY unclaimed, a.name, d.account_id LIMIT {limit}",
        drafts=drafts,
        accounts=accounts(),
        scores=scores(),
        run=run_id,
        claims=claims,
        limit=limit,
    )
    # The deals are joined to the page of accounts only, not to every member.
    return sql(
        "SELECT r.account_id, r.name, r.live_tier, r.draft_tier, r.claimed, "
        "SUM(CASE WHEN x.status = {won} THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.status = {lost} THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.status = {won} AND x.currency = {reporting} THEN x.amount END) "
        "FROM ({first}) r LEFT JOIN {deals} x ON x.account_id = r.account_id "
        "AND x.status IN ({won}, {lost}) AND x.closed_at >= {since} "
        "GROUP BY r.account_id, r.name, r.live_tier, r.draft_tier, r.claimed, r.unclaimed "
        "ORDER BY r.unclaimed, r.name, r.account_id",
        won=won,
        lost=lost,
        reporting=REPORTING_CURRENCY,
        first=first,
        deals=_deals(),
        since=since,
    )


# --- The review queue (reviews.selectors) -------------------------------------------


def largest_moves(run_id: int, previous_id: int, limit: int) -> Sql:
    """The accounts whose tier differs between the two runs, largest score
    change first: account_id, name, previous tier, tier, previous score, score."""
    return sql(
        "SELECT n.account_id, a.name, p.tier, n.tier, p.score, n.score "
        "FROM {scores} n JOIN {scores} p ON p.account_id = n.account_id "
        "AND p.run_id = {previous} JOIN {accounts} a ON a.id = n.account_id "
        "WHERE n.run_id = {run} AND p.tier <> n.tier "
        "ORDER BY ABS(n.score - p.score) DESC, a.name, n.account_id LIMIT {limit}",
        scores=scores(),
        previous=previous_id,
        accounts=accounts(),
        run=run_id,
        limit=limit,
    )


def surprise_weeks(
    run_ids: list[int], viewer_id: int, at: Any, week: Any, usual_from: Any, since: Any
) -> Sql:
    """Per kind of surprise (won, lost, churned): how many happened in the
    week up to `at` (from `week` on), how many in the weeks before it (from
    `usual_from` to `week`), and how many since `since` the viewer has not
    marked reviewed. One row per kind that has any.

    A surprise is what the queue lists: a deal won by an account that a
    current run (`run_ids`, written into the text so PostgreSQL reads only
    their scores) puts in tier C or DQ, a deal lost by a tier A account, a
    tier A account that churned. Each deal or churn counts once however many
    profiles it surprised, and by the tier the current runs give today."""
    won, lost, churned = DealState.WON.value, DealState.LOST.value, ReviewMark.Kind.CHURNED.value
    runs = Sql(", ").join(integer(run_id) for run_id in run_ids)
    start = min(usual_from, since)
    outcomes = sql(
        "SELECT d.status AS kind, d.id AS obj, d.closed_at AS at FROM {deals} d "
        "WHERE d.status IN ({won}, {lost}) AND d.closed_at >= {start} AND d.closed_at <= {at} "
        "AND EXISTS (SELECT 1 FROM {scores} s WHERE s.account_id = d.account_id "
        "AND s.run_id IN ({runs}) AND ((d.status = {won} AND s.tier IN ({c}, {dq})) "
        "OR (d.status = {lost} AND s.tier = {tier_a}))) "
        "UNION ALL "
        "SELECT {churned}, a.id, a.churned_at FROM {accounts} a "
        "WHERE a.churned_at >= {start} AND a.churned_at <= {at} "
        "AND EXISTS (SELECT 1 FROM {scores} s WHERE s.account_id = a.id "
        "AND s.run_id IN ({runs}) AND s.tier = {tier_a})",
        deals=_deals(),
        won=won,
        lost=lost,
        start=start,
        at=at,
        scores=scores(),
        runs=runs,
        c="C",
        dq="DQ",
        tier_a="A",
        churned=churned,
        accounts=accounts(),
    )
    return sql(
        "SELECT k.kind, "
        "SUM(CASE WHEN k.at >= {week} THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN k.at >= {usual_from} AND k.at < {week} THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN k.at >= {since} AND NOT EXISTS (SELECT 1 FROM {marks} m "
        "WHERE m.user_id = {viewer} AND m.kind = k.kind AND m.object_id = k.obj "
        "AND m.occurred_at = k.at) THEN 1 ELSE 0 END) "
        "FROM ({outcomes}) k GROUP BY k.kind",
        week=week,
        usual_from=usual_from,
        since=since,
        marks=table(ReviewMark),
        viewer=viewer_id,
        outcomes=outcomes,
    )
