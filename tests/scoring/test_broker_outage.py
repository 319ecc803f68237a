"""When Redis (the broker and the cache) does not answer, approval still
answers at once and commits; what it could not send is sent by the sweep on
beat once Redis answers again: the run is scored and the webhook delivered
without waiting for the stall rescue."""

import logging
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import kombu.exceptions
import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoDbBlocker
from rest_framework.test import APIClient

from profiles import services as profile_services
from profiles.models import Profile, ProfileVersion, User
from scoring import dispatch, services, webhooks
from scoring.ingest import jobs
from scoring.models import (
    Account,
    DeliveryStatus,
    ImportJob,
    ImportJobStatus,
    RunStatus,
    ScoringRun,
    WebhookDelivery,
)
from scoring.tasks import resend_unsent_task
from tests.conftest import (
    DOWN_URL,
    OUTAGE_REDIS_URL,
    point_celery_at,
    require_redis,
    start_worker,
    stop_worker,
    worker_database_url,
)
from tests.drafting import approved_version, fill, sign_all
from tests.factories import AccountFactory
from tests.importing import csv_file, queued
from tests.webhooks import Receiver, subscribe, verify

# Approval must answer well within this while Redis is down (it took 19 s).
ANSWER_SECONDS = 3.0


def ready_to_approve(icp: Profile, rep: User, marketer: User, ops_manager: User) -> ProfileVersion:
    draft = profile_services.version_start_draft(actor=ops_manager, profile=icp)
    draft = fill(draft, ops_manager)
    profile_services.version_submit(actor=ops_manager, version=draft)
    sign_all(draft, rep, marketer, ops_manager)
    draft.refresh_from_db()
    return draft


def approve_by_api(ops_manager: User, version: ProfileVersion) -> tuple[Any, float]:
    client = APIClient()
    client.force_login(ops_manager)
    url = f"/api/v1/profiles/{version.profile.slug}/versions/{version.number}/approve/"
    started = time.monotonic()
    response = client.post(url, {"revision": version.revision}, format="json")
    return response, time.monotonic() - started


def test_the_approval_page_answers_at_once_and_approves_while_redis_is_down(
    transactional_db: None,
    broker_down: None,
    cache_down: None,
    receiver: Receiver,
    client: Client,
    icp: Profile,
    rep: User,
    marketer: User,
    ops_manager: User,
    caplog: pytest.LogCaptureFixture,
) -> None:
    subscribe(receiver.url, "version.approved")
    version = ready_to_approve(icp, rep, marketer, ops_manager)
    client.force_login(ops_manager)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="icpsite.celery"):
        response = client.post(
            f"/profiles/{icp.slug}/v{version.number}/approve/", {"revision": version.revision}
        )
    elapsed = time.monotonic() - started

    assert response.status_code == 302
    assert elapsed < ANSWER_SECONDS
    version.refresh_from_db()
    assert version.status == "approved"
    run = ScoringRun.objects.get(version=version)
    assert (run.status, run.dispatched_at) == (RunStatus.QUEUED, None)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.due_at, delivery.attempts) == (
        DeliveryStatus.PENDING,
        None,
        0,
    )
    assert receiver.received == []
    assert "scoring.rescore" in caplog.text
    assert "not sent" in caplog.text
    page = client.get(f"/profiles/{icp.slug}/scoring/progress/")
    assert page.status_code == 200
    assert "rescoring starts by itself" in page.content.decode()


def test_the_api_approves_and_answers_json_while_redis_is_down(
    transactional_db: None,
    broker_down: None,
    cache_down: None,
    icp: Profile,
    rep: User,
    marketer: User,
    ops_manager: User,
) -> None:
    version = ready_to_approve(icp, rep, marketer, ops_manager)
    response, elapsed = approve_by_api(ops_manager, version)
    assert response.status_code == 200
    assert elapsed < ANSWER_SECONDS
    assert response.json()["status"] == "approved"
    client = APIClient()
    client.force_login(ops_manager)
    listing = client.get("/api/v1/profiles/")
    assert listing.status_code == 200
    assert listing["Content-Type"] == "application/json"


def test_the_sweep_sends_the_run_and_the_webhook_the_outage_held_back(
    transactional_db: None,
    receiver: Receiver,
    icp: Profile,
    rep: User,
    marketer: User,
    ops_manager: User,
) -> None:
    subscribe(receiver.url, "version.approved")
    AccountFactory.create_batch(5)
    version = ready_to_approve(icp, rep, marketer, ops_manager)
    broker, backend, eager = point_celery_at(DOWN_URL, DOWN_URL, eager=False)
    try:
        assert approve_by_api(ops_manager, version)[0].status_code == 200
        assert receiver.received == []
        # The broker back, its tasks run here (whatever an earlier test of
        # the session pointed Celery at, such as its own worker).
        point_celery_at("memory://", "cache+memory://", eager=True)
        sent = resend_unsent_task()
    finally:
        point_celery_at(broker, backend, eager=eager)

    run = ScoringRun.objects.get(version=version)
    delivery = WebhookDelivery.objects.get()
    assert sent == {"runs": [run.pk], "deliveries": [delivery.pk], "imports": []}
    assert (run.status, run.is_current, run.accounts_scored) == (RunStatus.SUCCEEDED, True, 5)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    [request] = receiver.received
    assert verify(request)["data"]["version"] == version.number


def test_the_sweep_leaves_alone_what_the_broker_took_recently_and_resends_what_it_lost(
    icp: Profile,
    ops_manager: User,
    receiver: Receiver,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    settings.TASK_RESEND_SECONDS = 600
    sends: list[tuple[str, tuple[Any, ...]]] = []

    def task_send(task: Any, *args: Any) -> bool:
        sends.append((task.name, args))
        return True

    monkeypatch.setattr(dispatch, "task_send", task_send)
    subscription = subscribe(receiver.url, "version.approved")
    version = approved_version(icp, 1, [200, 2000])
    now = timezone.now()
    recent = ScoringRun.objects.create(profile=icp, version=version, dispatched_at=now)
    lost = ScoringRun.objects.create(
        profile=icp, version=version, dispatched_at=now - timedelta(seconds=601)
    )
    ScoringRun.objects.create(
        profile=icp, version=version, status=RunStatus.RUNNING, dispatched_at=None
    )
    payload = {"event": "version.approved"}
    due_later = WebhookDelivery.objects.create(
        subscription=subscription,
        event="version.approved",
        event_id="6f1c8a3e-3c47-4d7a-9d2a-1b7a6f0c2e11",
        payload=payload,
        due_at=now + timedelta(seconds=900),
        attempts=3,
    )
    overdue = WebhookDelivery.objects.create(
        subscription=subscription,
        event="version.approved",
        event_id="6f1c8a3e-3c47-4d7a-9d2a-1b7a6f0c2e12",
        payload=payload,
        due_at=now - timedelta(seconds=601),
    )

    assert resend_unsent_task() == {"runs": [lost.pk], "deliveries": [overdue.pk], "imports": []}
    assert sends == [("scoring.rescore", (lost.pk,)), ("webhooks.deliver", (overdue.pk,))]
    # Claimed: a second sweep straight after sends nothing again.
    assert resend_unsent_task() == {"runs": [], "deliveries": [], "imports": []}
    recent.refresh_from_db()
    due_later.refresh_from_db()
    assert recent.dispatched_at == now
    assert due_later.due_at == now + timedelta(seconds=900)


def test_of_two_sweeps_at_once_one_sends(
    icp: Profile, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    """The claim is a conditional UPDATE: once one caller stamped the run,
    the other's UPDATE matches no row and it sends nothing."""

    sends: list[int] = []

    def task_send(task: object, run_id: int) -> bool:
        sends.append(run_id)
        return True

    monkeypatch.setattr(dispatch, "task_send", task_send)
    run = ScoringRun.objects.create(profile=icp, version=approved_version(icp, 1, [200, 2000]))
    results = [services.run_dispatch(run.pk), services.run_dispatch(run.pk)]
    assert results == [True, False]
    assert sends == [run.pk]


def test_a_send_the_broker_refuses_leaves_the_run_for_the_sweep(
    icp: Profile, broker_down: None, caplog: pytest.LogCaptureFixture
) -> None:

    run = ScoringRun.objects.create(profile=icp, version=approved_version(icp, 1, [200, 2000]))
    with caplog.at_level(logging.WARNING, logger="icpsite.celery"):
        assert services.run_dispatch(run.pk) is False
    run.refresh_from_db()
    assert run.dispatched_at is None
    assert f"scoring.rescore({run.pk},) not sent" in caplog.text


def test_an_upload_while_the_broker_is_down_is_imported_by_the_sweep_once_it_is_back(
    transactional_db: None, manager: User, client: Client
) -> None:

    client.force_login(manager)
    broker, backend, eager = point_celery_at(DOWN_URL, DOWN_URL, eager=False)
    try:
        upload = SimpleUploadedFile("accounts.csv", csv_file(4), content_type="text/csv")
        response = client.post(reverse("account-import"), {"file": upload})
        assert response.status_code == 302
        job = ImportJob.objects.get()
        assert (job.status, job.dispatched_at) == (ImportJobStatus.QUEUED, None)
        point_celery_at("memory://", "cache+memory://", eager=True)
        sent = resend_unsent_task()
    finally:
        point_celery_at(broker, backend, eager=eager)

    job.refresh_from_db()
    assert sent["imports"] == [job.pk]
    assert (job.status, job.accounts_created) == (ImportJobStatus.DONE, 4)
    assert Account.objects.count() == 4


def test_the_sweep_fails_a_job_its_task_abandoned_and_leaves_one_still_running(
    manager: User, settings: Any
) -> None:

    settings.SCORING_STALL_SECONDS = 3600
    now = timezone.now()
    abandoned, running = queued(manager, csv_file(2)), queued(manager, csv_file(2))
    ImportJob.objects.filter(pk=abandoned.pk).update(
        status=ImportJobStatus.RUNNING, started_at=now - timedelta(seconds=3601)
    )
    ImportJob.objects.filter(pk=running.pk).update(
        status=ImportJobStatus.RUNNING, started_at=now - timedelta(seconds=60)
    )

    assert jobs.import_jobs_resend(now=now) == [abandoned.pk]
    abandoned.refresh_from_db()
    running.refresh_from_db()
    assert (abandoned.status, abandoned.problems) == (ImportJobStatus.FAILED, [jobs.STOPPED])
    assert abandoned.data == b""
    assert running.status == ImportJobStatus.RUNNING
    assert Account.objects.count() == 0


def test_a_run_whose_chunks_the_broker_refused_goes_back_to_the_sweep(
    icp: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker answered the approval but went away before the worker
    sent the chunks: the run is queued again, unsent, and the next sweep
    scores it instead of the stall rescue an hour and a half later."""
    from celery import canvas

    from scoring import tasks

    AccountFactory.create_batch(3)
    version = approved_version(icp, 1, [200, 2000])
    run = services.run_create(profile=icp, version=version, actor=None, enqueue=False)
    ScoringRun.objects.filter(pk=run.pk).update(dispatched_at=None)

    def refused(*args: Any, **kwargs: Any) -> None:
        raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379")

    with monkeypatch.context() as patch:
        # celery-types does not declare `_chord`, the class behind `chord`.
        patch.setattr(canvas._chord, "__call__", refused)  # type: ignore[attr-defined]
        with pytest.raises(kombu.exceptions.OperationalError):
            tasks.rescore_task.apply(args=(run.pk,)).get()
    run.refresh_from_db()
    assert (run.status, run.dispatched_at) == (RunStatus.QUEUED, None)

    assert resend_unsent_task()["runs"] == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.is_current, run.accounts_scored) == (RunStatus.SUCCEEDED, True, 3)


def test_the_sweep_runs_every_minute_on_beat(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["outbox-resend-unsent"]
    assert (entry["task"], entry["schedule"]) == ("outbox.resend_unsent", 60.0)
    assert resend_unsent_task.name == "outbox.resend_unsent"


# --- With Redis and a real worker (PostgreSQL) ------------------------------------


@pytest.fixture
def outage_worker(
    transactional_db: None, django_db_blocker: DjangoDbBlocker, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker on a Redis of its own that may deliver webhooks to 127.0.0.1."""
    require_redis(OUTAGE_REDIS_URL)
    database_url = worker_database_url(django_db_blocker)
    redis.Redis.from_url(OUTAGE_REDIS_URL).flushdb()
    broker, backend, eager = point_celery_at(OUTAGE_REDIS_URL, OUTAGE_REDIS_URL, eager=False)
    worker = None
    try:
        worker = start_worker(
            redis_url=OUTAGE_REDIS_URL,
            database_url=database_url,
            log_path=tmp_path / "worker.log",
            env={"WEBHOOK_ALLOW_HTTP": "true", "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"},
        )
        yield worker
    finally:
        point_celery_at(broker, backend, eager=eager)
        if worker is not None:
            stop_worker(worker)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.mark.integration
def test_after_an_outage_the_worker_scores_the_run_and_delivers_the_webhook_once_swept(
    outage_worker: subprocess.Popen[bytes],
    cache_down: None,
    receiver: Receiver,
    icp: Profile,
    rep: User,
    marketer: User,
    ops_manager: User,
) -> None:
    subscribe(receiver.url, "version.approved")
    AccountFactory.create_batch(20)
    version = ready_to_approve(icp, rep, marketer, ops_manager)
    working = point_celery_at(DOWN_URL, DOWN_URL, eager=False)
    try:
        response, elapsed = approve_by_api(ops_manager, version)
    finally:
        point_celery_at(working[0], working[1], eager=working[2])
    assert response.status_code == 200
    assert elapsed < ANSWER_SECONDS
    run = ScoringRun.objects.get(version=version)
    time.sleep(1)
    run.refresh_from_db()
    assert (run.status, run.dispatched_at) == (RunStatus.QUEUED, None)

    assert resend_unsent_task() == {
        "runs": [run.pk],
        "deliveries": [WebhookDelivery.objects.get().pk],
        "imports": [],
    }

    def finished() -> bool:
        run.refresh_from_db()
        return not run.is_active

    wait_until(finished, 60, "the run to finish")
    assert (run.status, run.is_current, run.accounts_scored) == (RunStatus.SUCCEEDED, True, 20)
    wait_until(lambda: len(receiver.received) == 1, 30, "the webhook")
    assert verify(receiver.received[0])["event"] == "version.approved"
    wait_until(
        lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).exists(),
        10,
        "the delivery to be recorded",
    )


def test_an_event_for_several_receivers_tries_a_down_broker_once_and_leaves_all_for_the_sweep(
    db: None,
    broker_down: None,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    subscribe(receiver.url, "version.approved")
    subscribe(receiver.url + "/other", "version.approved")
    with (
        caplog.at_level(logging.WARNING, logger="icpsite.celery"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        webhooks.webhooks_emit("version.approved", {"profile": "icp", "version": 2})
    assert list(WebhookDelivery.objects.values_list("status", "due_at")) == [
        (DeliveryStatus.PENDING, None),
        (DeliveryStatus.PENDING, None),
    ]
    assert caplog.text.count("not sent") == 1


def test_a_failed_attempt_is_due_again_when_its_retry_is_so_the_sweep_leaves_it(
    db: None, receiver: Receiver, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.TASK_RESEND_SECONDS = 600
    monkeypatch.setattr(dispatch, "task_send", lambda task, *args: True)
    receiver.statuses = [500]
    subscribe(receiver.url, "version.approved")
    webhooks.webhooks_emit("version.approved", {"profile": "icp", "version": 2})
    delivery = webhooks.webhook_deliver(WebhookDelivery.objects.get().pk)
    assert delivery is not None
    assert delivery.last_attempt_at is not None
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.due_at == delivery.last_attempt_at + timedelta(seconds=30)
    assert webhooks.deliveries_resend(now=delivery.due_at + timedelta(seconds=599)) == []
    assert webhooks.deliveries_resend(now=delivery.due_at + timedelta(seconds=601)) == [delivery.pk]
