"""Rescoring runs: set-based, idempotent per chunk, never a mix of versions."""

from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from profiles import services as profile_services
from profiles.models import Profile, ProfileVersion, User
from scoring import score_tables, services
from scoring.engine import evaluate
from scoring.models import Account, AccountScore, RunChunk, RunStatus, ScoringRun
from scoring.rulesets import ruleset_for
from tests.conftest import run_table_has_key
from tests.drafting import approved_version, fill, sign_all
from tests.factories import AccountFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def base() -> list[Account]:
    return [
        AccountFactory.create(employees=450, has_revops=True),  # 100, A
        AccountFactory.create(employees=450, has_revops=None),  # 60, B
        AccountFactory.create(employees=None, has_revops=False),  # 0, C
        AccountFactory.create(employees=450, has_revops=True, country="KP"),  # DQ
        AccountFactory.create(employees=5000, has_revops=True),  # 40, B
    ]


def scores(run: ScoringRun) -> dict[int, tuple[int, str]]:
    return {s.account_id: (s.score, s.tier) for s in AccountScore.objects.filter(run=run)}


def test_a_run_scores_every_account_once_as_the_engine_does(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User
) -> None:
    run = services.run_create(profile=icp, version=v1, actor=ops_manager)
    finished = run_all(run)
    assert finished is not None
    assert finished.status == RunStatus.SUCCEEDED
    assert finished.is_current
    ruleset = ruleset_for(v1)
    expected = {}
    for account in base:
        result = evaluate(ruleset, account.facts())
        expected[account.pk] = (result.score, str(result.tier))
    assert scores(run) == expected
    assert [score for score, _ in expected.values()] == [100, 60, 0, 0, 40]
    assert finished.tier_counts == {"A": 1, "B": 2, "C": 1, "DQ": 1}
    assert finished.accounts_scored == 5
    assert (finished.chunks_total, finished.chunks_done) == (3, 3)


def test_a_chunk_delivered_twice_writes_its_rows_once(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User
) -> None:
    run = services.run_create(profile=icp, version=v1, actor=ops_manager)
    [(low, high)] = services.run_plan(run.pk, chunk_size=10)
    assert services.run_score_chunk(run.pk, low, high) == len(base)
    first = scores(run)
    assert services.run_score_chunk(run.pk, low, high) == 0
    assert scores(run) == first
    assert AccountScore.objects.filter(run=run).count() == len(base)


def test_accounts_created_after_the_split_are_scored_in_the_run(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User
) -> None:
    run = services.run_create(profile=icp, version=v1, actor=ops_manager)
    chunks = services.run_plan(run.pk)
    late = AccountFactory.create(employees=300, has_revops=True)
    for low, high in chunks:
        services.run_score_chunk(run.pk, low, high)
    services.run_finish(run.pk)
    assert scores(run)[late.pk] == (100, "A")
    assert len(scores(run)) == len(base) + 1


def test_a_newer_approval_supersedes_a_run_in_progress(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User
) -> None:
    older = services.run_create(profile=icp, version=v1, actor=ops_manager)
    chunks = services.run_plan(older.pk)
    services.run_score_chunk(older.pk, *chunks[0])
    v1.status = "superseded"
    v1.save()
    v2 = approved_version(icp, 2, [100, 400])
    newer = services.run_create(profile=icp, version=v2, actor=ops_manager)
    older.refresh_from_db()
    assert older.status == RunStatus.SUPERSEDED
    assert services.run_score_chunk(older.pk, *chunks[0]) == 0
    assert services.run_finish(older.pk) is None
    run_all(newer)
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.is_current, newer.is_current) == (False, True)
    assert ScoringRun.objects.filter(profile=icp, is_current=True).get() == newer


def test_the_flip_records_tier_movement_against_the_previous_run(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User
) -> None:
    first = run_all(services.run_create(profile=icp, version=v1, actor=ops_manager))
    v1.status = "superseded"
    v1.save()
    v2 = approved_version(icp, 2, [100, 400])
    second = run_all(services.run_create(profile=icp, version=v2, actor=ops_manager))
    assert first is not None
    assert second is not None
    # 450 employees now falls outside 100-400: A -> B (40), B -> C (0); 5000 stays B (40).
    assert second.tier_movement == {"A->B": 1, "B->C": 1}
    first.refresh_from_db()
    assert not first.is_current


def test_counts_and_movement_hold_when_ingest_rescores_a_chunk_already_done(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User
) -> None:
    run_all(services.run_create(profile=icp, version=v1, actor=ops_manager))
    v1.status = "superseded"
    v1.save()
    v2 = approved_version(icp, 2, [100, 400])
    run = services.run_create(profile=icp, version=v2, actor=ops_manager)
    chunks = services.run_plan(run.pk, 2)
    services.run_score_chunk(run.pk, *chunks[0])
    # base[0] (A under v1) has been tallied as A -> B; now it fits neither.
    Account.objects.filter(pk=base[0].pk).update(employees=None, has_revops=False)
    services.accounts_score([base[0].pk])
    for low, high in chunks[1:]:
        services.run_score_chunk(run.pk, low, high)
    finished = services.run_finish(run.pk)
    assert finished is not None
    tiers = [tier for _, tier in scores(finished).values()]
    assert finished.tier_counts == {t: tiers.count(t) for t in set(tiers)}
    # Under v1 after the ingest base[0] was already C; the flip moves base[1] B -> C only.
    assert finished.tier_movement == {"B->C": 1}


def test_pruning_keeps_the_current_and_the_previous_run(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User
) -> None:
    runs = [
        run_all(services.run_create(profile=icp, version=v1, actor=ops_manager)) for _ in range(4)
    ]
    assert services.runs_prune(profile_id=icp.pk) == 2
    kept = set(ScoringRun.objects.filter(profile=icp).values_list("pk", flat=True))
    assert kept == {runs[2].pk, runs[3].pk}  # type: ignore[union-attr]
    assert set(AccountScore.objects.values_list("run_id", flat=True).distinct()) == kept


def test_pruning_keeps_as_many_runs_as_asked(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User
) -> None:
    runs = [
        run_all(services.run_create(profile=icp, version=v1, actor=ops_manager)) for _ in range(5)
    ]
    assert services.runs_prune(profile_id=icp.pk, keep=3) == 2
    kept = set(ScoringRun.objects.filter(profile=icp).values_list("pk", flat=True))
    assert kept == {run.pk for run in runs[2:] if run is not None}
    assert services.runs_prune(profile_id=icp.pk, keep=1) == 2
    assert set(ScoringRun.objects.filter(profile=icp).values_list("pk", flat=True)) == {
        runs[4].pk  # type: ignore[union-attr]
    }


def test_changed_accounts_are_rescored_at_once_against_the_current_run(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User
) -> None:
    run = run_all(services.run_create(profile=icp, version=v1, actor=ops_manager))
    assert run is not None
    account = base[2]
    Account.objects.filter(pk=account.pk).update(employees=800, has_revops=True)
    services.accounts_score([account.pk])
    assert scores(run)[account.pk] == (100, "A")


def test_approval_queues_a_run_that_rescores_on_commit(
    icp: Profile,
    base: list[Account],
    rep: User,
    marketer: User,
    ops_manager: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    draft = fill(profile_services.version_start_draft(actor=ops_manager, profile=icp), ops_manager)
    profile_services.version_submit(actor=ops_manager, version=draft)
    sign_all(draft, rep, marketer, ops_manager)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        profile_services.version_approve(actor=ops_manager, version=draft)
    assert len(callbacks) >= 1
    run = ScoringRun.objects.get(profile=icp)
    assert (run.status, run.is_current, run.version_id) == (RunStatus.SUCCEEDED, True, draft.pk)
    assert run.accounts_scored == len(base)


def test_a_run_whose_chunk_was_lost_is_finished_by_the_rescue(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User, settings: Any
) -> None:
    from scoring.tasks import rescue_stalled_runs_task

    assert settings.CELERY_BEAT_SCHEDULE["scoring-rescue-stalled-runs"]["task"] == (
        "scoring.rescue_stalled_runs"
    )
    stuck = services.run_create(profile=icp, version=v1, actor=ops_manager, enqueue=False)
    chunks = services.run_plan(stuck.pk, 2)
    for low, high in chunks[1:]:  # the first chunk's task never arrives
        services.run_score_chunk(stuck.pk, low, high)
    assert services.runs_stalled() == {"queued": [], "running": []}  # still within the limit

    later = timezone.now() + timedelta(seconds=settings.SCORING_STALL_SECONDS + 1)
    assert services.runs_stalled(now=later) == {"queued": [], "running": [stuck.pk]}
    settings.SCORING_STALL_SECONDS = 0
    assert rescue_stalled_runs_task() == {"queued": [], "running": [stuck.pk]}
    stuck.refresh_from_db()
    assert (stuck.status, stuck.is_current, stuck.accounts_scored) == (
        RunStatus.SUCCEEDED,
        True,
        len(base),
    )
    ruleset = ruleset_for(v1)
    assert scores(stuck) == {
        a.pk: (evaluate(ruleset, a.facts()).score, evaluate(ruleset, a.facts()).tier) for a in base
    }
    assert rescue_stalled_runs_task() == {"queued": [], "running": []}  # nothing left to do


def test_a_run_whose_first_task_was_lost_is_planned_again_by_the_rescue(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User, settings: Any
) -> None:
    from scoring.tasks import rescue_stalled_runs_task

    lost = services.run_create(profile=icp, version=v1, actor=ops_manager, enqueue=False)
    settings.SCORING_STALL_SECONDS = 0
    assert rescue_stalled_runs_task() == {"queued": [lost.pk], "running": []}
    lost.refresh_from_db()
    assert (lost.status, lost.accounts_scored) == (RunStatus.SUCCEEDED, len(base))


def test_the_rescue_queues_a_stalled_run_once_per_stall_period(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User, settings: Any
) -> None:
    """With no worker to take them, the rescue's tasks would pile up on
    every beat; a run it has just queued waits a whole period again."""
    lost = services.run_create(profile=icp, version=v1, actor=ops_manager, enqueue=False)
    later = timezone.now() + timedelta(seconds=settings.SCORING_STALL_SECONDS + 1)
    assert services.runs_rescue(now=later) == {"queued": [lost.pk], "running": []}
    soon = later + timedelta(seconds=60)
    assert services.runs_rescue(now=soon) == {"queued": [], "running": []}
    again = later + timedelta(seconds=settings.SCORING_STALL_SECONDS + 1)
    assert services.runs_rescue(now=again) == {"queued": [lost.pk], "running": []}


# --- Where a run's scores are stored (PostgreSQL: a table of its own) ------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite keeps every run in one table"
)


@postgres_only
def test_a_run_writes_into_a_table_of_its_own_keyed_at_the_finish_and_dropped_when_pruned(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User
) -> None:
    first = run_all(services.run_create(profile=icp, version=v1, actor=ops_manager))
    run = services.run_create(profile=icp, version=v1, actor=ops_manager)
    assert run_table_has_key(run) is True
    chunks = services.run_plan(run.pk, 2)
    assert run_table_has_key(run) is False  # the chunks write without it
    for low, high in chunks:
        services.run_score_chunk(run.pk, low, high)
    assert AccountScore.objects.filter(run=run).count() == len(base)
    services.run_finish(run.pk)
    assert run_table_has_key(run) is True
    third = run_all(services.run_create(profile=icp, version=v1, actor=ops_manager))
    assert services.runs_prune(profile_id=icp.pk) == 1
    assert first is not None
    assert third is not None
    assert run_table_has_key(first) is None
    assert (run_table_has_key(run), run_table_has_key(third)) == (True, True)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_chunk_being_scored_locks_neither_the_run_nor_the_other_chunks(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User
) -> None:
    run = services.run_create(profile=icp, version=v1, actor=ops_manager, enqueue=False)
    chunks = services.run_plan(run.pk, 2)
    rows = dict(RunChunk.objects.filter(run=run).values_list("low", "pk"))
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"] or "localhost",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
    )
    try:
        with transaction.atomic():
            assert services._chunk_claim(run, *chunks[0]) is not None
            lock = "SELECT 1 FROM {} WHERE id = %s FOR UPDATE NOWAIT"
            other.execute(lock.format("scoring_scoringrun"), [run.pk])
            other.execute(lock.format("scoring_runchunk"), [rows[chunks[1][0]]])
            other.rollback()
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(lock.format("scoring_runchunk"), [rows[chunks[0][0]]])
            other.rollback()
    finally:
        other.close()


@postgres_only
def test_a_runs_table_left_behind_detached_is_emptied_and_attached_again(
    icp: Profile, v1: ProfileVersion, base: list[Account], ops_manager: User
) -> None:
    run = run_all(services.run_create(profile=icp, version=v1, actor=ops_manager))
    assert run is not None
    name = score_tables.table(run.pk)
    with connection.cursor() as cursor:  # a drop that stopped halfway
        cursor.execute(f"ALTER TABLE {score_tables.PARENT} DETACH PARTITION {name}")
    assert not AccountScore.objects.filter(run=run).exists()
    score_tables.create(run.pk)
    assert run_table_has_key(run) is True
    AccountScore.objects.create(run=run, account=base[0], score=100, tier="A")
    assert scores(run) == {base[0].pk: (100, "A")}
