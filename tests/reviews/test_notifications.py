"""Notifications: who is told of what (the people My work shows it to),
one email per person and event after commit, none for those who chose no
email, the Monday digest for those who chose it, never twice, nothing when
the write rolls back; the notifications page and the choices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from profiles import policies as profile_policies
from profiles import services as profile_services
from profiles.models import Membership, Profile, ProfileVersion, Team, User
from reviews import policies, services
from reviews.models import (
    CheckInKind,
    DigestSent,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from reviews.mywork import services as mywork
from reviews.tasks import email_notifications_task, email_unsent_notifications_task
from scoring.models import Account, ScoringRun
from tests.drafting import sign_for
from tests.factories import MembershipFactory, UserFactory
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]
SITE = "http://localhost:8000"


@pytest.fixture
def cast(
    rep: User, manager: User, marketer: User, ops_manager: User, outsider: User
) -> dict[str, User]:
    return {
        "rep": rep,
        "manager": manager,
        "marketer": marketer,
        "ops_manager": ops_manager,
        "outsider": outsider,
    }


@pytest.fixture
def v2(icp: Profile, v1: ProfileVersion, marketer: User, cast: dict[str, User]) -> ProfileVersion:
    """A draft copied from the live v1 by the marketer, ready to submit."""
    return profile_services.version_start_draft(actor=marketer, profile=icp)


def submit(version: ProfileVersion, actor: User) -> ProfileVersion:
    return profile_services.version_submit(actor=actor, version=version)


def to(outbox: list[EmailMessage]) -> list[str]:
    return sorted(address for message in outbox for address in message.to)


def choose(user: User, kind: str, delivery: str) -> None:
    mywork.preferences_set(actor=user, choices={kind: delivery})


# --- One email per person and event --------------------------------------------------


def test_submitting_emails_each_member_of_each_team_that_must_sign_once(
    v2: ProfileVersion,
    marketer: User,
    cast: dict[str, User],
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        submit(v2, marketer)
    # The marketer submitted it, and is Marketing's only member: not told.
    assert to(mailoutbox) == ["manager@example.com", "ops@example.com", "rep@example.com"]
    email = next(m for m in mailoutbox if m.to == ["manager@example.com"])
    assert email.subject == "Mid-market SaaS v2 is in review: sign off for Sales"
    assert f"{SITE}/profiles/mid-market-saas/v2/#signoffs" in email.body
    assert f"{SITE}/reviews/notifications/preferences/" in email.body
    assert isinstance(email, EmailMultiAlternatives)
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    assert f'href="{SITE}/profiles/mid-market-saas/v2/#signoffs"' in str(html)
    assert Notification.objects.filter(emailed_at__isnull=False).count() == 3


def test_nobody_who_chose_no_email_gets_one_but_it_is_still_listed(
    v2: ProfileVersion,
    marketer: User,
    rep: User,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    choose(rep, NotificationKind.VERSION_SUBMITTED, "off")
    with django_capture_on_commit_callbacks(execute=True):
        submit(v2, marketer)
    assert "rep@example.com" not in to(mailoutbox)
    assert len(mailoutbox) == 2
    note = Notification.objects.get(user=rep)
    assert (note.delivery, note.emailed_at, note.read_at) == ("off", None, None)


def test_inactive_people_are_not_told_and_those_without_an_address_are_not_emailed(
    v2: ProfileVersion,
    marketer: User,
    rep: User,
    manager: User,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    User.objects.filter(pk=rep.pk).update(is_active=False)
    User.objects.filter(pk=manager.pk).update(email="")
    with django_capture_on_commit_callbacks(execute=True):
        submit(v2, marketer)
    assert to(mailoutbox) == ["ops@example.com"]
    assert not Notification.objects.filter(user=rep).exists()
    assert Notification.objects.get(user=manager).emailed_at is None


def test_the_monday_digest_holds_the_ones_set_to_digest_once(
    v2: ProfileVersion,
    marketer: User,
    rep: User,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    choose(rep, NotificationKind.VERSION_SUBMITTED, "digest")
    with django_capture_on_commit_callbacks(execute=True):
        submit(v2, marketer)
    assert "rep@example.com" not in to(mailoutbox)
    mailoutbox.clear()
    services.digests_send()  # the managers get their queues too
    [digest] = [m for m in mailoutbox if m.to == ["rep@example.com"]]
    assert digest.subject.endswith(": 1 notification")
    assert "Mid-market SaaS v2 is in review: sign off for Sales" in digest.body
    assert f"{SITE}/profiles/mid-market-saas/v2/#signoffs" in digest.body
    assert "Your review queue" not in digest.body  # a rep has no queue
    assert Notification.objects.get(user=rep).emailed_at is not None
    assert services.digests_send() == 0
    next_week = timezone.localdate() + timedelta(days=7)
    services.digests_send(today=next_week)  # nothing new for the rep
    assert len([m for m in mailoutbox if m.to == ["rep@example.com"]]) == 1


def test_a_managers_digest_holds_the_queue_and_the_claims_waiting_for_them(
    rep: User,
    manager: User,
    icp: Profile,
    tiny: Account,
    live_run: ScoringRun,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.override_create(
            actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
        )
    assert mailoutbox == []  # a claim waiting is a digest item unless chosen otherwise
    assert services.digests_send() == 1
    [digest] = mailoutbox
    assert digest.to == ["manager@example.com"]
    assert "1 pending override" in digest.subject
    assert digest.subject.endswith("; 1 notification")
    assert "Your decision: Tiny from B to A (strategic account)" in digest.body
    assert DigestSent.objects.filter(user=manager).count() == 1


def test_a_retried_task_sends_nothing_twice(
    v2: ProfileVersion,
    marketer: User,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submit(v2, marketer)
    [send] = [c for c in callbacks if "_send_after_commit" in repr(c)]
    ids = send.args[0]
    assert email_notifications_task(ids) == 3
    assert email_notifications_task(ids) == 0
    later = timezone.now() + timedelta(minutes=5)
    assert mywork.notifications_email_unsent(now=later) == 0
    assert len(mailoutbox) == 3


def test_a_repeated_event_is_recorded_once_per_person(
    v2: ProfileVersion, marketer: User, mailoutbox: list[EmailMessage]
) -> None:
    version = submit(v2, marketer)
    assert mywork.notify_version_submitted(version=version, actor=marketer) == 3
    assert Notification.objects.count() == 3
    assert (
        mywork.notifications_email(ids=list(Notification.objects.values_list("pk", flat=True))) == 3
    )
    assert len(mailoutbox) == 3


def test_nothing_is_recorded_or_sent_when_the_write_rolls_back(
    v2: ProfileVersion,
    marketer: User,
    outsider: User,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    def submit_then_fail() -> None:
        with transaction.atomic():
            submit(v2, marketer)
            assert Notification.objects.count() == 3
            raise RuntimeError("the request failed after the submit")

    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            submit_then_fail()
        with pytest.raises(PermissionDenied):
            submit(v2, outsider)
    assert snapshot() == before
    assert mailoutbox == []


def test_a_broker_that_does_not_answer_leaves_the_emails_to_the_sweep(
    v2: ProfileVersion,
    marketer: User,
    broker_down: None,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        submit(v2, marketer)
    assert mailoutbox == []
    assert mywork.notifications_email_unsent() == 0  # too fresh: the send may be on its way
    assert mywork.notifications_email_unsent(now=timezone.now() + timedelta(minutes=2)) == 3
    assert len(mailoutbox) == 3
    assert mywork.notifications_email_unsent(now=timezone.now() + timedelta(days=2)) == 0


def test_beat_sweeps_unsent_emails_every_minute() -> None:
    entries = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert entries["reviews.email_unsent_notifications"] == 60.0
    assert email_unsent_notifications_task() == 0


# --- Who hears of what ----------------------------------------------------------------


def told(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


def test_a_submission_tells_exactly_who_may_sign_for_a_team_that_owes(
    v2: ProfileVersion, marketer: User, cast: dict[str, User], icp: Profile
) -> None:
    version = submit(v2, marketer)
    may_sign = {
        user.username
        for user in cast.values()
        if user != marketer
        and any(profile_policies.can_sign_off(user, version, t) for t in icp.required_teams.all())
    }
    assert told(NotificationKind.VERSION_SUBMITTED) == may_sign == {"rep", "manager", "ops"}


def test_a_resubmission_tells_only_the_teams_still_owing(
    v2: ProfileVersion, marketer: User, rep: User, manager: User, ops_manager: User, icp: Profile
) -> None:
    version = submit(v2, marketer)
    sign_for(version, {"sales": rep})
    profile_services.signoff_give(
        actor=ops_manager, version=version, team=Team.objects.get(slug="revops"),
        decision="request_changes", note="Name the RevOps rule.",
    )  # fmt: skip
    Notification.objects.all().delete()
    submit(version, marketer)
    assert told(NotificationKind.VERSION_SUBMITTED) == {"ops"}  # Sales's approval still holds


def test_an_edit_in_review_tells_the_teams_whose_sign_off_went_stale_once(
    v2: ProfileVersion,
    marketer: User,
    rep: User,
    manager: User,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    version = submit(v2, marketer)
    sign_for(version, {"sales": rep, "marketing": marketer})
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for threshold in (75, 80):
            version.refresh_from_db()
            profile_services.version_update(
                actor=marketer, version=version, revision=version.revision, rationale="Tighter.",
                threshold_a=threshold, threshold_b=40,
            )  # fmt: skip
    # Sales signed revision 1; the first edit made it stale, the second
    # found it stale already. Marketing's own editor is not told; RevOps
    # had not signed.
    assert told(NotificationKind.SIGNOFF_STALE) == {"rep", "manager"}
    assert to(mailoutbox) == ["manager@example.com", "rep@example.com"]
    assert mailoutbox[0].subject == "Sign again: Mid-market SaaS v2 changed after Sales signed it"
    assert "Sales signed revision 1" in mailoutbox[0].body


def test_an_edit_of_a_draft_tells_nobody_to_sign_again(
    v2: ProfileVersion, marketer: User, rep: User
) -> None:
    version = submit(v2, marketer)
    sign_for(version, {"sales": rep})
    profile_services.signoff_give(
        actor=marketer, version=version, team=Team.objects.get(slug="marketing"),
        decision="request_changes", note="Wait for the new data.",
    )  # fmt: skip
    version.refresh_from_db()
    profile_services.version_update(
        actor=marketer, version=version, revision=version.revision, rationale="New data.",
        threshold_a=75, threshold_b=40,
    )  # fmt: skip
    assert told(NotificationKind.SIGNOFF_STALE) == set()


def test_approval_tells_who_signed_or_commented_but_the_approver(
    v2: ProfileVersion, marketer: User, rep: User, manager: User, ops_manager: User, sales: Team
) -> None:
    version = submit(v2, marketer)
    profile_services.comment_create(actor=manager, version=version, team=sales, body="Fine.")
    sign_for(version, {"sales": rep, "marketing": marketer, "revops": ops_manager})
    profile_services.version_approve(actor=ops_manager, version=version)
    assert told(NotificationKind.VERSION_APPROVED) == {"rep", "marketer", "manager"}
    note = Notification.objects.filter(kind=NotificationKind.VERSION_APPROVED).first()
    assert note is not None
    assert (note.title, note.path) == (
        "Mid-market SaaS v2 is approved and live",
        "/profiles/mid-market-saas/v2/",
    )


def test_a_claim_tells_exactly_who_may_decide_it(
    icp: Profile, tiny: Account, live_run: ScoringRun, cast: dict[str, User], sales: Team
) -> None:
    admin = UserFactory.create(username="padmin")
    icp.admins.add(admin)
    second = MembershipFactory.create(
        user__username="manager2", team=sales, role=Membership.Role.MANAGER
    ).user
    people = [*cast.values(), admin, second]
    override = services.override_create(
        actor=cast["manager"], rep=cast["rep"], account=tiny, profile=icp,
        claimed_tier="A", reason="strategic",
    )  # fmt: skip
    may_decide = {u.username for u in people if policies.can_review_override(u, override)}
    assert told(NotificationKind.OVERRIDE_WAITING) == may_decide == {"padmin", "manager2"}
    note = Notification.objects.get(user=second)
    assert note.path == f"/reviews/queue/overrides/{override.pk}/"


def test_a_decision_tells_the_rep_and_whoever_logged_it_in_their_name(
    icp: Profile,
    tiny: Account,
    live_run: ScoringRun,
    rep: User,
    manager: User,
    sales: Team,
    mailoutbox: list[EmailMessage],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    second = MembershipFactory.create(
        user__username="manager2", team=sales, role=Membership.Role.MANAGER
    ).user
    override = services.override_create(
        actor=manager, rep=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.override_reject(actor=second, override=override, note="Tiny is too small.")
    assert to(mailoutbox) == ["manager@example.com", "rep@example.com"]
    mine = next(m for m in mailoutbox if m.to == ["rep@example.com"])
    assert mine.subject == "Your override was rejected: Tiny from B to A (strategic account)"
    assert "Their note: Tiny is too small." in mine.body
    assert f"{SITE}/accounts/{tiny.pk}/#overrides" in mine.body
    logged = next(m for m in mailoutbox if m.to == ["manager@example.com"])
    assert logged.subject.startswith("The override you logged for ")


def test_a_check_in_tells_exactly_who_may_close_it(
    icp: Profile, v1: ProfileVersion, cast: dict[str, User]
) -> None:
    admin = UserFactory.create(username="padmin")
    icp.admins.add(admin)
    checkin = services.checkin_open(
        profile=icp, kind=CheckInKind.SCHEDULED, due_on=timezone.localdate()
    )
    assert checkin is not None
    may_close = {u.username for u in [*cast.values(), admin] if policies.can_close_checkin(u, icp)}
    assert told(NotificationKind.CHECKIN_DUE) == may_close == {"manager", "ops", "padmin"}
    note = Notification.objects.get(user=admin)
    assert note.path == f"/reviews/checkins/{checkin.pk}/"


# --- The pages ----------------------------------------------------------------------


@pytest.fixture
def told_manager(v2: ProfileVersion, marketer: User, manager: User) -> Notification:
    submit(v2, marketer)
    return Notification.objects.get(user=manager)


def test_the_page_lists_my_notifications_unread_and_marks_them_read(
    told_manager: Notification, manager: User, client: Client
) -> None:
    client.force_login(manager)
    page = client.get(reverse("notification-list")).content.decode()
    assert told_manager.title in page
    assert 'data-testid="unread"' in page
    assert 'data-testid="unread-count">1</span>' in page
    response = client.post(
        reverse("notification-read", args=[told_manager.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert 'data-testid="unread"' not in response.content.decode()
    told_manager.refresh_from_db()
    assert told_manager.read_at is not None
    assert 'data-testid="unread-count"' not in client.get("/").content.decode()


def test_nobody_reads_someone_elses_notification(
    told_manager: Notification, rep: User, client: Client
) -> None:
    client.force_login(rep)
    before = snapshot()
    assert client.post(reverse("notification-read", args=[told_manager.pk])).status_code == 404
    assert snapshot() == before
    with pytest.raises(PermissionDenied):
        mywork.notification_read(actor=rep, notification=told_manager)


def test_marking_all_read_leaves_what_arrived_after_the_page(
    told_manager: Notification, manager: User, client: Client, icp: Profile
) -> None:
    client.force_login(manager)
    made_at = client.get(reverse("notification-list")).context["made_at"]
    Notification.objects.filter(pk=told_manager.pk).update(
        created_at=timezone.now() - timedelta(minutes=1)
    )
    later = mywork.notify(
        kind=NotificationKind.CHECKIN_DUE, key="later", path="/reviews/checkins/",
        notices=[mywork.Notice(manager, "A later one")],
    )  # fmt: skip
    assert later == 1
    response = client.post(reverse("notifications-read-all"), {"through": made_at})
    assert response.status_code == 302
    unread = Notification.objects.filter(user=manager, read_at__isnull=True)
    assert list(unread.values_list("title", flat=True)) == ["A later one"]


def test_a_bad_moment_to_read_through_is_a_400_naming_it(
    told_manager: Notification, manager: User, client: Client
) -> None:
    client.force_login(manager)
    before = snapshot()
    response = client.post(reverse("notifications-read-all"), {"through": "yesterday"})
    assert response.status_code == 400
    assert response.content.decode().startswith("through: ")
    assert snapshot() == before


def test_the_choices_page_shows_the_defaults_and_saves_each_kind(rep: User, client: Client) -> None:
    client.force_login(rep)
    form = client.get(reverse("notification-preferences")).context["form"]
    assert form.initial[NotificationKind.OVERRIDE_WAITING] == "digest"
    assert form.initial[NotificationKind.VERSION_SUBMITTED] == "immediately"
    choices = dict.fromkeys(NotificationKind.values, "immediately")
    choices[NotificationKind.VERSION_APPROVED] = "off"
    response = client.post(reverse("notification-preferences"), choices)
    assert response.status_code == 302
    saved = dict(NotificationPreference.objects.filter(user=rep).values_list("kind", "delivery"))
    assert saved == choices


def test_a_bad_choice_is_refused_naming_the_kind_and_nothing_is_stored(
    rep: User, client: Client
) -> None:
    client.force_login(rep)
    choices = dict.fromkeys(NotificationKind.values, "immediately")
    choices[NotificationKind.CHECKIN_DUE] = "hourly"
    before = snapshot()
    response = client.post(reverse("notification-preferences"), choices)
    assert response.status_code == 422
    assert "A check-in I take part in comes due: Select a valid choice." in (
        response.content.decode()
    )
    assert snapshot() == before


def test_nobody_chooses_for_someone_else_without_the_permission(rep: User, manager: User) -> None:
    with pytest.raises(PermissionDenied):
        mywork.preferences_set(actor=manager, user=rep, choices={"checkin_due": "off"})
    assert not NotificationPreference.objects.exists()


# --- The admin ------------------------------------------------------------------------


def test_the_admin_lists_what_was_sent_and_changes_a_choice_through_the_service(
    told_manager: Notification, admin_client: Client, manager: User
) -> None:
    listing = admin_client.get(reverse("admin:reviews_notification_changelist"))
    assert listing.status_code == 200
    assert told_manager.title in listing.content.decode()
    detail = admin_client.get(reverse("admin:reviews_notification_change", args=[told_manager.pk]))
    assert detail.status_code == 200
    assert admin_client.get(reverse("admin:reviews_notification_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:reviews_notificationpreference_add"),
        {"user": manager.pk, "kind": "checkin_due", "delivery": "off"},
    )
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=manager).delivery == "off"
    refused = admin_client.post(
        reverse("admin:reviews_notificationpreference_add"),
        {"user": manager.pk, "kind": "checkin_due", "delivery": "hourly"},
    )
    assert refused.status_code == 200
    assert NotificationPreference.objects.get(user=manager).delivery == "off"
