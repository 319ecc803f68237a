"""Celery beat tasks for reviews: each calls one service and is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from reviews import services

TRANSIENT = (OperationalError,)


@shared_task(name="reviews.schedule_checkins", autoretry_for=TRANSIENT, max_retries=3)
def schedule_checkins_task() -> list[int]:
    """Create each profile's next scheduled check-in when it comes due."""
    return [checkin.pk for checkin in services.checkins_schedule()]


@shared_task(name="reviews.detect_drift", autoretry_for=TRANSIENT, max_retries=3)
def detect_drift_task() -> list[int]:
    """Open an off-cycle check-in where win rates or churn by tier drift."""
    return [checkin.pk for checkin in services.checkins_open_for_drift()]


@shared_task(name="reviews.send_digests", autoretry_for=TRANSIENT, max_retries=3)
def send_digests_task() -> int:
    """Mail every manager their weekly review queue (Monday morning)."""
    return services.digests_send()
