"""A worker killed mid-run loses nothing, and accounts ingested during a run
are scored in it (PostgreSQL, Redis and real worker processes)."""

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from pytest_django import DjangoDbBlocker

from profiles.models import Profile, User
from scoring import services
from scoring.engine import evaluate
from scoring.models import Account, AccountScore, RunStatus, ScoringRun
from scoring.rulesets import ruleset_for
from scoring.tasks import rescue_stalled_runs_task
from tests.conftest import (
    point_celery_at,
    redis_url_here,
    require_redis,
    start_worker,
    stop_worker,
    worker_database_url,
)
from tests.drafting import approve_new_version
from tests.factories import AccountFactory

pytestmark = [pytest.mark.integration]

# A broker of its own, so the suite's shared worker cannot pick up this run.
KILL_REDIS_URL = redis_url_here("TEST_KILL_REDIS_URL", "redis://127.0.0.1:6379/14")
# Small chunks make the run long enough to kill in the middle; a short
# visibility timeout, checked every second, hands the killed worker's tasks
# to the next worker within seconds.
WORKER_ENV = {
    "SCORING_CHUNK_SIZE": "20",
    "CELERY_VISIBILITY_TIMEOUT": "3",
    "CELERY_RESTORE_CHECK_SECONDS": "1",
}
ACCOUNTS = 1200


@pytest.fixture
def kill_broker(
    transactional_db: None, django_db_blocker: DjangoDbBlocker, tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    require_redis(KILL_REDIS_URL)
    database_url = worker_database_url(django_db_blocker)
    redis.Redis.from_url(KILL_REDIS_URL).flushdb()
    broker, backend, eager = point_celery_at(KILL_REDIS_URL, KILL_REDIS_URL, eager=False)
    try:
        yield database_url, tmp_path / "worker.log"
    finally:
        point_celery_at(broker, backend, eager=eager)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_a_run_survives_a_killed_worker_and_scores_accounts_ingested_meanwhile(
    kill_broker: tuple[str, Path],
    settings: object,
    icp: Profile,
    rep: User,
    marketer: User,
    ops_manager: User,
) -> None:
    database_url, log_path = kill_broker
    settings.SCORING_CHUNK_SIZE = int(WORKER_ENV["SCORING_CHUNK_SIZE"])  # type: ignore[attr-defined]
    Account.objects.bulk_create(
        AccountFactory.build(employees=100 + i % 3000, has_revops=i % 2 == 0)
        for i in range(ACCOUNTS)
    )
    first = start_worker(
        redis_url=KILL_REDIS_URL, database_url=database_url, log_path=log_path, env=WORKER_ENV
    )
    try:
        version = approve_new_version(icp, rep, marketer, ops_manager)
        run = ScoringRun.objects.get(version=version)

        def some_chunks_done() -> bool:
            run.refresh_from_db()
            return run.chunks_done >= 5

        wait_until(some_chunks_done, 60, "the first chunks")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            stop_worker(first)
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    assert run.chunks_done < run.chunks_total

    # Ingest while the run is in progress: new accounts, and a change to an
    # account whose chunk has already been scored.
    arrived = Account.objects.bulk_create(AccountFactory.build(employees=500) for _ in range(25))
    changed = Account.objects.order_by("id").first()
    assert changed is not None
    Account.objects.filter(pk=changed.pk).update(employees=None, has_revops=None)
    services.accounts_score([a.pk for a in arrived] + [changed.pk])

    second = start_worker(
        redis_url=KILL_REDIS_URL, database_url=database_url, log_path=log_path, env=WORKER_ENV
    )
    # The killed worker's unacknowledged tasks come back after the visibility
    # timeout. One it had taken from Redis but not yet recorded is gone for
    # good; the rescue, which beat runs every few minutes, finishes the run
    # once progress has stopped for SCORING_STALL_SECONDS.
    settings.SCORING_STALL_SECONDS = 10  # type: ignore[attr-defined]
    try:

        def finished() -> bool:
            run.refresh_from_db()
            if run.is_active:
                rescue_stalled_runs_task()
            return not run.is_active

        wait_until(finished, 120, "the run to finish after the restart")
    finally:
        stop_worker(second)

    assert (run.status, run.is_current) == (RunStatus.SUCCEEDED, True)
    total = ACCOUNTS + len(arrived)
    assert AccountScore.objects.filter(run=run).count() == total == run.accounts_scored
    ruleset = ruleset_for(version)
    stored = {s.account_id: (s.score, s.tier) for s in AccountScore.objects.filter(run=run)}
    for account in Account.objects.all():
        result = evaluate(ruleset, account.facts())
        assert stored[account.pk] == (result.score, result.tier), account.pk
    assert stored[changed.pk] == (60, "B")  # was A (70) before its RevOps flag went unknown
