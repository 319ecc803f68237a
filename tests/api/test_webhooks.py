"""Webhooks: queued with the write that caused them, signed, retried, logged,
delivered to a receiver on 127.0.0.1."""

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rest_framework.test import APIClient

from profiles.models import Profile, User
from scoring import services
from scoring.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from scoring.webhooks import MAX_ATTEMPTS, webhook_subscription_create, webhooks_emit
from tests.factories import AccountFactory, UserFactory
from tests.scoring.test_runs import approved_version

pytestmark = pytest.mark.django_db

SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    """A tiny HTTP server that records each POST and answers `statuses` in turn (then 200)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def staff() -> User:
    return UserFactory(username="staff", is_staff=True)


def subscribe(url: str, *events: str) -> WebhookSubscription:
    return webhook_subscription_create(actor=None, url=url, events=events, secret=SECRET)


def verify(request: dict[str, Any]) -> dict[str, Any]:
    headers, body = request["headers"], request["body"]
    stamp = headers["X-Icpsite-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Icpsite-Signature"] == f"sha256={expected}"
    assert headers["Content-Type"] == "application/json"
    payload: dict[str, Any] = json.loads(body)
    assert headers["X-Icpsite-Event"] == payload["event"]
    return payload


def test_a_finished_run_is_announced_signed_once_it_commits(
    receiver: Receiver,
    icp: Profile,
    ops_manager: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    subscribe(receiver.url, "scoring_run.finished")
    subscribe(receiver.url, "version.approved")
    AccountFactory()
    version = approved_version(icp, 1, [200, 2000])
    run = services.run_create(profile=icp, version=version, actor=ops_manager, enqueue=False)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        services.run_plan(run.pk)
        services.run_finish(run.pk)
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    for callback in pending:
        callback()
    [request] = receiver.received
    payload = verify(request)
    assert payload["event"] == "scoring_run.finished"
    assert payload["data"]["profile"] == icp.slug
    assert payload["data"]["version"] == 1
    assert payload["data"]["tier_counts"] == {"A": 1}
    assert payload["data"]["changes_cursor"] == 1
    assert request["headers"]["X-Icpsite-Delivery"] == str(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        DeliveryStatus.SUCCEEDED,
        1,
        200,
    )


def test_an_approval_is_announced(
    receiver: Receiver,
    icp: Profile,
    ops_manager: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    from profiles.signals import version_approved

    subscribe(receiver.url, "version.approved")
    version = approved_version(icp, 1, [200, 2000])
    with django_capture_on_commit_callbacks(execute=True):
        version_approved.send(
            sender=type(version), version=version, previous=None, actor=ops_manager
        )
    [request] = receiver.received
    payload = verify(request)
    assert payload["data"] == {
        "profile": icp.slug,
        "version": 1,
        "approved_by": "ops",
        "approved_at": version.approved_at.isoformat(),
    }


def test_a_failing_receiver_is_retried_and_each_attempt_logged(
    receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    subscribe(receiver.url, "override.accepted")
    receiver.statuses = [500, 503]
    with django_capture_on_commit_callbacks(execute=True):
        [delivery_id] = webhooks_emit("override.accepted", {"account": "crm-1", "tier": "A"})
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("succeeded", 3, "")
    assert len(receiver.received) == 3
    assert len({r["headers"]["X-Icpsite-Delivery"] for r in receiver.received}) == 1


def test_an_unreachable_receiver_is_marked_failed_after_the_last_attempt(
    receiver: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    url = receiver.url
    receiver.close()
    subscribe(url, "override.accepted")
    with django_capture_on_commit_callbacks(execute=True):
        [delivery_id] = webhooks_emit("override.accepted", {"account": "crm-1"})
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, MAX_ATTEMPTS)
    assert "Connection refused" in delivery.last_error


def test_events_go_only_to_active_subscriptions_that_want_them(receiver: Receiver) -> None:
    subscribe(receiver.url, "version.approved")
    paused = subscribe(receiver.url, "override.accepted")
    paused.is_active = False
    paused.save()
    assert webhooks_emit("override.accepted", {}) == []
    with pytest.raises(ValueError, match="Unknown webhook event"):
        webhooks_emit("account.deleted", {})


def test_staff_manage_subscriptions_through_the_api(staff: User, rep: User) -> None:
    client = APIClient()
    client.force_login(staff)
    made = client.post(
        "/api/v1/webhooks/",
        {"url": "https://crm.example/hooks", "events": ["scoring_run.finished"]},
        format="json",
    )
    assert made.status_code == 201
    body = made.json()
    assert len(body["secret"]) >= 16
    listed = client.get("/api/v1/webhooks/").json()
    assert [s["url"] for s in listed] == ["https://crm.example/hooks"]
    assert "secret" not in listed[0]
    changed = client.patch(f"/api/v1/webhooks/{body['id']}/", {"is_active": False}, format="json")
    assert changed.json()["is_active"] is False
    assert client.get(f"/api/v1/webhooks/{body['id']}/deliveries/").json() == []
    bad = client.post(
        "/api/v1/webhooks/", {"url": "ftp://x", "events": ["nope"], "x": 1}, format="json"
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"url", "events"}
    outsider = APIClient()
    outsider.force_login(rep)
    assert outsider.get("/api/v1/webhooks/").status_code == 403
    assert outsider.delete(f"/api/v1/webhooks/{body['id']}/").status_code == 403
    assert client.delete(f"/api/v1/webhooks/{body['id']}/").status_code == 204
    assert not WebhookSubscription.objects.exists()
