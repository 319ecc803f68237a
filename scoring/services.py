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
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Max, Min, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from profiles.models import Profile, ProfileVersion, User
from scoring import score_tables, sql
from scoring.cursors import feed_cursor
from scoring.dispatch import claimed_send
from scoring.engine import Tier
from scoring.expressions import scores_select
from scoring.models import (
    MERGED_OUTCOME_PREFIX,
    OUTCOME_DEAL_PREFIX,
    Account,
    AccountScore,
    AccountTombstone,
    ChangeClock,
    Deal,
    RunChunk,
    RunStatus,
    ScoringRun,
    TierOverride,
    WebhookEvent,
)
from scoring.policies import can_remove_accounts
from scoring.rulesets import ruleset_for
from scoring.selectors import account_standing
from scoring.signals import accounts_merging
from scoring.webhooks import webhooks_emit

logger = logging.getLogger(__name__)

# Account ids per chunk task (settings.SCORING_CHUNK_SIZE, by default
# CHUNK_SIZE): large enough that per-task overhead is noise, small enough that
# a redelivered chunk redoes little and progress moves visibly.
CHUNK_SIZE = 50_000
# Runs the sweep sends at most per look (one a minute).
RESEND_BATCH = 100


# --- Change numbers behind "changed since" ------------------------------------


def _clock(profile_id: int) -> ChangeClock:
    """The profile's change counter, locked until the transaction ends:
    writers of a profile's scores and overrides queue here (see ChangeClock)."""
    ChangeClock.objects.get_or_create(profile_id=profile_id)
    return ChangeClock.objects.select_for_update().get(profile_id=profile_id)


def _chunk_begin(profile_id: int) -> None:
    """Hold the profile's counter in shared mode: chunks of a run write side
    by side, and the writers that change the current run wait for them.

    A chunk's commit need not wait for its WAL to reach the disk: if the
    server crashes before it does, the chunk is simply not done (RunChunk),
    and the finish scores it again. No JIT: a chunk's estimated cost sits
    near PostgreSQL's threshold, and compiling it costs more (15 ms and up)
    than it saves on 50,000 rows. And room to hold the chunk's rows while
    they are written and tallied: in the default 4 MB they spill to a
    temporary file.
    """
    if connection.vendor == "postgresql":
        sql.execute(sql.chunk_settings())
        sql.execute(sql.clock_share(profile_id))


def _tick(clock: ChangeClock) -> int:
    clock.seq += 1
    clock.save(update_fields=["seq"])
    return clock.seq


def _mark_changed(profile_id: int, account_ids: Sequence[int], seq: int) -> None:
    """Stamp change number `seq` on the accounts' rows in the current run and,
    where they carry the current run's numbers, in runs in progress."""
    runs = ScoringRun.objects.filter(profile_id=profile_id)
    current = list(runs.filter(is_current=True).values_list("pk", flat=True))
    active = list(
        runs.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).values_list("pk", flat=True)
    )
    now = timezone.now()
    # Run ids as literals: each statement reads only those runs' tables.
    AccountScore.objects.filter(run_id__in=current, account_id__in=account_ids).update(
        changed_seq=seq, changed_at=now
    )
    AccountScore.objects.filter(
        run_id__in=active, account_id__in=account_ids, changed_seq__isnull=False
    ).update(changed_seq=seq, changed_at=now)


# --- Starting and stopping runs ------------------------------------------------


def run_create(
    *, profile: Profile, version: ProfileVersion, actor: User | None, enqueue: bool = True
) -> ScoringRun:
    """Queue a run for a newly approved version; any run still in progress for
    the profile is superseded. Enqueues the rescoring once the caller's
    transaction commits (unless the caller drives the run itself)."""
    now = timezone.now()
    ScoringRun.objects.filter(
        profile=profile, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    ).update(status=RunStatus.SUPERSEDED, finished_at=now)
    # A run its caller drives is stamped as handed over, so the sweep leaves it be.
    run = ScoringRun.objects.create(
        profile=profile,
        version=version,
        requested_by=actor,
        dispatched_at=None if enqueue else now,
    )
    score_tables.create(run.pk)
    if enqueue:
        transaction.on_commit(lambda: run_dispatch(run.pk))
    return run


def run_dispatch(run_id: int, *, resend_before: datetime | None = None) -> bool:
    """Hand a queued run's rescoring to the broker; whether this call did.

    The send is claimed first, by a conditional UPDATE of `dispatched_at`
    that matches only a queued run never handed over (or, with
    `resend_before`, handed over before then): of two callers at once (the
    approval's on-commit hook and the sweep, or two sweeps) one sends. A
    send the broker refuses clears the stamp again, for the sweep's next
    look; the approval that called it has committed and answers anyway.
    """
    from scoring.tasks import rescore_task

    return claimed_send(
        ScoringRun.objects.filter(pk=run_id, status=RunStatus.QUEUED),
        stamp="dispatched_at",
        task=rescore_task,
        object_id=run_id,
        resend_before=resend_before,
    )


def runs_resend(*, now: datetime | None = None) -> list[int]:
    """Send again the rescoring of queued runs whose task never reached a
    worker: never handed over (the broker was down when they were
    approved), or handed over TASK_RESEND_SECONDS ago and still not started
    (the broker lost it). The sweep on beat calls it every minute, so a
    broker that comes back gets them within a minute or two instead of the
    stall rescue's SCORING_STALL_SECONDS. A run sent twice is planned twice,
    which is safe (see run_plan). Returns the ids sent."""
    now = now or timezone.now()
    before = now - timedelta(seconds=settings.TASK_RESEND_SECONDS)
    due = ScoringRun.objects.filter(
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=before), status=RunStatus.QUEUED
    )
    ids = list(due.order_by("pk").values_list("pk", flat=True)[:RESEND_BATCH])
    return [run_id for run_id in ids if run_dispatch(run_id, resend_before=before)]


def run_requeue(run_id: int) -> None:
    """Put a running run back in the queue, unsent, for the sweep on beat
    (runs_resend): its chunks could not be handed to the broker."""
    ScoringRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        status=RunStatus.QUEUED, dispatched_at=None, progressed_at=timezone.now()
    )


def run_on_approval(*, version: ProfileVersion, actor: User, **_: Any) -> None:
    """Receiver of profiles.signals.version_approved."""
    run_create(profile=version.profile, version=version, actor=actor)


def _wanted(run_id: int, *, lock: bool = True) -> ScoringRun | None:
    """The run if it should go on; None once superseded or finished.

    Planning and finishing lock the run row. Chunks only read it, so that
    they can run side by side; a chunk that races a supersession writes rows
    into a run that never becomes current and is pruned.
    """
    runs = ScoringRun.objects.select_related("version", "previous")
    run = (runs.select_for_update(of=("self",)) if lock else runs).filter(pk=run_id).first()
    if run is None or run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        return None
    return run


def _current(profile_id: int) -> ScoringRun | None:
    return ScoringRun.objects.filter(profile_id=profile_id, is_current=True).first()


def run_plan(run_id: int, chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Mark the run running and split the current id space into chunks.

    Accounts created after this point have higher ids and are scored by
    run_finish. Returns the (low, high) id ranges, inclusive; empty when the
    run is no longer wanted or there are no accounts.

    The run's table starts empty (planning again starts over) and without
    its primary key, which the finish builds once all rows are in.
    """
    with transaction.atomic():
        run = _wanted(run_id)
        if run is None:
            return []
        ChangeClock.objects.get_or_create(profile_id=run.profile_id)
        bounds = Account.objects.aggregate(low=Min("id"), high=Max("id"))
        low, high = bounds["low"], bounds["high"]
        size = chunk_size or settings.SCORING_CHUNK_SIZE
        chunks = []
        if low is not None and high is not None:
            chunks = [(start, min(start + size - 1, high)) for start in range(low, high + 1, size)]
        score_tables.clear(run.pk)
        score_tables.key_drop(run.pk)
        RunChunk.objects.filter(run=run).delete()
        RunChunk.objects.bulk_create(RunChunk(run=run, low=lo, high=hi) for lo, hi in chunks)
        run.previous = _current(run.profile_id)
        run.status = RunStatus.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.progressed_at = timezone.now()
        run.split_max_id = high or 0
        run.chunks_total = len(chunks)
        run.chunks_done = 0
        run.save(
            update_fields=[
                "previous",
                "status",
                "started_at",
                "progressed_at",
                "split_max_id",
                "chunks_total",
                "chunks_done",
            ]
        )
    return chunks


Tally = list[tuple[str, str | None, int]]


def _score_into(
    run: ScoringRun,
    previous: ScoringRun | None,
    low: int,
    high: int | None,
    only: Q | None = None,
) -> Tally:
    """Insert the run's scores for the accounts with ids low..high (and
    matching `only`), computed in the database, and return their tally.

    Each row is compared with the account's row in `previous` (the current
    run): when score, tier and matched criteria are the same it keeps that
    row's change number and time, otherwise they stay NULL, "changed by
    this run" (see AccountScore).
    """
    ids = Q(id__gte=low) & (Q(id__lte=high) if high is not None else Q()) & (only or Q())
    select = scores_select(Account.objects.filter(ids), ruleset_for(run.version))
    if connection.vendor == "postgresql":
        # One pass: the rows are written and tallied from the same scan.
        rows = sql.fetchall(sql.scores_write_tallied(run.pk, select, previous, low, high))
        return [(tier, before, int(n)) for tier, before, n in rows]
    sql.execute(sql.scores_write(run.pk, select, previous, low, high))
    return _tally_range(run, previous, low, high)


def _tally_range(run: ScoringRun, previous: ScoringRun | None, low: int, high: int | None) -> Tally:
    """The run's rows with ids low..high, counted by (tier, previous tier)."""
    rows = sql.fetchall(sql.scores_tally(run.pk, previous.pk if previous else None, low, high))
    return [(tier, before, int(n)) for tier, before, n in rows]


def _score_chunk(run: ScoringRun, chunk: RunChunk) -> int:
    """Score a chunk not done yet: the run holds no rows in its range (ingest
    writes only into done chunks, see accounts_score)."""
    chunk.tally = _score_into(run, run.previous, chunk.low, chunk.high)
    chunk.done = True
    RunChunk.objects.filter(pk=chunk.pk).update(done=True, tally=chunk.tally)
    return sum(n for _, _, n in chunk.tally)


def _chunk_claim(run: ScoringRun, low: int, high: int) -> RunChunk | None:
    """The chunk, its row locked until the transaction ends; None when it
    is done (a second delivery, or the finish did it meanwhile) or the run
    was planned again since (the new plan's tasks do the work).

    Only the chunk's own row is locked (`of`): RunChunk orders by its run,
    and a plain FOR UPDATE would lock the run's row through that join too,
    making the chunks of a run wait for each other.
    """
    chunks = RunChunk.objects.select_for_update(of=("self",)).order_by("pk")
    chunk = chunks.filter(run=run, low=low, high=high).first()
    return None if chunk is None or chunk.done else chunk


def run_score_chunk(run_id: int, low: int, high: int) -> int:
    """Score accounts low..high for the run; a repeat finds the chunk done
    and writes nothing. Returns the rows written."""
    with transaction.atomic():
        run = _wanted(run_id, lock=False)
        if run is None:
            return 0
        _chunk_begin(run.profile_id)
        chunk = _chunk_claim(run, low, high)
        if chunk is None:
            return 0
        written = _score_chunk(run, chunk)
        ScoringRun.objects.filter(pk=run_id, chunks_done__lt=F("chunks_total")).update(
            chunks_done=F("chunks_done") + 1, progressed_at=timezone.now()
        )
    return written


def run_finish(run_id: int) -> ScoringRun | None:
    """Score every account the run has not scored yet (those created since
    the split, and the chunks of any lost task), then make the run current,
    recording tier counts and movement against the previous current run."""
    profile_id = ScoringRun.objects.filter(pk=run_id).values_list("profile_id", flat=True).first()
    if profile_id is None:
        return None
    with transaction.atomic():
        # The counter first, as every writer takes it: waits for chunks still writing.
        clock = _clock(profile_id)
        run = _wanted(run_id)
        if run is None:
            return None
        current = _current(run.profile_id)
        chunks = list(run.chunks.all())
        if current != run.previous:
            # Another run became current after the split: compare with it,
            # starting over.
            run.previous = current
            score_tables.clear(run.pk)
            chunks = [RunChunk(pk=c.pk, run=run, low=c.low, high=c.high) for c in chunks]
        for chunk in chunks:
            if not chunk.done:  # its task was lost, or compared with another run
                _score_chunk(run, chunk)
        # Accounts that arrived after the split: ingest left them to this step.
        tally = _score_into(run, current, (run.split_max_id or 0) + 1, None)
        score_tables.key_build(run.pk)
        for chunk in chunks:
            if chunk.tally is None:  # ingest rescored accounts in it since
                chunk.tally = _tally_range(run, current, chunk.low, chunk.high)
                RunChunk.objects.filter(pk=chunk.pk).update(tally=chunk.tally)
            tally += [(t, before, n) for t, before, n in chunk.tally]
        counts, movement = _counts(tally)
        if current is None or current.version_id != run.version_id:
            # Overrides under the old version stop applying, those under the
            # new one start: their accounts change at the flip.
            versions = {run.version_id} | ({current.version_id} if current else set())
            overridden = list(
                TierOverride.objects.filter(
                    profile_id=run.profile_id, version_id__in=versions
                ).values_list("account_id", flat=True)
            )
            _mark_changed_by_run(run, overridden)
        if current is not None:
            current.is_current = False
            current.save(update_fields=["is_current"])
        run.feed_seq = _tick(clock)
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
                "changes_cursor": feed_cursor(profile_id=run.profile_id, seq=run.feed_seq),
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
    idle = Q(progressed_at__lt=before) | Q(progressed_at__isnull=True, created_at__lt=before)
    return {
        "queued": list(active.filter(idle, status=RunStatus.QUEUED).values_list("pk", flat=True)),
        "running": list(active.filter(idle, status=RunStatus.RUNNING).values_list("pk", flat=True)),
    }


def runs_rescue(*, now: datetime | None = None) -> dict[str, list[int]]:
    """The stalled runs, each stamped as handled now: while no worker takes
    the rescue's tasks, the next beat leaves them be for another stall
    period instead of queueing the same run again every few minutes."""
    now = now or timezone.now()
    with transaction.atomic():
        stalled = runs_stalled(now=now)
        ScoringRun.objects.filter(pk__in=stalled["queued"] + stalled["running"]).update(
            progressed_at=now
        )
    return stalled


def run_fail(run_id: int, error: str) -> None:
    ScoringRun.objects.filter(pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
        status=RunStatus.FAILED, error=error[:5000], finished_at=timezone.now()
    )


def _mark_changed_by_run(run: ScoringRun, account_ids: list[int]) -> None:
    """Mark the accounts' rows in `run` as changed by the run itself.

    One statement per account, each naming the whole primary key: the run's
    rows have no statistics yet, and given an IN list the planner reads the
    whole run through the index to find a handful of accounts (0.1-0.3 s at a
    million). psycopg sends the statements in one pipeline.
    """
    sql.execute_many(sql.scores_mark_changed_by_run(run.pk, account_ids))


def _counts(tally: Tally) -> tuple[dict[str, int], dict[str, int]]:
    """Tier counts and the movement from the previous run ("A->B": n)."""
    counts: dict[str, int] = {}
    movement: dict[str, int] = {}
    for tier, before, n in tally:
        counts[tier] = counts.get(tier, 0) + n
        if before is not None and before != tier:
            key = f"{before}->{tier}"
            movement[key] = movement.get(key, 0) + n
    return counts, movement


def runs_prune(*, profile_id: int, keep: int = 2) -> int:
    """Delete the scores and rows of the profile's finished runs but the
    `keep` latest: the current run and the succeeded runs before it (by
    default the one before, which the account history compares with).
    The current run gets its statistics and the accounts list's indexes
    first (score_tables.indexes_build). Returns how many runs were removed."""
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
        )
        keep_ids.update(before[: max(keep - 1, 0)])
    if current is not None:
        score_tables.analyze(current.pk)
        score_tables.indexes_build(current.pk)
    doomed = list(finished.exclude(pk__in=keep_ids).values_list("pk", flat=True))
    runs_delete(run_ids=doomed)
    return len(doomed)


def runs_delete(*, run_ids: Sequence[int]) -> None:
    """Delete runs and their scores (score rows carry no foreign key, so
    nothing cascades to them). The scores go first: a run whose row is left
    without its scores is simply deleted again."""
    for run_id in run_ids:
        score_tables.drop(run_id)
        ScoringRun.objects.filter(pk=run_id).delete()


# --- Scoring accounts outside a run ------------------------------------------


def accounts_score(account_ids: list[int]) -> int:
    """Score these accounts now against every profile's current run and any
    run in progress, so new and changed accounts show their tier at once and
    a run in progress misses none of them. Returns how many scores were
    computed: the accounts found once for each profile with a current run
    (whether or not a score changed), plus those scored again in runs in
    progress."""
    if not account_ids:
        return 0
    found = Account.objects.filter(id__in=account_ids).count()
    live = Q(is_current=True) | Q(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
    written = 0
    for profile_id in _live_profile_ids():
        with transaction.atomic():
            clock = _clock(profile_id)
            # Read under the lock: a run made current meanwhile is seen as such.
            runs = list(ScoringRun.objects.filter(live, profile_id=profile_id).order_by("pk"))
            current = next((run for run in runs if run.is_current), None)
            if current is not None and _rescore_current(current, account_ids, clock.seq + 1):
                _tick(clock)
            if current is not None:
                written += found
            for run in runs:
                if not run.is_current:
                    written += _rescore_in_progress(run, current, account_ids)
    return written


def _rescore_in_progress(
    run: ScoringRun, current: ScoringRun | None, account_ids: list[int]
) -> int:
    """Score again those of the accounts that the run's chunks have already
    scored; the others are still ahead of the run (a chunk not done yet, or
    created after the split, which the finish scores), and it will read
    their new data itself. Returns how many were scored."""
    done = list(RunChunk.objects.filter(run=run, done=True).values_list("low", "high"))
    ids = [i for i in account_ids if any(low <= i <= high for low, high in done)]
    if not ids:
        return 0
    low, high = min(ids), max(ids)
    AccountScore.objects.filter(run_id=run.pk, account_id__in=ids).delete()
    tally = _score_into(run, current, low, high, Q(id__in=ids))
    # The chunks that tallied these accounts count again at the finish.
    RunChunk.objects.filter(run=run, done=True, low__lte=high, high__gte=low).update(tally=None)
    return sum(n for _, _, n in tally)


def _rescore_current(run: ScoringRun, account_ids: list[int], seq: int) -> int:
    """Score the accounts into the current run; rows whose score, tier or
    matched criteria change (or are new) get change number `seq`, and every
    row its copies of the account's columns (AccountScore). Returns how
    many rows changed score, tier or matched criteria."""
    accounts = Account.objects.filter(id__in=account_ids)
    select = scores_select(accounts, ruleset_for(run.version))
    written = sql.execute(sql.scores_upsert(run.pk, select, seq, timezone.now()))
    sql.execute(sql.scores_copies_refresh(run.pk, sql.of(accounts.values("id"))))
    return written


# --- Effective tiers ----------------------------------------------------------


def tier_override_set(
    *, profile: Profile, account: Account, tier: str, actor: User | None, source: str = ""
) -> TierOverride:
    """Make `tier` the account's effective tier under the profile's live
    version, until a newer version goes live."""
    if tier not in {t.value for t in Tier}:
        raise ValidationError({"tier": f"Choose one of {', '.join(t.value for t in Tier)}."})
    with transaction.atomic():
        _account_hold(account)
        clock = _clock(profile.pk)
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
            _mark_changed(profile.pk, [account.pk], _tick(clock))
    return override


def tier_override_clear(*, profile: Profile, account: Account) -> None:
    with transaction.atomic():
        _account_hold(account)
        clock = _clock(profile.pk)
        before = _effective_override(profile, account)
        TierOverride.objects.filter(profile=profile, account=account).delete()
        if before is not None:
            _mark_changed(profile.pk, [account.pk], _tick(clock))


def _effective_override(profile: Profile, account: Account) -> str | None:
    """The override tier readers see now (see scoring.selectors.live_override)."""
    return account_standing(account=account, profile=profile).override_tier


def _account_hold(account: Account) -> None:
    """Lock the account's row (without blocking rows that merely point at
    it) before its profile's clock, the order ingest and removals take
    them in; refused when the account was removed meanwhile."""
    if not Account.objects.select_for_update(no_key=True).filter(pk=account.pk).exists():
        raise ValidationError({"account": f"{account.external_id!r} was removed meanwhile."})


# --- Removing and merging accounts -------------------------------------------

# External ids a merge takes at most in `merged`, as a bulk request's rows.
MERGE_MAX = 1000


@dataclass(frozen=True)
class AccountMerge:
    """What a merge did: the survivor, the external ids merged into it (now
    removed), and the deals and tier overrides it took over."""

    into: Account
    merged: list[str]
    deals_moved: int
    tier_overrides_moved: int


def _require_remover(actor: User | None) -> None:
    if actor is not None:
        verdict = can_remove_accounts(actor)
        if not verdict:
            raise PermissionDenied(verdict.reason)


def _live_profile_ids() -> list[int]:
    """Profiles with a current run or a run in progress, in id order."""
    live = Q(is_current=True) | Q(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
    return sorted(set(ScoringRun.objects.filter(live).values_list("profile_id", flat=True)))


def _accounts_locked(rows: Q) -> list[Account]:
    """The accounts matching `rows`, locked until the transaction ends, in id order."""
    return list(Account.objects.select_for_update().filter(rows).order_by("pk"))


def _removal_seqs() -> dict[int, int]:
    """Lock the clock of every profile with a current run or a run in
    progress (in profile order), after the accounts' rows, and draw the
    removal's change number for each profile with a current run, whose feed
    reports the tombstones: profile id -> number. The lock also waits for
    chunks still writing, so none of them scores a removed account after."""
    clocks = {profile_id: _clock(profile_id) for profile_id in _live_profile_ids()}
    current = ScoringRun.objects.filter(profile_id__in=list(clocks), is_current=True)
    with_feed = sorted(current.values_list("profile_id", flat=True))
    return {profile_id: _tick(clocks[profile_id]) for profile_id in with_feed}


def _accounts_delete(accounts: list[Account], seqs: dict[int, int]) -> None:
    """Tombstone the accounts in the feeds of `seqs` (profile id -> the
    removal's change number), drop their scores from the runs kept and in
    progress (score rows carry no foreign key), have runs in progress count
    again the chunks that held them, and delete them with what points at
    them (deals, tier overrides, and the apps' rows, claims among them)."""
    ids = [account.pk for account in accounts]
    now = timezone.now()
    AccountTombstone.objects.bulk_create(
        AccountTombstone(
            profile_id=profile_id,
            account_id=account.pk,
            external_id=account.external_id,
            seq=seq,
            removed_at=now,
        )
        for profile_id, seq in seqs.items()
        for account in accounts
    )
    kept = [RunStatus.SUCCEEDED, RunStatus.QUEUED, RunStatus.RUNNING]
    # Run ids as literals: each run's table is read through its own key.
    runs = list(ScoringRun.objects.filter(status__in=kept).values_list("pk", flat=True))
    AccountScore.objects.filter(run_id__in=runs, account_id__in=ids).delete()
    done = RunChunk.objects.filter(
        run__status__in=[RunStatus.QUEUED, RunStatus.RUNNING], done=True
    ).values_list("pk", "low", "high")
    held = [pk for pk, low, high in done if any(low <= i <= high for i in ids)]
    RunChunk.objects.filter(pk__in=held).update(tally=None)
    Account.objects.filter(pk__in=ids).delete()


def accounts_remove(*, actor: User | None, account_ids: Collection[int]) -> list[Account]:
    """Remove accounts (the CRM deleted them): their deals, tier overrides,
    claims and scores go with them, and every profile's scores feed reports
    each once as a tombstone to a sync reading changes since before it. The
    API's deletes and the admin's come through here. Returns the accounts
    removed: those of `account_ids` still held, so a repeat removes nothing.
    `actor` None is the system; a person must be allowed to remove."""
    _require_remover(actor)
    with transaction.atomic():
        accounts = _accounts_locked(Q(pk__in=list(account_ids)))
        if accounts:
            _accounts_delete(accounts, _removal_seqs())
    return accounts


def _merge_check(into: str, merged: Sequence[str]) -> None:
    """The merge's request as a whole: named by field, before any lookup."""
    errors: dict[str, list[str]] = {}
    if not merged:
        errors["from"] = ["Name at least one account to merge into the survivor."]
    elif len(merged) > MERGE_MAX:
        errors["from"] = [f"Merge at most {MERGE_MAX:,} accounts at a time; got {len(merged):,}."]
    else:
        repeated = sorted(e for e, n in Counter(merged).items() if n > 1)
        if repeated:
            errors["from"] = [f"{e!r} is listed more than once." for e in repeated]
        if into in merged:
            errors.setdefault("from", []).append(
                f"{into!r} is the survivor (`into`); it cannot be merged into itself."
            )
    if errors:
        raise ValidationError(errors)


def _tier_overrides_take_over(survivor: Account, merged: list[Account]) -> tuple[int, list[int]]:
    """Give the survivor the merged accounts' tier overrides under the
    profiles where it has none of its own (of several, the latest set);
    where it has one, it keeps its own. Returns how many moved and the
    profiles where the survivor's effective tier changed by it, by the rule
    readers use (scoring.selectors.account_standing)."""
    own = TierOverride.objects.filter(account=survivor).values_list("profile_id", flat=True)
    theirs = (
        TierOverride.objects.filter(account__in=merged)
        .exclude(profile_id__in=list(own))
        .order_by("profile_id", "-set_at", "-pk")
        .values_list("profile_id", "pk")
    )
    chosen: dict[int, int] = {}
    for profile_id, pk in theirs:
        chosen.setdefault(profile_id, pk)
    if not chosen:
        return 0, []
    profiles = Profile.objects.in_bulk(list(chosen))
    before = {pid: _effective_override(profiles[pid], survivor) for pid in sorted(chosen)}
    moved = TierOverride.objects.filter(pk__in=list(chosen.values())).update(account=survivor)
    changed = [pid for pid in before if _effective_override(profiles[pid], survivor) != before[pid]]
    return moved, changed


def accounts_merge(*, actor: User | None, into: str, merged: Sequence[str]) -> AccountMerge:
    """Merge accounts into one (the CRM merged them), by external id: the
    survivor `into` keeps its own attributes and takes over the merged
    accounts' deals and tier overrides (where it has an override under a
    profile, it keeps its own); the apps above move what they hold through
    scoring.signals.accounts_merging; then the merged accounts are removed
    as accounts_remove removes them, tombstones included. All in one
    transaction. Raises ValidationError naming `into` or `from`."""
    _require_remover(actor)
    _merge_check(into, merged)
    with transaction.atomic():
        held = {a.external_id: a for a in _accounts_locked(Q(external_id__in=[into, *merged]))}
        errors: dict[str, list[str]] = {}
        if into not in held:
            errors["into"] = [f"No account {into!r}."]
        unknown = [external_id for external_id in merged if external_id not in held]
        if unknown:
            errors["from"] = [f"No account {external_id!r}." for external_id in unknown]
        if errors:
            raise ValidationError(errors)
        survivor = held[into]
        gone = [held[external_id] for external_id in merged]
        seqs = _removal_seqs()
        overrides_moved, changed = _tier_overrides_take_over(survivor, gone)
        # A merged account's outcome deal becomes an ordinary deal of the
        # survivor: renamed, so it is neither the survivor's outcome deal nor
        # the one of a new account that later takes the merged external id.
        Deal.objects.filter(account__in=gone, external_id__startswith=OUTCOME_DEAL_PREFIX).update(
            external_id=Concat(Value(MERGED_OUTCOME_PREFIX), F("external_id"))
        )
        deals_moved = Deal.objects.filter(account__in=gone).update(
            account=survivor, updated_at=timezone.now()
        )
        accounts_merging.send(sender=Account, into=survivor, merged=gone, actor=actor)
        _accounts_delete(gone, seqs)
        for profile_id in changed:
            if profile_id in seqs:
                _mark_changed(profile_id, [survivor.pk], seqs[profile_id])
    return AccountMerge(
        into=survivor,
        merged=list(merged),
        deals_moved=deals_moved,
        tier_overrides_moved=overrides_moved,
    )


def tombstones_prune(*, now: datetime | None = None) -> int:
    """Delete the tombstones older than FEED_TOMBSTONE_RETENTION_DAYS. Each
    profile's clock keeps the highest change number pruned, in the same
    transaction, so a sync whose cursor is older is told to start over
    rather than miss a removal (see scoring.selectors.removals_pruned_seq).
    On beat, nightly; returns how many went."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.FEED_TOMBSTONE_RETENTION_DAYS)
    old = AccountTombstone.objects.filter(removed_at__lt=before)
    tops = old.order_by().values("profile_id").annotate(top=Max("seq"))
    pruned = 0
    for profile_id, top in tops.values_list("profile_id", "top"):
        with transaction.atomic():
            ChangeClock.objects.filter(profile_id=profile_id, tombstones_pruned_seq__lt=top).update(
                tombstones_pruned_seq=top
            )
            deleted, _ = old.filter(profile_id=profile_id, seq__lte=top).delete()
            pruned += deleted
    return pruned


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
