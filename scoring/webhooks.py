"""Webhooks: subscriptions, events queued with the write that caused them,
and signed deliveries retried with backoff.

An event becomes one WebhookDelivery row per subscription that wants it,
written in the caller's transaction, and each is sent by a Celery task once
that transaction commits: a rolled-back write announces nothing, and a
committed one is announced even if the worker is down for a while.
Delivery is at least once: a receiver dedupes by the `X-Icpsite-Delivery`
header. Each POST carries `X-Icpsite-Timestamp` (Unix seconds) and
`X-Icpsite-Signature: sha256=<hex>`, the HMAC-SHA256 with the
subscription's secret of `<timestamp>.<body>`; a receiver recomputes it and
refuses old timestamps, so a captured delivery cannot be replayed later.

Where a subscription may point is scoring.webhook_targets' rule, checked when
it is made or changed and again before every delivery; a delivery whose
address breaks it by then is marked refused and never sent. Who manages
subscriptions is scoring.policies.can_manage_webhooks. The secret is handed
out once, when made or rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import secrets
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from profiles.models import ProfileVersion, User
from scoring.dispatch import claimed_send
from scoring.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from scoring.policies import can_manage_webhooks
from scoring.webhook_targets import (
    Target,
    TargetRefusedError,
    TargetUnresolvedError,
    target_check,
    target_connection,
)

SIGNATURE_HEADER = "X-Icpsite-Signature"
TIMESTAMP_HEADER = "X-Icpsite-Timestamp"
EVENT_HEADER = "X-Icpsite-Event"
DELIVERY_HEADER = "X-Icpsite-Delivery"

# Attempts per delivery before it is marked failed; the waits between them
# double from BACKOFF_SECONDS up to BACKOFF_MAX_SECONDS (about an hour in all:
# 30 s, 1, 2, 4, 8, 16 and 30 minutes).
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 30
BACKOFF_MAX_SECONDS = 30 * 60
# Seconds to connect and to wait for an answer.
TIMEOUT_SECONDS = 10
# Characters of a failure kept in last_error.
ERROR_LENGTH = 1000
SECRET_MIN_LENGTH = 16
# Deliveries the sweep sends at most per look (one a minute).
RESEND_BATCH = 500


def _check_actor(actor: User | None) -> None:
    if actor is not None and not (verdict := can_manage_webhooks(actor)):
        raise PermissionDenied(verdict.reason)


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


# --- Subscriptions ----------------------------------------------------------------


def _check_fields(
    url: str, events: Iterable[str], secret: str, *, check_url: bool = True
) -> list[str]:
    errors: dict[str, str] = {}
    try:
        if check_url:
            target_check(url)
    except TargetRefusedError as refused:
        errors["url"] = refused.reason
    chosen = list(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in WebhookEvent.values]
    if unknown or not chosen:
        errors["events"] = f"Choose one or more of {', '.join(WebhookEvent.values)}."
    if len(secret) < SECRET_MIN_LENGTH:
        errors["secret"] = f"The secret needs at least {SECRET_MIN_LENGTH} characters."
    if errors:
        raise ValidationError(errors)
    return chosen


def webhook_subscription_create(
    *,
    actor: User | None,
    url: str,
    events: Iterable[str],
    description: str = "",
    secret: str | None = None,
    is_active: bool = True,
) -> WebhookSubscription:
    """Subscribe `url` to `events`; without a secret, a random one is made.
    The caller shows the secret once; nothing shows it again."""
    _check_actor(actor)
    secret = secret if secret is not None else _new_secret()
    chosen = _check_fields(url, events, secret)
    return WebhookSubscription.objects.create(
        url=url,
        events=chosen,
        secret=secret,
        description=description,
        is_active=is_active,
        created_by=actor,
    )


def webhook_subscription_update(
    *, actor: User | None, subscription: WebhookSubscription, **changes: Any
) -> WebhookSubscription:
    """Change url, events, description, secret or is_active. A new url is
    checked as on subscribing; an unchanged one is not, so a subscription
    whose host stopped resolving can still be paused (its deliveries are
    checked anyway)."""
    _check_actor(actor)
    old_url = subscription.url
    for name, value in changes.items():
        setattr(subscription, name, value)
    subscription.events = _check_fields(
        subscription.url,
        subscription.events,
        subscription.secret,
        check_url=subscription.url != old_url,
    )
    subscription.save()
    return subscription


def webhook_subscription_rotate_secret(
    *, actor: User | None, subscription: WebhookSubscription
) -> WebhookSubscription:
    """Give the subscription a new random secret, returned on it for the
    caller to show once: the way to a secret that was lost or leaked, since
    none is ever shown again. Deliveries signed from now on use it."""
    _check_actor(actor)
    subscription.secret = _new_secret()
    subscription.save(update_fields=["secret"])
    return subscription


def webhook_subscription_delete(*, actor: User | None, subscription: WebhookSubscription) -> None:
    _check_actor(actor)
    subscription.delete()


# --- Events -----------------------------------------------------------------------


def webhooks_emit(event: str, payload: dict[str, Any]) -> list[int]:
    """Queue `event` with `payload` (JSON-ready) for every active subscription
    that wants it, inside the caller's transaction; sent once it commits.
    Returns the delivery ids."""
    if event not in WebhookEvent.values:
        raise ValueError(f"Unknown webhook event {event!r}.")
    wanting = [s for s in WebhookSubscription.objects.filter(is_active=True) if event in s.events]
    if not wanting:
        return []
    event_id = uuid.uuid4()
    body = {
        "id": str(event_id),
        "event": event,
        "created_at": timezone.now().isoformat(),
        "data": payload,
    }
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(subscription=s, event=event, event_id=event_id, payload=body)
        for s in wanting
    )
    ids = [d.pk for d in deliveries]

    def enqueue() -> None:
        for delivery_id in ids:
            sent = delivery_dispatch(delivery_id)
            unsent = WebhookDelivery.objects.filter(pk=delivery_id, due_at__isnull=True)
            if not sent and unsent.exists():
                break  # the broker does not answer: the sweep sends the rest

    transaction.on_commit(enqueue)
    return ids


def delivery_dispatch(delivery_id: int, *, resend_before: datetime | None = None) -> bool:
    """Hand a pending delivery's task to the broker; whether this call did.

    Claimed first by a conditional UPDATE of `due_at`, matching only a
    delivery with no task handed over (or, with `resend_before`, one due
    before then), so that of two callers one sends. A send the broker
    refuses clears the stamp again, for the sweep.
    """
    from scoring.tasks import webhook_deliver_task

    return claimed_send(
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING),
        stamp="due_at",
        task=webhook_deliver_task,
        object_id=delivery_id,
        resend_before=resend_before,
    )


def deliveries_resend(*, now: datetime | None = None) -> list[int]:
    """Send again the pending deliveries whose task never reached a worker:
    never handed over (the broker was down when the event committed), or
    due more than TASK_RESEND_SECONDS ago (a first send or a scheduled
    retry the broker lost) with no attempt since. The sweep on beat calls
    it every minute. A delivery sent twice may reach its receiver twice,
    which at-least-once delivery allows (receivers dedupe by delivery id).
    Returns the ids sent."""
    now = now or timezone.now()
    before = now - timedelta(seconds=settings.TASK_RESEND_SECONDS)
    due = WebhookDelivery.objects.filter(
        Q(due_at__isnull=True) | Q(due_at__lt=before), status=DeliveryStatus.PENDING
    )
    ids = list(due.order_by("pk").values_list("pk", flat=True)[:RESEND_BATCH])
    return [
        delivery_id for delivery_id in ids if delivery_dispatch(delivery_id, resend_before=before)
    ]


def webhook_attempts_prune(*, now: datetime | None = None) -> int:
    """Delete the attempt log older than WEBHOOK_ATTEMPT_RETENTION_DAYS (the
    deliveries themselves stay); how many attempts went."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.WEBHOOK_ATTEMPT_RETENTION_DAYS)
    deleted, _ = WebhookAttempt.objects.filter(attempted_at__lt=before).delete()
    return deleted


def on_version_approved(*, version: ProfileVersion, actor: User, **_: Any) -> None:
    """Receiver of profiles.signals.version_approved."""
    webhooks_emit(
        WebhookEvent.VERSION_APPROVED,
        {
            "profile": version.profile.slug,
            "version": version.number,
            "approved_by": actor.username if actor else None,
            "approved_at": version.approved_at.isoformat() if version.approved_at else None,
        },
    )


# --- Delivery ---------------------------------------------------------------------


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the `attempts`-th failed attempt."""
    return int(min(BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def _post(target: Target, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST to the checked addresses of `target` and return (HTTP status or
    None, error text or ""). A redirect is an answer, not an instruction: the
    signed body goes to the subscribed address only."""
    connection = target_connection(target, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        status, reason = int(response.status), str(response.reason)
    except (http.client.HTTPException, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()
    if 200 <= status < 300:
        return status, ""
    if 300 <= status < 400:
        return status, f"HTTP {status} {reason}; redirects are not followed"
    return status, f"HTTP {status} {reason}"


def _refuse(delivery: WebhookDelivery, reason: str) -> WebhookDelivery:
    """Mark a pending delivery refused, unsent: its address broke the rule."""
    now = timezone.now()
    error = f"Not sent: {reason}"[:ERROR_LENGTH]
    with transaction.atomic():
        refused = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.PENDING
        ).update(
            status=DeliveryStatus.REFUSED,
            response_status=None,
            last_error=error,
            last_attempt_at=now,
        )
        if refused:
            _log(delivery, now, None, None, error, DeliveryStatus.REFUSED)
    delivery.refresh_from_db()
    return delivery


def _log(
    delivery: WebhookDelivery,
    at: datetime,
    status: int | None,
    duration_ms: int | None,
    error: str,
    outcome: str,
) -> None:
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts + 1,
        attempted_at=at,
        response_status=status,
        duration_ms=duration_ms,
        error=error,
        outcome=outcome,
    )


def _record(
    delivery: WebhookDelivery, status: int | None, error: str, duration_ms: int | None = None
) -> WebhookDelivery:
    """Count one attempt and its outcome (done, given up, or pending a
    retry), and log it."""
    now = timezone.now()
    attempts = delivery.attempts + 1
    if not error:
        outcome = DeliveryStatus.SUCCEEDED
    elif attempts >= MAX_ATTEMPTS:
        outcome = DeliveryStatus.FAILED
    else:
        outcome = DeliveryStatus.PENDING
    with transaction.atomic():
        counted = _count(delivery, now, status, error, outcome, attempts)
        if counted:
            _log(delivery, now, status, duration_ms, error[:ERROR_LENGTH], outcome)
    delivery.refresh_from_db()
    return delivery


def _count(
    delivery: WebhookDelivery,
    now: datetime,
    status: int | None,
    error: str,
    outcome: str,
    attempts: int,
) -> int:
    return WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
        status=outcome,
        attempts=F("attempts") + 1,
        response_status=status,
        last_error=error[:ERROR_LENGTH],
        last_attempt_at=now,
        delivered_at=now if outcome == DeliveryStatus.SUCCEEDED else None,
        # The retry the task schedules (webhook_deliver_task) is due then.
        due_at=now + timedelta(seconds=retry_delay(attempts))
        if outcome == DeliveryStatus.PENDING
        else delivery.due_at,
    )


def webhook_deliver(delivery_id: int) -> WebhookDelivery | None:
    """One attempt at a pending delivery; records the outcome.

    The address is checked and resolved again first, and the POST goes to
    the addresses just checked, so DNS switched since the subscription (or
    between the check and the connection) cannot send it inside. An address
    that now breaks the rule is marked REFUSED without any connection and
    not retried; a name that does not resolve is a failed attempt, retried
    like any other (resolvers have outages).

    Returns the delivery (status PENDING means: try again later), or None
    when there is nothing to send (gone, or no longer pending).
    """
    delivery = (
        WebhookDelivery.objects.select_related("subscription")
        .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
        .first()
    )
    if delivery is None:
        return None
    subscription = delivery.subscription
    try:
        target = target_check(subscription.url)
    except TargetUnresolvedError as unresolved:
        return _record(delivery, None, unresolved.reason)
    except TargetRefusedError as refused:
        return _refuse(delivery, refused.reason)
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "icpsite-webhooks/1",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.pk),
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: webhook_signature(subscription.secret, stamp, body),
    }
    started = time.monotonic()
    status, error = _post(target, body, headers)
    return _record(delivery, status, error, int((time.monotonic() - started) * 1000))
