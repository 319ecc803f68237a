"""Every hand-written SQL statement of reviews, composed with scoring.sql's
`Sql` and `sql()` under the same rules: names and integers written into the
text, every other value (the enumerations' values included) a parameter.

A "tiering" is a SELECT of (account_id, tier): a run's stored scores, or a
version scored on the fly.
"""

from __future__ import annotations

from typing import Any

from reviews.models import NOT_A_FIT_TIER, ClaimedTier, Override, OverrideStatus
from scoring.models import DealStatus
from scoring.sql import Sql, accounts, scores, sql, table

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


def tier_outcomes(tiering: Sql, since: Any, only: Sql | None) -> Sql:
    """Per tier: accounts, won, lost, won amount, customers, churned and won
    deals with an amount, for deals closed and churn since `since` (a value
    the backend has adapted), over the accounts `only` selects (all without)."""
    won = DealStatus.WON.value
    won_since = sql("a.deal_status = {won} AND a.deal_closed_at >= {since}", won=won, since=since)
    return sql(
        "SELECT t.tier, COUNT(*), "
        "SUM(CASE WHEN {won_since} THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN a.deal_status = {lost} AND a.deal_closed_at >= {since} "
        "THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN {won_since} THEN a.deal_amount ELSE 0 END), "
        "SUM(CASE WHEN (a.deal_status = {won} OR a.churned_at IS NOT NULL) "
        "AND (a.churned_at IS NULL OR a.churned_at >= {since}) THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN a.churned_at >= {since} THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN {won_since} AND a.deal_amount IS NOT NULL THEN 1 ELSE 0 END) "
        "FROM ({tiering}) t JOIN {accounts} a ON a.id = t.account_id{where} "
        "GROUP BY t.tier",
        won_since=won_since,
        won=won,
        lost=DealStatus.LOST.value,
        since=since,
        tiering=tiering,
        accounts=accounts(),
        where=Sql("") if only is None else sql(" WHERE a.id IN ({only})", only=only),
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


def evidence_rows(drafts: Sql, run_id: int, claims: Sql, limit: int) -> Sql:
    """The first `limit` accounts of the draft's tiers, claimed ones first,
    then by name: account_id, name, live tier, draft tier, claimed tier,
    deal status, deal amount."""
    return sql(
        "SELECT d.account_id, a.name, l.tier, d.tier, c.tier, a.deal_status, a.deal_amount "
        "FROM {drafts} d JOIN {accounts} a ON a.id = d.account_id "
        "LEFT JOIN {scores} l ON l.account_id = d.account_id AND l.run_id = {run} "
        "LEFT JOIN ({claims}) c ON c.account_id = d.account_id "
        "ORDER BY CASE WHEN c.account_id IS NULL THEN 1 ELSE 0 END, a.name, d.account_id "
        "LIMIT {limit}",
        drafts=drafts,
        accounts=accounts(),
        scores=scores(),
        run=run_id,
        claims=claims,
        limit=limit,
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
