"""Celery tasks for scoring: ids in, one service call each.

The scoring.* tasks run on the "scoring" queue (see CELERY_TASK_ROUTES), so
a long rescoring never delays emails or webhooks on the default queue, where
webhooks.deliver runs.
"""

from __future__ import annotations

from typing import Any

import kombu.exceptions
import redis.exceptions
from celery import chord, group, shared_task
from django.db import IntegrityError, OperationalError

from scoring import services, webhooks
from scoring.ingest import jobs

# Retry only on errors a retry can cure: a dropped connection or a lock
# timeout, and the key conflict of two writers scoring the same account for
# the same run at once (the retry finds the rows written or the run finished).
TRANSIENT = (OperationalError, IntegrityError)
# What sending a task or setting up a chord raises when Redis does not answer.
BROKER_ERRORS = (
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


@shared_task(name="scoring.rescore", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def rescore_task(run_id: int) -> int:
    """Split the run into chunks and fan them out; the chord's callback finishes it."""
    chunks = services.run_plan(run_id)
    try:
        if not chunks:
            finish_run_task.delay([], run_id)
            return 0
        callback = finish_run_task.s(run_id).on_error(fail_run_task.s(run_id))
        chord(group(score_chunk_task.s(run_id, low, high) for low, high in chunks))(callback)
    except BROKER_ERRORS:
        # The broker went away between taking this task and sending the
        # chunks: back to queued, for the sweep on beat to send again within
        # a minute of its return (planning again starts over).
        services.run_requeue(run_id)
        raise
    return len(chunks)


@shared_task(name="scoring.score_chunk", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def score_chunk_task(run_id: int, low: int, high: int) -> int:
    return services.run_score_chunk(run_id, low, high)


@shared_task(name="scoring.finish_run", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def finish_run_task(_chunk_counts: list[int], run_id: int) -> int | None:
    """Callback of the chord, given the chunks' counts (the run counts its own rows)."""
    run = services.run_finish(run_id)
    return run.accounts_scored if run else None


@shared_task(name="scoring.prune_runs", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)
def prune_runs_task(profile_id: int) -> int:
    return services.runs_prune(profile_id=profile_id)


@shared_task(name="scoring.prune_tombstones")
def prune_tombstones_task() -> int:
    """On beat, nightly: the feed's tombstones past their retention."""
    return services.tombstones_prune()


@shared_task(name="scoring.rescue_stalled_runs")
def rescue_stalled_runs_task() -> dict[str, list[int]]:
    """On beat: plan again the runs whose first task was lost, and finish the
    runs whose chunks stopped arriving (the finish scores what they missed)."""
    stalled = services.runs_rescue()
    for run_id in stalled["queued"]:
        rescore_task.delay(run_id)
    for run_id in stalled["running"]:
        finish_run_task.delay([], run_id)
    return stalled


@shared_task(name="outbox.resend_unsent")
def resend_unsent_task() -> dict[str, list[int]]:
    """On beat, every minute: send again what never reached a worker, the
    rescoring of queued runs, pending webhook deliveries and queued import
    jobs whose send the broker refused (or lost; see TASK_RESEND_SECONDS),
    and fail the import jobs a stopped task abandoned. On the default
    queue, so a long rescoring does not hold it up."""
    return {
        "runs": services.runs_resend(),
        "deliveries": webhooks.deliveries_resend(),
        "imports": jobs.import_jobs_resend(),
    }


@shared_task(name="scoring.fail_run")
def fail_run_task(_request: Any, exc: BaseException, _traceback: Any, run_id: int) -> None:
    """Errback of the chord: a chunk gave up after its retries."""
    services.run_fail(run_id, f"{type(exc).__name__}: {exc}")


@shared_task(name="webhooks.prune_attempts")
def prune_webhook_attempts_task() -> int:
    """On beat, nightly: the delivery log past its retention."""
    return webhooks.webhook_attempts_prune()


@shared_task(name="webhooks.deliver", bind=True, max_retries=webhooks.MAX_ATTEMPTS)
def webhook_deliver_task(self: Any, delivery_id: int) -> str:
    """Send one delivery; a failure is retried later, with the wait doubling.
    A delivery refused by the address rule (scoring.webhook_targets) is final."""
    delivery = webhooks.webhook_deliver(delivery_id)
    if self.request.is_eager:
        # No broker to wait with (the embedded mode): the attempts follow at once.
        while delivery is not None and delivery.status == delivery.Status.PENDING:
            delivery = webhooks.webhook_deliver(delivery_id)
    if delivery is None:
        return "nothing to send"
    if delivery.status == delivery.Status.PENDING:
        raise self.retry(countdown=webhooks.retry_delay(delivery.attempts))
    return str(delivery.status)


# Retries of an import stopped by the database (a dropped connection, a lock
# timeout), 30 s, 60 s and 120 s apart; then the job fails.
IMPORT_MAX_RETRIES = 3
IMPORT_RETRY_SECONDS = 30


@shared_task(name="accounts.import_job", bind=True, max_retries=IMPORT_MAX_RETRIES)
def import_job_run_task(self: Any, job_id: int) -> str:
    """Import an uploaded CSV file (scoring.ingest.jobs.import_job_run), on the
    default queue. A finished job is left as it is, so a second delivery
    does nothing."""
    try:
        job = jobs.import_job_run(job_id=job_id)
    except OperationalError as exc:
        if self.request.retries >= IMPORT_MAX_RETRIES:
            jobs.import_job_fail(job_id=job_id, problems=[jobs.STOPPED])
            raise
        raise self.retry(exc=exc, countdown=IMPORT_RETRY_SECONDS * 2**self.request.retries) from exc
    return "nothing to do" if job is None else str(job.status)
