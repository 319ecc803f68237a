"""Webhooks: queued with the write that caused them, signed, retried, logged,
delivered to a receiver on 127.0.0.1 (an internal host the tests allow with
WEBHOOK_ALLOWED_HOSTS and WEBHOOK_ALLOW_HTTP, as an on-premises site would).
Managed by people with the permission or RevOps admins only; the secret is
shown once."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from profiles.models import Membership, Profile, Team, User
from scoring import services, webhooks
from scoring.cursors import feed_cursor_seq
from scoring.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from scoring.webhooks import MAX_ATTEMPTS, webhook_subscription_create, webhooks_emit
from tests.drafting import approved_version
from tests.factories import AccountFactory, MembershipFactory, UserFactory
from tests.snapshots import snapshot
from tests.webhooks import SECRET, Receiver, subscribe, verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> User:
    """Staff, without any permission: may sign in to the admin, no more."""
    return UserFactory.create(username="staff", is_staff=True)


@pytest.fixture
def hooks_manager() -> User:
    """Given the permission to manage webhooks, and staff for the admin."""
    return UserFactory.create(
        username="hooks", is_staff=True, permissions=["scoring.manage_webhooks"]
    )


@pytest.fixture
def revops_admin(revops: Team) -> User:
    return MembershipFactory.create(
        user__username="opsadmin", team=revops, role=Membership.Role.ADMIN
    ).user


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_a_finished_run_is_announced_signed_once_it_commits(
    receiver: Receiver,
    icp: Profile,
    ops_manager: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    subscribe(receiver.url, "scoring_run.finished")
    subscribe(receiver.url, "version.approved")
    AccountFactory.create()
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
    assert feed_cursor_seq(payload["data"]["changes_cursor"], profile_id=icp.pk) == 1
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
    assert version.approved_at is not None
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
    log = list(delivery.attempt_log.values_list("number", "response_status", "outcome", "error"))
    assert log == [
        (1, 500, "pending", "HTTP 500 Internal Server Error"),
        (2, 503, "pending", "HTTP 503 Service Unavailable"),
        (3, 200, "succeeded", ""),
    ]
    assert all(a.duration_ms is not None for a in delivery.attempt_log.all())


def test_the_delivery_log_in_the_api_shows_every_attempt(
    receiver: Receiver,
    hooks_manager: User,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    subscription = subscribe(receiver.url, "override.accepted")
    receiver.statuses = [502]
    with django_capture_on_commit_callbacks(execute=True):
        webhooks_emit("override.accepted", {"account": "crm-1", "tier": "A"})
    [delivery] = api(hooks_manager).get(f"/api/v1/webhooks/{subscription.pk}/deliveries/").json()
    assert [a["response_status"] for a in delivery["attempt_log"]] == [502, 200]
    assert [a["outcome"] for a in delivery["attempt_log"]] == ["pending", "succeeded"]


def test_a_refused_address_is_logged_as_an_attempt_that_sent_nothing(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    WebhookSubscription.objects.create(
        url="https://127.0.0.1/hooks", events=["override.accepted"], secret=SECRET
    )
    with django_capture_on_commit_callbacks(execute=True):
        [delivery_id] = webhooks_emit("override.accepted", {"account": "crm-1"})
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    [attempt] = delivery.attempt_log.all()
    assert (attempt.outcome, attempt.response_status, attempt.duration_ms) == (
        "refused",
        None,
        None,
    )
    assert "loopback" in attempt.error
    assert (delivery.status, delivery.attempts) == ("refused", 0)  # logged, not counted


def test_the_delivery_log_is_pruned_after_its_retention(
    receiver: Receiver, settings: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    settings.WEBHOOK_ATTEMPT_RETENTION_DAYS = 30
    subscribe(receiver.url, "override.accepted")
    with django_capture_on_commit_callbacks(execute=True):
        [delivery_id] = webhooks_emit("override.accepted", {"account": "crm-1"})
    later = timezone.now() + timedelta(days=31)
    assert webhooks.webhook_attempts_prune(now=timezone.now()) == 0
    assert webhooks.webhook_attempts_prune(now=later) == 1
    assert WebhookDelivery.objects.get(pk=delivery_id).status == "succeeded"


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


def test_a_webhook_manager_manages_subscriptions_through_the_api(
    hooks_manager: User, rep: User
) -> None:
    client = api(hooks_manager)
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
    assert "secret" not in changed.json()
    assert client.get(f"/api/v1/webhooks/{body['id']}/deliveries/").json() == []
    bad = client.post(
        "/api/v1/webhooks/", {"url": "ftp://x", "events": ["nope"], "x": 1}, format="json"
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"url", "events", "x"}
    assert "Unknown field; this endpoint takes url, events" in bad.json()["x"][0]
    outsider = api(rep)
    assert outsider.get("/api/v1/webhooks/").status_code == 403
    assert outsider.delete(f"/api/v1/webhooks/{body['id']}/").status_code == 403
    assert client.delete(f"/api/v1/webhooks/{body['id']}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/hooks", "Give an https:// address."),
        ("https://127.0.0.1/hooks", "127.0.0.1 is a loopback address; webhooks go to public"),
        ("https://[::1]/", "::1 is a loopback address"),
        ("https://0.0.0.0/", "0.0.0.0 is an unspecified address"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("https://10.0.0.5/", "10.0.0.5 is a private address"),
        ("https://[::ffff:127.0.0.1]/", "a loopback address (127.0.0.1 inside IPv6)"),
        ("https://localhost:8000/admin/", "localhost is this machine, a loopback address"),
        ("https://evil@127.0.0.1/", "Leave the user name and password"),
        ("https://nowhere.invalid/", "nowhere.invalid does not resolve"),
    ],
)
def test_a_subscription_to_an_address_that_is_not_public_is_refused_naming_url(
    hooks_manager: User, url: str, reason: str
) -> None:
    answer = api(hooks_manager).post(
        "/api/v1/webhooks/", {"url": url, "events": ["version.approved"]}, format="json"
    )
    assert answer.status_code == 400
    [message] = answer.json()["url"]
    assert reason in message
    assert list(answer.json()) == ["url"]
    assert not WebhookSubscription.objects.exists()


def test_changing_a_subscription_to_an_inside_address_is_refused_and_changes_nothing(
    hooks_manager: User,
) -> None:
    made = webhook_subscription_create(
        actor=None, url="https://crm.example/hooks", events=["version.approved"], secret=SECRET
    )
    answer = api(hooks_manager).patch(
        f"/api/v1/webhooks/{made.pk}/",
        {"url": "https://169.254.169.254/", "is_active": False},
        format="json",
    )
    assert answer.status_code == 400
    assert "169.254.169.254 is a link-local address" in answer.json()["url"][0]
    made.refresh_from_db()
    assert (made.url, made.is_active) == ("https://crm.example/hooks", True)


def test_plain_staff_may_not_manage_webhooks_and_nothing_changes(staff: User) -> None:
    made = webhook_subscription_create(
        actor=None, url="https://crm.example/hooks", events=["version.approved"], secret=SECRET
    )
    before = snapshot()
    client = api(staff)
    hook = f"/api/v1/webhooks/{made.pk}/"
    answers = [
        client.get("/api/v1/webhooks/"),
        client.post(
            "/api/v1/webhooks/",
            {"url": "https://other.example/", "events": ["version.approved"]},
            format="json",
        ),
        client.get(hook),
        client.patch(hook, {"is_active": False}, format="json"),
        client.post(f"{hook}rotate-secret/"),
        client.get(f"{hook}deliveries/"),
        client.delete(hook),
    ]
    assert [a.status_code for a in answers] == [403] * 7
    assert "permission 'Can manage webhooks'" in answers[0].json()["detail"]
    assert snapshot() == before


def test_a_revops_manager_is_not_enough_but_a_revops_admin_manages_webhooks(
    ops_manager: User, revops_admin: User
) -> None:
    body = {"url": "https://crm.example/hooks", "events": ["version.approved"]}
    assert api(ops_manager).post("/api/v1/webhooks/", body, format="json").status_code == 403
    assert not WebhookSubscription.objects.exists()
    made = api(revops_admin).post("/api/v1/webhooks/", body, format="json")
    assert made.status_code == 201
    assert WebhookSubscription.objects.get().created_by == revops_admin


def test_the_secret_is_shown_at_creation_and_never_again_until_rotated(
    hooks_manager: User,
) -> None:
    client = api(hooks_manager)
    made = client.post(
        "/api/v1/webhooks/",
        {"url": "https://crm.example/hooks", "events": ["version.approved"], "secret": SECRET},
        format="json",
    ).json()
    assert made["secret"] == SECRET
    hook = f"/api/v1/webhooks/{made['id']}/"
    for answer in (client.get("/api/v1/webhooks/"), client.get(hook)):
        assert SECRET not in answer.content.decode()
    rotated = client.post(f"{hook}rotate-secret/")
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert rotated.json() == {"id": made["id"], "secret": new}
    assert len(new) >= 32
    assert new != SECRET
    assert WebhookSubscription.objects.get().secret == new
    assert new not in client.get(hook).content.decode()
    assert client.post("/api/v1/webhooks/999/rotate-secret/").status_code == 404


def test_the_schema_shows_the_delivery_log_as_read_only_and_described(
    hooks_manager: User,
) -> None:
    schema = api(hooks_manager).get("/api/schema/", {"format": "json"}).json()
    delivery = schema["components"]["schemas"]["WebhookDelivery"]["properties"]
    assert all(field.get("readOnly") for field in delivery.values())
    assert "not counted" in delivery["attempts"]["description"]
    assert "WEBHOOK_ATTEMPT_RETENTION_DAYS" in delivery["attempt_log"]["description"]


def test_the_schema_says_who_manages_webhooks(hooks_manager: User) -> None:
    schema = api(hooks_manager).get("/api/schema/", {"format": "json"}).json()
    create = schema["paths"]["/api/v1/webhooks/"]["post"]
    assert "permission 'Can manage webhooks'" in create["description"]
    assert "/api/v1/webhooks/{id}/rotate-secret/" in schema["paths"]


# --- The admin ---------------------------------------------------------------------

ADMIN = "/admin/scoring/webhooksubscription/"


def test_the_admin_shows_the_secret_once_after_adding_and_never_on_the_change_page(
    hooks_manager: User,
) -> None:
    client = Client()
    client.force_login(hooks_manager)
    added = client.post(
        f"{ADMIN}add/",
        {"url": "https://crm.example/hooks", "events": ["version.approved"], "is_active": "on"},
        follow=True,
    )
    assert added.status_code == 200
    made = WebhookSubscription.objects.get()
    shown = [str(m) for m in added.context["messages"]]
    assert any(made.secret in m and "not shown again" in m for m in shown)
    page = client.get(f"{ADMIN}{made.pk}/change/")
    assert page.status_code == 200
    assert made.secret not in page.content.decode()
    assert 'name="secret"' not in page.content.decode()
    again = client.get(f"{ADMIN}{made.pk}/change/")
    assert made.secret not in again.content.decode()


def test_the_admin_refuses_an_inside_address_naming_the_reason(hooks_manager: User) -> None:
    client = Client()
    client.force_login(hooks_manager)
    page = client.post(
        f"{ADMIN}add/", {"url": "https://169.254.169.254/", "events": ["version.approved"]}
    )
    assert page.status_code == 200
    assert "169.254.169.254 is a link-local address" in page.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_the_admin_rotates_a_secret_and_shows_the_new_one_once(hooks_manager: User) -> None:
    made = webhook_subscription_create(
        actor=None, url="https://crm.example/hooks", events=["version.approved"], secret=SECRET
    )
    client = Client()
    client.force_login(hooks_manager)
    done = client.post(
        ADMIN, {"action": "rotate_secret", "_selected_action": [made.pk]}, follow=True
    )
    made.refresh_from_db()
    assert made.secret != SECRET
    assert any(made.secret in str(m) for m in done.context["messages"])
    assert made.secret not in client.get(ADMIN).content.decode()


def test_plain_staff_see_no_webhooks_in_the_admin(staff: User) -> None:
    made = webhook_subscription_create(
        actor=None, url="https://crm.example/hooks", events=["version.approved"], secret=SECRET
    )
    client = Client()
    client.force_login(staff)
    assert client.get(ADMIN).status_code == 403
    assert client.get(f"{ADMIN}{made.pk}/change/").status_code == 403
    assert client.post(f"{ADMIN}{made.pk}/delete/", {"post": "yes"}).status_code == 403
    assert WebhookSubscription.objects.filter(pk=made.pk).exists()
