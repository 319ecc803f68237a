"""With Redis down, pages that read the cache still answer: the review
queue works its figures out uncached, and /health/ tells staff which of
database, cache and broker does not answer."""

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from icpsite.celery import ping_task, task_send
from profiles.models import Profile, ProfileVersion, User
from scoring import services as scoring_services
from tests.conftest import point_celery_at
from tests.drafting import approved_version
from tests.factories import AccountFactory, UserFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Client) -> Client:
    client.force_login(UserFactory.create(username="staff", is_staff=True))
    return client


def test_the_review_queue_shows_the_largest_moves_with_the_cache_down(
    client: Client,
    manager: User,
    icp: Profile,
    ops_manager: User,
    cache_down: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    AccountFactory.create(name="Tiny", employees=150, has_revops=True)
    v1 = approved_version(icp, 1, [200, 2000])
    run_all(scoring_services.run_create(profile=icp, version=v1, actor=ops_manager))
    ProfileVersion.objects.filter(pk=v1.pk).update(status="superseded")
    v2 = approved_version(icp, 2, [100, 2000])
    run_all(scoring_services.run_create(profile=icp, version=v2, actor=ops_manager))
    client.force_login(manager)
    with caplog.at_level(logging.WARNING, logger="reviews.selectors"):
        response = client.get("/reviews/")
    assert response.status_code == 200
    assert "Tiny" in response.content.decode()
    assert "Cache not read" in caplog.text


def test_anyone_gets_ok_while_the_database_answers_though_redis_does_not(
    client: Client, db: None, cache_down: None, broker_down: None
) -> None:
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_staff_see_the_cache_and_the_broker_fail_each_within_a_second(
    staff_client: Client, cache_down: None, broker_down: None
) -> None:
    started = time.monotonic()
    response = staff_client.get("/health/")
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert "127.0.0.1:1" in checks["cache"]
    assert "127.0.0.1:1" in checks["broker"]
    assert elapsed < 2


def test_staff_see_the_cache_and_the_broker_ok_on_redis(
    staff_client: Client, settings: Any
) -> None:
    from tests.conftest import CACHE_REDIS_URL, TEST_REDIS_URL, redis_cache, require_redis

    require_redis(TEST_REDIS_URL)
    settings.CACHES = redis_cache(CACHE_REDIS_URL)
    broker, backend, eager = point_celery_at(TEST_REDIS_URL, TEST_REDIS_URL, eager=False)
    try:
        response = staff_client.get("/health/")
    finally:
        point_celery_at(broker, backend, eager=eager)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
    }


@pytest.fixture
def hung_redis() -> Iterator[str]:
    """A server that takes connections and never answers, as a Redis stuck
    behind a dead NAT or failover does."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()
    for conn in held:
        conn.close()


def test_a_send_to_a_redis_that_never_answers_gives_up_in_seconds(
    hung_redis: str, caplog: pytest.LogCaptureFixture
) -> None:
    broker, backend, eager = point_celery_at(hung_redis, hung_redis, eager=False)
    started = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger="icpsite.celery"):
            sent = task_send(ping_task)
    finally:
        point_celery_at(broker, backend, eager=eager)
    assert sent is False
    assert time.monotonic() - started < 6
    assert "icpsite.ping() not sent" in caplog.text
