"""A task travels through Redis to a real worker process and back."""

import subprocess

import pytest
from django.db import connection

from icpsite.celery import ping_task

pytestmark = [pytest.mark.integration]


def test_a_task_round_trips_through_redis_and_a_worker(
    celery_worker_process: subprocess.Popen[bytes], transactional_db: None
) -> None:
    result = ping_task.delay()
    answer = result.get(timeout=30)
    assert result.successful()
    assert answer["database"] == connection.settings_dict["NAME"]
    assert celery_worker_process.poll() is None


def test_the_task_runs_in_the_worker_not_in_this_process(
    celery_worker_process: subprocess.Popen[bytes], transactional_db: None
) -> None:
    result = ping_task.apply_async()
    assert result.get(timeout=30)
    stats = result.app.control.inspect(timeout=2).stats()
    assert stats is not None
    worker_hosts = set(stats)
    assert any(host.startswith("test-") for host in worker_hosts)
    assert result.backend.__class__.__name__ == "RedisBackend"
