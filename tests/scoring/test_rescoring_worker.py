"""Rescoring through Redis and a real worker process (PostgreSQL only)."""

import subprocess
import time

import pytest

from profiles.models import Profile, User
from scoring.models import AccountScore, RunStatus, ScoringRun
from tests.drafting import approve_new_version
from tests.factories import AccountFactory

pytestmark = [pytest.mark.integration]


def wait_for(run: ScoringRun, timeout: float = 60) -> ScoringRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if not run.is_active:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run.pk} still {run.status} after {timeout}s")


def test_an_approval_is_rescored_by_the_worker(
    celery_worker_process: subprocess.Popen[bytes],
    transactional_db: None,
    icp: Profile,
    rep: User,
    marketer: User,
    ops_manager: User,
) -> None:
    accounts = AccountFactory.create_batch(30)
    version = approve_new_version(icp, rep, marketer, ops_manager)
    run = wait_for(ScoringRun.objects.get(version=version))
    assert (run.status, run.is_current, run.accounts_scored) == (RunStatus.SUCCEEDED, True, 30)
    assert AccountScore.objects.filter(run=run).count() == len(accounts)


def test_a_second_approval_leaves_one_current_run_for_the_newest_version(
    celery_worker_process: subprocess.Popen[bytes],
    transactional_db: None,
    icp: Profile,
    rep: User,
    marketer: User,
    ops_manager: User,
) -> None:
    AccountFactory.create_batch(30)
    approve_new_version(icp, rep, marketer, ops_manager)
    newest = approve_new_version(icp, rep, marketer, ops_manager)
    runs = [wait_for(run) for run in ScoringRun.objects.filter(profile=icp).order_by("pk")]
    current = ScoringRun.objects.get(profile=icp, is_current=True)
    assert current.version_id == newest.pk
    assert {run.status for run in runs} <= {RunStatus.SUCCEEDED, RunStatus.SUPERSEDED}
    assert AccountScore.objects.filter(run=current).count() == 30
