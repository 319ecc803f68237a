"""Celery tasks for reviews (beat's, and the notification emails): each
calls one service and is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from reviews import services
from reviews.mywork import services as mywork

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


@shared_task(name="reviews.email_notifications", autoretry_for=TRANSIENT, max_retries=3)
def email_notifications_task(notification_ids: list[int]) -> int:
    """Email the notifications due at once, sent on commit of the write
    that made them; each is claimed first, so a retry sends none twice."""
    return mywork.notifications_email(ids=notification_ids)


@shared_task(name="reviews.email_unsent_notifications", autoretry_for=TRANSIENT, max_retries=3)
def email_unsent_notifications_task() -> int:
    """On beat, every minute: email what the broker never took."""
    return mywork.notifications_email_unsent()
