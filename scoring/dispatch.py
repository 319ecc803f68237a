"""Handing a row's task to the broker exactly once at a time, whatever the broker does.

A row that waits for a task (a queued run, a pending webhook delivery)
stamps when its task was handed over. The stamp is claimed by a
conditional UPDATE before the send, so of two callers at once (an
on-commit hook and the sweep on beat, or two sweeps) one sends; a send the
broker refuses clears the stamp again, for the sweep's next look.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from celery import Task
from django.db.models import Q, QuerySet
from django.utils import timezone

from icpsite.celery import task_send


def claimed_send(
    rows: QuerySet[Any],
    *,
    stamp: str,
    task: Task,
    object_id: int,
    resend_before: datetime | None = None,
) -> bool:
    """Send `task(object_id)` if `rows` (the one row, still waiting) has no
    stamp, or, with `resend_before`, one older than that; whether this call sent it."""
    now = timezone.now()
    unsent = Q(**{f"{stamp}__isnull": True})
    if resend_before is not None:
        unsent |= Q(**{f"{stamp}__lt": resend_before})
    if not rows.filter(unsent).update(**{stamp: now}):
        return False
    if task_send(task, object_id):
        return True
    rows.filter(**{stamp: now}).update(**{stamp: None})
    return False
