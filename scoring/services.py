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
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, Max, Min, OuterRef, Q
from django.utils import timezone

from profiles.models import Profile, ProfileVersion, User
from scoring.engine import Ruleset, Tier
from scoring.expressions import scores_select
from scoring.models import (
    Account,
    AccountScore,
    RunStatus,
    ScoreChange,
    ScoringRun,
    TierOverride,
    WebhookEvent,
)
from scoring.rulesets import ruleset_for
from scoring.webhooks import webhooks_emit

logger = logging.getLogger(__name__)

# Account ids per chunk task (settings.SCORING_CHUNK_SIZE, by default
# CHUNK_SIZE): large enough that per-task overhead is noise, small enough that
# a redelivered chunk redoes little and progress moves visibly.
CHUNK_SIZE = 50_000

_SCORES = AccountScore._meta.db_table
_ACCOUNTS = Account._meta.db_table
_CHANGES = ScoreChange._meta.db_table
_OVERRIDES = TierOverride._meta.db_table


# --- The change log behind "changed since" ---------------------------------------


def _lock_profile(profile_id: int) -> None:
    """Writers of a profile's scores and overrides queue here, so change
    numbers are drawn in commit order (see ScoreChange)."""
    Profile.objects.select_for_update().filter(pk=profile_id).first()


def _changes_record(profile_id: int, accounts_sql: str, params: Sequence[Any]) -> int:
    """Give the accounts `accounts_sql` selects (one column, account_id, each
    once) the profile's next change numbers, in one statement. The caller
    holds the profile's row lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(MAX(seq), 0) FROM {_CHANGES} WHERE profile_id = %s",  # noqa: S608
            (profile_id,),
        )
        base = int(cursor.fetchone()[0])
        cursor.execute(
            f"INSERT INTO {_CHANGES} (profile_id, account_id, seq, changed_at) "  # noqa: S608
            "SELECT %s, c.account_id, %s + ROW_NUMBER() OVER (ORDER BY c.account_id), %s "
            f"FROM ({accounts_sql}) c WHERE 1 = 1 "
            "ON CONFLICT (profile_id, account_id) "
            "DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at",
            (profile_id, base, timezone.now(), *params),
        )
        return int(cursor.rowcount)


def _changes_record_ids(profile_id: int, account_ids: Sequence[int]) -> int:
    if not account_ids:
        return 0
    marks = ", ".join(["%s"] * len(account_ids))
    return _changes_record(
        profile_id,
        f"SELECT id AS account_id FROM {_ACCOUNTS} WHERE id IN ({marks})",  # noqa: S608
        account_ids,
    )


def changes_cursor(*, profile_id: int) -> int:
    """The profile's latest change number: "changed since" it is empty for now."""
    latest = ScoreChange.objects.filter(profile_id=profile_id).aggregate(m=Max("seq"))["m"]
    return int(latest or 0)


def _run_changes_record(run: ScoringRun, previous: ScoringRun | None) -> int:
    """Log the accounts the flip from `previous` to `run` changes: a new or
    different score, tier or matched criteria and, when the version changes,
    every account whose override starts or stops applying."""
    sql = (
        f"SELECT n.account_id FROM {_SCORES} n "  # noqa: S608
        f"JOIN {_ACCOUNTS} a ON a.id = n.account_id "
        f"LEFT JOIN {_SCORES} p ON p.run_id = %s AND p.account_id = n.account_id "
        "WHERE n.run_id = %s AND (p.account_id IS NULL OR p.score <> n.score "
        "OR p.tier <> n.tier OR p.matched <> n.matched)"
    )
    params: list[Any] = [previous.pk if previous else 0, run.pk]
    if previous is None or previous.version_id != run.version_id:
        versions = sorted({run.version_id, previous.version_id if previous else run.version_id})
        marks = ", ".join(["%s"] * len(versions))
        sql += (
            f" UNION SELECT account_id FROM {_OVERRIDES} "  # noqa: S608
            f"WHERE profile_id = %s AND version_id IN ({marks})"
        )
        params += [run.profile_id, *versions]
    return _changes_record(run.profile_id, sql, params)


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
        run.progressed_at = timezone.now()
        run.split_max_id = high or 0
        run.chunks_total = len(chunks)
        run.chunks_done = 0
        run.save(
            update_fields=[
                "status",
                "started_at",
                "progressed_at",
                "split_max_id",
                "chunks_total",
                "chunks_done",
            ]
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
            chunks_done=F("chunks_done") + 1, progressed_at=timezone.now()
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
        unscored = ~Q(Exists(AccountScore.objects.filter(run_id=run_id, account_id=OuterRef("pk"))))
        # Accounts that arrived after the split (ingest may have scored some).
        _insert_scores(run_id, ruleset, Q(id__gt=run.split_max_id or 0) & unscored)
        previous = ScoringRun.objects.filter(profile_id=run.profile_id, is_current=True).first()
        previous_id = previous.pk if previous else None
        _refresh_statistics()
        counts, movement = _tally(run.pk, previous_id)
        if sum(counts.values()) < Account.objects.count():
            # A chunk was lost (its task gave up, or the chord fired early):
            # fill the gaps once, set-based, rather than trust the counters.
            _insert_scores(run_id, ruleset, unscored)
            counts, movement = _tally(run.pk, previous_id)
        _run_changes_record(run, previous)
        if previous is not None:
            previous.is_current = False
            previous.save(update_fields=["is_current"])
        run.tier_counts = counts
        run.accounts_scored = sum(counts.values())
        run.tier_movement = movement
        run.status = RunStatus.SUCCEEDED
        run.is_current = True
        run.chunks_done = run.chunks_total
        run.finished_at = timezone.now()
        run.save()
        webhooks_emit(
            WebhookEvent.RUN_FINISHED,
            {
                "profile": run.profile.slug,
                "run": run.pk,
                "version": run.version.number,
                "accounts_scored": run.accounts_scored,
                "tier_counts": run.tier_counts,
                "tier_movement": run.tier_movement,
                "finished_at": run.finished_at.isoformat(),
                "changes_cursor": changes_cursor(profile_id=run.profile_id),
            },
        )
    from scoring.tasks import prune_runs_task

    transaction.on_commit(lambda: prune_runs_task.delay(run.profile_id))
    return run


def runs_stalled(
    *, now: datetime | None = None, seconds: int | None = None
) -> dict[str, list[int]]:
    """Runs that made no progress for `seconds` (SCORING_STALL_SECONDS): a
    broker can lose a task outright (a worker killed between taking a message
    and recording it as unacknowledged), and then the chord never fires.
    Returns {"queued": ids to plan again, "running": ids to finish}; run_finish
    scores whatever the lost chunks left behind, and both are safe to repeat."""
    now = now or timezone.now()
    limit = settings.SCORING_STALL_SECONDS if seconds is None else seconds
    before = now - timedelta(seconds=limit)
    active = ScoringRun.objects.order_by("pk")
    return {
        "queued": list(
            active.filter(status=RunStatus.QUEUED, created_at__lt=before).values_list(
                "pk", flat=True
            )
        ),
        "running": list(
            active.filter(status=RunStatus.RUNNING, progressed_at__lt=before).values_list(
                "pk", flat=True
            )
        ),
    }


def run_fail(run_id: int, error: str) -> None:
    ScoringRun.objects.filter(pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
        status=RunStatus.FAILED, error=error[:5000], finished_at=timezone.now()
    )


def _refresh_statistics() -> None:
    """Let PostgreSQL's planner see the run's new rows. Without it the
    planner guesses a few thousand rows for a million and joins the two runs
    with a million index probes (2.4 s instead of a fraction of that)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_SCORES}")


def _tally(run_id: int, previous_id: int | None) -> tuple[dict[str, int], dict[str, int]]:
    """The run's tier counts and the movement from the previous run
    ("A->B": n), in one pass over the two runs' score rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT n.tier, p.tier, COUNT(*) FROM {_SCORES} n "  # noqa: S608
            f"LEFT JOIN {_SCORES} p ON p.run_id = %s AND p.account_id = n.account_id "
            "WHERE n.run_id = %s GROUP BY n.tier, p.tier",
            (previous_id or 0, run_id),
        )
        rows = cursor.fetchall()
    counts: dict[str, int] = {}
    movement: dict[str, int] = {}
    for new, old, count in rows:
        counts[new] = counts.get(new, 0) + count
        if old is not None and old != new:
            movement[f"{old}->{new}"] = count
    return counts, movement


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
    runs = (
        ScoringRun.objects.filter(
            Q(is_current=True) | Q(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        )
        .select_related("version")
        .order_by("profile_id", "pk")
    )
    written = 0
    for run in runs:
        with transaction.atomic():
            _lock_profile(run.profile_id)
            # Read under the lock: a run made current meanwhile is logged too.
            is_current = ScoringRun.objects.filter(pk=run.pk, is_current=True).exists()
            ruleset = ruleset_for(run.version)
            rows = AccountScore.objects.filter(run_id=run.pk, account_id__in=account_ids)
            before = _score_rows(rows) if is_current else {}
            rows.delete()
            written += _insert_scores(run.pk, ruleset, Q(id__in=account_ids))
            if is_current:
                after = _score_rows(rows)
                changed = sorted(a for a, row in after.items() if before.get(a) != row)
                _changes_record_ids(run.profile_id, changed)
    return written


def _score_rows(rows: Any) -> dict[int, tuple[int, str, int]]:
    values = rows.values_list("account_id", "score", "tier", "matched")
    return {account: (score, tier, matched) for account, score, tier, matched in values}


# --- Effective tiers ----------------------------------------------------------


def tier_override_set(
    *, profile: Profile, account: Account, tier: str, actor: User | None, source: str = ""
) -> TierOverride:
    """Make `tier` the account's effective tier under the profile's live
    version, until a newer version goes live."""
    if tier not in {t.value for t in Tier}:
        raise ValidationError({"tier": f"Choose one of {', '.join(t.value for t in Tier)}."})
    with transaction.atomic():
        _lock_profile(profile.pk)
        live = ProfileVersion.objects.filter(profile=profile, status="approved").first()
        if live is None:
            raise ValidationError(f"{profile.name} has no live version to override.")
        before = _effective_override(profile, account)
        override, _ = TierOverride.objects.update_or_create(
            profile=profile,
            account=account,
            defaults={"version": live, "tier": tier, "source": source, "set_by": actor},
        )
        if _effective_override(profile, account) != before:
            _changes_record_ids(profile.pk, [account.pk])
    return override


def tier_override_clear(*, profile: Profile, account: Account) -> None:
    with transaction.atomic():
        _lock_profile(profile.pk)
        before = _effective_override(profile, account)
        TierOverride.objects.filter(profile=profile, account=account).delete()
        if before is not None:
            _changes_record_ids(profile.pk, [account.pk])


def _effective_override(profile: Profile, account: Account) -> str | None:
    """The override tier readers see now: one set under the current run's version."""
    return (
        TierOverride.objects.filter(
            profile=profile,
            account=account,
            version__scoring_runs__profile=profile,
            version__scoring_runs__is_current=True,
        )
        .values_list("tier", flat=True)
        .first()
    )


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
