"""Writes in scoring: rescoring runs and scores.

A run is set-based: the account id space is split into chunks, each chunk is
one INSERT ... SELECT computed in the database (scoring.expressions), and a
final step scores accounts that arrived after the split, then makes the run
current in one transaction. Readers only read the current run, so they never
see a mix of versions. Every step may be repeated (a redelivered task
rewrites the same rows) and every step first checks the run is still wanted,
so a run overtaken by a newer approval stops and never becomes current.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q
from django.utils import timezone

from profiles.models import Profile, ProfileVersion, User
from scoring.engine import Ruleset, Tier
from scoring.expressions import scores_select
from scoring.models import Account, AccountScore, RunStatus, ScoringRun, TierOverride
from scoring.rulesets import ruleset_for

logger = logging.getLogger(__name__)

# Account ids per chunk task (settings.SCORING_CHUNK_SIZE, by default
# CHUNK_SIZE): large enough that per-task overhead is noise, small enough that
# a redelivered chunk redoes little and progress moves visibly.
CHUNK_SIZE = 50_000

_SCORES = AccountScore._meta.db_table


# --- Starting and stopping runs ------------------------------------------------


def run_create(
    *, profile: Profile, version: ProfileVersion, actor: User | None, enqueue: bool = True
) -> ScoringRun:
    """Queue a run for a newly approved version; any run still in progress for
    the profile is superseded. Enqueues the rescoring once the caller's
    transaction commits (unless the caller drives the run itself)."""
    from scoring.tasks import rescore_task

    now = timezone.now()
    ScoringRun.objects.filter(
        profile=profile, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    ).update(status=RunStatus.SUPERSEDED, finished_at=now)
    run = ScoringRun.objects.create(profile=profile, version=version, requested_by=actor)
    if enqueue:
        transaction.on_commit(lambda: rescore_task.delay(run.pk))
    return run


def run_on_approval(*, version: ProfileVersion, actor: User, **_: Any) -> None:
    """Receiver of profiles.signals.version_approved."""
    run_create(profile=version.profile, version=version, actor=actor)


def _wanted(run_id: int, *, lock: bool = True) -> ScoringRun | None:
    """The run if it should go on; None once superseded or finished.

    Planning and finishing lock the run row. Chunks only read it, so that
    they can run side by side; a chunk that races a supersession writes rows
    into a run that never becomes current and is pruned.
    """
    runs = ScoringRun.objects.select_related("version")
    run = (runs.select_for_update(of=("self",)) if lock else runs).filter(pk=run_id).first()
    if run is None or run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        return None
    return run


def run_plan(run_id: int, chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Mark the run running and split the current id space into chunks.

    Accounts created after this point have higher ids and are scored by
    run_finish. Returns the (low, high) id ranges, inclusive; empty when the
    run is no longer wanted or there are no accounts.
    """
    with transaction.atomic():
        run = _wanted(run_id)
        if run is None:
            return []
        bounds = Account.objects.aggregate(low=Min("id"), high=Max("id"))
        low, high = bounds["low"], bounds["high"]
        size = chunk_size or settings.SCORING_CHUNK_SIZE
        chunks = []
        if low is not None and high is not None:
            chunks = [(start, min(start + size - 1, high)) for start in range(low, high + 1, size)]
        run.status = RunStatus.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.split_max_id = high or 0
        run.chunks_total = len(chunks)
        run.chunks_done = 0
        run.save(
            update_fields=["status", "started_at", "split_max_id", "chunks_total", "chunks_done"]
        )
    return chunks


def _insert_scores(run_id: int, ruleset: Ruleset, accounts: Q) -> int:
    """Replace the run's scores for the selected accounts, in the database."""
    select_sql, params = scores_select(Account.objects.filter(accounts), ruleset)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_SCORES} (run_id, account_id, score, tier, matched) "  # noqa: S608
            f"SELECT %s, account_id, score, tier, matched FROM ({select_sql}) scored",
            (run_id, *params),
        )
        return int(cursor.rowcount)


def run_score_chunk(run_id: int, low: int, high: int) -> int:
    """Score accounts low..high for the run; repeating it rewrites the same rows."""
    with transaction.atomic():
        run = _wanted(run_id, lock=False)
        if run is None:
            return 0
        ruleset = ruleset_for(run.version)
        AccountScore.objects.filter(
            run_id=run_id, account_id__gte=low, account_id__lte=high
        ).delete()
        written = _insert_scores(run_id, ruleset, Q(id__gte=low, id__lte=high))
        ScoringRun.objects.filter(pk=run_id, chunks_done__lt=F("chunks_total")).update(
            chunks_done=F("chunks_done") + 1
        )
    return written


def run_finish(run_id: int) -> ScoringRun | None:
    """Score every account the run has not scored yet (those created since
    the split, and any a lost chunk left behind), then make the run current,
    recording tier counts and movement against the previous current run."""
    with transaction.atomic():
        Profile.objects.select_for_update().filter(scoring_runs__pk=run_id).first()
        run = _wanted(run_id)
        if run is None:
            return None
        ruleset = ruleset_for(run.version)
        scored = AccountScore.objects.filter(run_id=run_id, account_id=OuterRef("pk"))
        _insert_scores(run_id, ruleset, ~Q(Exists(scored)))
        previous = ScoringRun.objects.filter(profile_id=run.profile_id, is_current=True).first()
        if previous is not None:
            previous.is_current = False
            previous.save(update_fields=["is_current"])
        counts = dict(
            AccountScore.objects.filter(run_id=run_id)
            .values_list("tier")
            .annotate(n=Count("*"))
            .values_list("tier", "n")
        )
        run.tier_counts = counts
        run.accounts_scored = sum(counts.values())
        run.tier_movement = _tier_movement(previous.pk, run.pk) if previous else {}
        run.status = RunStatus.SUCCEEDED
        run.is_current = True
        run.chunks_done = run.chunks_total
        run.finished_at = timezone.now()
        run.save()
    from scoring.tasks import prune_runs_task

    transaction.on_commit(lambda: prune_runs_task.delay(run.profile_id))
    return run


def run_fail(run_id: int, error: str) -> None:
    ScoringRun.objects.filter(pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
        status=RunStatus.FAILED, error=error[:5000], finished_at=timezone.now()
    )


def _tier_movement(previous_id: int, current_id: int) -> dict[str, int]:
    """How many accounts moved from each tier to each other tier."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.tier, n.tier, COUNT(*) FROM {_SCORES} n "  # noqa: S608
            f"JOIN {_SCORES} p ON p.account_id = n.account_id AND p.run_id = %s "
            "WHERE n.run_id = %s AND p.tier <> n.tier GROUP BY p.tier, n.tier",
            (previous_id, current_id),
        )
        return {f"{old}->{new}": count for old, new, count in cursor.fetchall()}


def runs_prune(*, profile_id: int, keep: int = 2) -> int:
    """Delete the scores and rows of finished runs, keeping the current run
    and the one before it. Returns how many runs were removed."""
    finished = ScoringRun.objects.filter(profile_id=profile_id).exclude(
        status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    )
    current = finished.filter(is_current=True).first()
    keep_ids = set()
    if current is not None:
        keep_ids.add(current.pk)
        before = (
            finished.filter(status=RunStatus.SUCCEEDED, created_at__lt=current.created_at)
            .order_by("-created_at")
            .values_list("pk", flat=True)
            .first()
        )
        if before is not None:
            keep_ids.add(before)
    doomed = list(finished.exclude(pk__in=keep_ids).values_list("pk", flat=True))
    for run_id in doomed:
        with transaction.atomic():
            AccountScore.objects.filter(run_id=run_id).delete()
            ScoringRun.objects.filter(pk=run_id).delete()
    return len(doomed)


# --- Scoring accounts outside a run ------------------------------------------


def accounts_score(account_ids: list[int]) -> int:
    """Score these accounts now against every profile's current run and any
    run in progress, so new and changed accounts show their tier at once and
    a run in progress misses none of them."""
    runs = ScoringRun.objects.filter(
        Q(is_current=True) | Q(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
    ).select_related("version")
    written = 0
    for run in runs:
        with transaction.atomic():
            ruleset = ruleset_for(run.version)
            AccountScore.objects.filter(run_id=run.pk, account_id__in=account_ids).delete()
            written += _insert_scores(run.pk, ruleset, Q(id__in=account_ids))
    return written


# --- Effective tiers ----------------------------------------------------------


def tier_override_set(
    *, profile: Profile, account: Account, tier: str, actor: User | None, source: str = ""
) -> TierOverride:
    """Make `tier` the account's effective tier under the profile's live
    version, until a newer version goes live."""
    if tier not in {t.value for t in Tier}:
        raise ValidationError({"tier": f"Choose one of {', '.join(t.value for t in Tier)}."})
    live = ProfileVersion.objects.filter(profile=profile, status="approved").first()
    if live is None:
        raise ValidationError(f"{profile.name} has no live version to override.")
    override, _ = TierOverride.objects.update_or_create(
        profile=profile,
        account=account,
        defaults={"version": live, "tier": tier, "source": source, "set_by": actor},
    )
    return override


def tier_override_clear(*, profile: Profile, account: Account) -> None:
    TierOverride.objects.filter(profile=profile, account=account).delete()


def run_in_process(
    *,
    profile: Profile,
    version: ProfileVersion,
    actor: User | None,
    progress: Callable[[int, int], None] | None = None,
) -> ScoringRun | None:
    """Rescore the whole base here and now, chunk after chunk, without the
    workers: for the rescore command and the demo seed. Returns the finished
    run, or None if a newer approval superseded it meanwhile."""
    run = run_create(profile=profile, version=version, actor=actor, enqueue=False)
    chunks = run_plan(run.pk)
    if progress:
        progress(0, len(chunks))
    for done, (low, high) in enumerate(chunks, start=1):
        run_score_chunk(run.pk, low, high)
        if progress:
            progress(done, len(chunks))
    return run_finish(run.pk)
