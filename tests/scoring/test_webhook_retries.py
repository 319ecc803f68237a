"""A failed webhook delivery retried by a real worker through the broker
(PostgreSQL only): the task's self.retry path, not the eager loop."""

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pytest_django import DjangoDbBlocker

from scoring.models import DeliveryStatus, WebhookDelivery
from scoring.webhooks import webhooks_emit
from tests.conftest import (
    OUTAGE_REDIS_URL,
    point_celery_at,
    require_redis,
    start_worker,
    stop_worker,
    worker_database_url,
)
from tests.quick_retries_worker import RETRY_SECONDS
from tests.webhooks import Receiver, subscribe, verify

pytestmark = [pytest.mark.integration]


@pytest.fixture
def quick_retries_worker(
    transactional_db: None, django_db_blocker: DjangoDbBlocker, tmp_path: Path
) -> Iterator[Path]:
    """A worker on a Redis of its own, allowed to deliver to 127.0.0.1, whose
    webhook retries are RETRY_SECONDS apart. Yields the worker's log."""
    require_redis(OUTAGE_REDIS_URL)
    database_url = worker_database_url(django_db_blocker)
    redis.Redis.from_url(OUTAGE_REDIS_URL).flushdb()
    log_path = tmp_path / "worker.log"
    broker, backend, eager = point_celery_at(OUTAGE_REDIS_URL, OUTAGE_REDIS_URL, eager=False)
    worker: subprocess.Popen[bytes] | None = None
    try:
        worker = start_worker(
            redis_url=OUTAGE_REDIS_URL,
            database_url=database_url,
            log_path=log_path,
            env={"WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"},
            module="tests.quick_retries_worker",
        )
        yield log_path
    finally:
        point_celery_at(broker, backend, eager=eager)
        if worker is not None:
            stop_worker(worker)


def settled(delivery_id: int, timeout: float = 30) -> WebhookDelivery:
    """The delivery once it is no longer pending."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        if delivery.status != DeliveryStatus.PENDING:
            return delivery
        time.sleep(0.2)
    raise AssertionError(f"delivery {delivery_id} still pending after {timeout} s")


def test_a_receiver_that_fails_first_gets_the_delivery_on_the_workers_retry(
    quick_retries_worker: Path, receiver: Receiver
) -> None:
    subscribe(receiver.url, "override.accepted")
    receiver.statuses = [503]
    [delivery_id] = webhooks_emit("override.accepted", {"account": "crm-1"})
    delivery = settled(delivery_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 2)
    assert (delivery.response_status, delivery.last_error) == (200, "")
    first, second = receiver.received
    assert verify(first) == verify(second) == delivery.payload
    assert first["headers"]["X-Icpsite-Delivery"] == second["headers"]["X-Icpsite-Delivery"]
    log = quick_retries_worker.read_text(errors="replace")
    assert f"Retry in {RETRY_SECONDS}s" in log
