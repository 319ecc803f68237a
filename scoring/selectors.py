"""Reads in scoring: the account base with each account's current score."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import CharField, F, FilteredRelation, IntegerField, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from profiles.models import Profile, User
from scoring.engine import Result, evaluate
from scoring.models import Account, AccountScore, ScoringRun
from scoring.rulesets import ruleset_for


def current_run(*, profile: Profile) -> ScoringRun | None:
    return (
        ScoringRun.objects.filter(profile=profile, is_current=True)
        .select_related("version")
        .first()
    )


def latest_run(*, profile: Profile) -> ScoringRun | None:
    return ScoringRun.objects.filter(profile=profile).select_related("version").first()


def scored_profiles() -> QuerySet[Profile]:
    """Profiles that have a current run, for choosing whose scores to show."""
    return Profile.objects.filter(scoring_runs__is_current=True).order_by("name")


def account_list(*, viewer: User, run: ScoringRun | None) -> QuerySet[Account]:
    """Every account with `score` and `tier` from `run` (None when unscored),
    `override_tier` when people set one under the run's version, and
    `effective_tier`, the override or else the scored tier. Best first.

    One LEFT JOIN on the run's score rows and one on live overrides:
    filtering and sorting stay in the database and the query count does
    not grow with the page.
    """
    accounts = Account.objects.all()
    if run is None:
        none = Value(None, output_field=CharField())
        return accounts.annotate(
            score=Value(None, output_field=IntegerField()),
            tier=none,
            override_tier=none,
            effective_tier=none,
        ).order_by("name", "id")
    live_override = Q(
        tier_overrides__profile_id=run.profile_id, tier_overrides__version_id=run.version_id
    )
    return accounts.annotate(
        current=FilteredRelation("scores", condition=Q(scores__run_id=run.pk)),
        override=FilteredRelation("tier_overrides", condition=live_override),
        score=F("current__score"),
        tier=F("current__tier"),
        override_tier=F("override__tier"),
        effective_tier=Coalesce(F("override__tier"), F("current__tier")),
    ).order_by(F("score").desc(nulls_last=True), "name", "id")


def account_get(*, viewer: User, pk: int) -> Account:
    return Account.objects.get(pk=pk)


@dataclass(frozen=True)
class ProfileScore:
    """An account's standing under one profile: the stored score of the
    current run and the engine's explanation of it."""

    profile: Profile
    run: ScoringRun
    stored: AccountScore | None
    result: Result


def account_explanations(*, account: Account) -> list[ProfileScore]:
    explanations = []
    runs = ScoringRun.objects.filter(is_current=True).select_related("profile", "version")
    for run in runs:
        stored = AccountScore.objects.filter(run=run, account=account).first()
        result = evaluate(ruleset_for(run.version), account.facts())
        explanations.append(ProfileScore(run.profile, run, stored, result))
    return explanations


def account_history(*, account: Account) -> QuerySet[AccountScore]:
    """The account's scores in every retained run, newest first."""
    return (
        AccountScore.objects.filter(account=account)
        .select_related("run__version", "run__profile")
        .order_by("-run__created_at")
    )


def score_feed(*, viewer: User, profile: Profile, run: ScoringRun | None) -> QuerySet[Account]:
    """The accounts scored under `profile`, as account_list annotates them,
    with `seq` and `changed_at` of their latest change (ScoreChange) and the
    run's `version_number`, in
    change order: the feed a CRM pulls, whole or "changed since" a seq."""
    change = FilteredRelation("score_changes", condition=Q(score_changes__profile_id=profile.pk))
    return (
        account_list(viewer=viewer, run=run)
        .annotate(
            change=change,
            seq=F("change__seq"),
            changed_at=F("change__changed_at"),
            version_number=Value(run.version.number if run else None, IntegerField()),
        )
        .filter(seq__isnull=False)
        .order_by("seq")
    )
