"""Reads in scoring: the account base with each account's current score."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import (
    CharField,
    DateTimeField,
    F,
    FilteredRelation,
    IntegerField,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce

from profiles.models import Profile, User
from scoring.engine import Result, evaluate
from scoring.models import Account, AccountScore, ChangeClock, RunStatus, ScoringRun
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
    # Run ids as literals: each run's rows are then found through its key.
    retained = list(
        ScoringRun.objects.filter(status=RunStatus.SUCCEEDED).values_list("pk", flat=True)
    )
    return (
        AccountScore.objects.filter(run_id__in=retained, account=account)
        .select_related("run__version", "run__profile")
        .order_by("-run__created_at")
    )


def changes_cursor(*, profile_id: int) -> int:
    """The profile's latest change number: "changed since" it is empty for now."""
    clock = ChangeClock.objects.filter(profile_id=profile_id).values_list("seq", flat=True)
    return int(clock.first() or 0)


def score_feed(
    *,
    viewer: User,
    profile: Profile,
    run: ScoringRun | None,
    since: int = 0,
    until: int,
    after: int = 0,
) -> QuerySet[Account]:
    """The accounts scored in `run` whose latest change is numbered after
    `since` and at most `until` (see ChangeClock), as account_list annotates
    them, with their `matched` criteria, `seq` and `changed_at` of that
    change and the run's `version_number`, in account order from after
    account id `after`: the feed a CRM pulls. Empty without a run.

    Pinning `until` (the counter when a sync began) keeps a paged sync
    exact: an account that changes while the pages are read is left to the
    next sync, which starts after `until`, instead of being read twice or
    skipped.
    """
    accounts = account_list(viewer=viewer, run=run)
    if run is None:
        return accounts.annotate(
            matched=Value(0, IntegerField()),
            seq=Value(0, IntegerField()),
            changed_at=Value(None, DateTimeField()),
            version_number=Value(None, IntegerField()),
        ).none()
    run_seq = run.feed_seq or 0
    # The window on the stored column, not on the COALESCE the rows show:
    # PostgreSQL estimates the column from its statistics and reads the
    # run in key order, where it took a COALESCE range for a handful of
    # rows, read the whole run and sorted it for every page.
    window = Q(row_seq__gt=since, row_seq__lte=until)
    if since < run_seq <= until:
        window |= Q(row_seq__isnull=True)
    return (
        accounts.annotate(
            matched=F("current__matched"),
            row_seq=F("current__changed_seq"),
            row_account=F("current__account_id"),
            seq=Coalesce(F("current__changed_seq"), Value(run_seq)),
            changed_at=Coalesce(F("current__changed_at"), Value(run.finished_at, DateTimeField())),
            version_number=Value(run.version.number, IntegerField()),
        )
        # The id bound on the score rows too: PostgreSQL does not carry a
        # range across the join, and the run's primary key is where it reads.
        .filter(window, id__gt=after, row_account__gt=after)
        .order_by("id")
    )
