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
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from profiles.models import ProfileVersion, User
from scoring.models import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription

SIGNATURE_HEADER = "X-Icpsite-Signature"
TIMESTAMP_HEADER = "X-Icpsite-Timestamp"
EVENT_HEADER = "X-Icpsite-Event"
DELIVERY_HEADER = "X-Icpsite-Delivery"

# Attempts per delivery before it is marked failed; the waits between them
# double from BACKOFF_SECONDS up to BACKOFF_MAX_SECONDS (about 1.5 hours in all).
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 30
BACKOFF_MAX_SECONDS = 30 * 60
# Seconds to connect and to wait for an answer.
TIMEOUT_SECONDS = 10
# Characters of a failure kept in last_error.
ERROR_LENGTH = 1000
SECRET_MIN_LENGTH = 16


def can_manage_webhooks(user: User) -> bool:
    """Staff manage subscriptions: a subscription receives every profile's events."""
    return bool(user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser))


# --- Subscriptions ----------------------------------------------------------------


def _check_fields(url: str, events: Iterable[str], secret: str) -> list[str]:
    errors: dict[str, str] = {}
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        errors["url"] = "Give an http:// or https:// address."
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
    """Subscribe `url` to `events`; without a secret, a random one is made."""
    if actor is not None and not can_manage_webhooks(actor):
        raise PermissionDenied("Only staff manage webhooks.")
    secret = secret if secret is not None else secrets.token_urlsafe(32)
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
    """Change url, events, description, secret or is_active."""
    if actor is not None and not can_manage_webhooks(actor):
        raise PermissionDenied("Only staff manage webhooks.")
    for name, value in changes.items():
        setattr(subscription, name, value)
    subscription.events = _check_fields(subscription.url, subscription.events, subscription.secret)
    subscription.save()
    return subscription


def webhook_subscription_delete(*, actor: User | None, subscription: WebhookSubscription) -> None:
    if actor is not None and not can_manage_webhooks(actor):
        raise PermissionDenied("Only staff manage webhooks.")
    subscription.delete()


# --- Events -----------------------------------------------------------------------


def webhooks_emit(event: str, payload: dict[str, Any]) -> list[int]:
    """Queue `event` with `payload` (JSON-ready) for every active subscription
    that wants it, inside the caller's transaction; sent once it commits.
    Returns the delivery ids."""
    from scoring.tasks import webhook_deliver_task

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
            webhook_deliver_task.delay(delivery_id)

    transaction.on_commit(enqueue)
    return ids


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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: the signed body goes to
    the subscribed address only."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST and return (HTTP status or None, error text or "")."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"
    if 200 <= status < 300:
        return status, ""
    return status, f"HTTP {status}"


def webhook_deliver(delivery_id: int) -> WebhookDelivery | None:
    """One attempt at a pending delivery; records the outcome.

    Returns the delivery (status PENDING means: try again later), or None
    when there is nothing to send (gone, delivered or given up).
    """
    delivery = (
        WebhookDelivery.objects.select_related("subscription")
        .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
        .first()
    )
    if delivery is None:
        return None
    subscription = delivery.subscription
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
    status, error = _post(subscription.url, body, headers)
    now = timezone.now()
    attempts = delivery.attempts + 1
    if not error:
        outcome = DeliveryStatus.SUCCEEDED
    elif attempts >= MAX_ATTEMPTS:
        outcome = DeliveryStatus.FAILED
    else:
        outcome = DeliveryStatus.PENDING
    WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
        status=outcome,
        attempts=F("attempts") + 1,
        response_status=status,
        last_error=error[:ERROR_LENGTH],
        last_attempt_at=now,
        delivered_at=now if outcome == DeliveryStatus.SUCCEEDED else None,
    )
    delivery.refresh_from_db()
    return delivery
