"""The review pages: account panel, queue, check-ins, evidence, validation."""

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse

from profiles.models import Profile, ProfileVersion, Team, User
from reviews import services
from reviews.models import Override, OverrideStatus
from scoring.models import Account, ScoringRun
from tests.drafting import approved_version
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_a_rep_logs_an_override_from_the_account_panel(
    client: Client, rep: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    client.force_login(rep)
    url = reverse("account-overrides", args=[tiny.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b"Log an override" in page.content
    # Criteria are offered in words, with their weight.
    assert "Employees is between 200 and 2,000 (60 points)" in page.content.decode()
    bad = client.post(url, {"profile": icp.pk, "claimed_tier": "B", "reason": "too_strict"})
    assert bad.status_code == 422
    assert b"already puts Tiny in tier B" in bad.content
    done = client.post(
        url, {"profile": icp.pk, "claimed_tier": "A", "reason": "too_strict", "note": "Buying"}
    )
    assert done.status_code == 200
    assert b"Override logged" in done.content
    assert Override.objects.get().claimed_tier == "A"
    detail = client.get(reverse("account-detail", args=[tiny.pk]))
    assert reverse("account-overrides", args=[tiny.pk]).encode() in detail.content


def test_the_manager_accepts_from_the_queue_and_the_account_shows_the_effective_tier(
    client: Client, rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    override = services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="too_strict"
    )
    client.force_login(manager)
    queue = client.get(reverse("review-queue"))
    assert queue.status_code == 200
    assert b"Tiny" in queue.content
    response = client.post(
        reverse("override-decide", args=[override.pk, "accept"]),
        {"note": "Yes"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert b"Accepted by" in response.content
    panel = client.get(reverse("account-overrides", args=[tiny.pk]))
    assert b"by accepted override" in panel.content


def test_an_override_logged_under_a_replaced_version_can_only_be_rejected(
    client: Client,
    rep: User,
    manager: User,
    icp: Profile,
    v1: ProfileVersion,
    tiny: Account,
    live_run: ScoringRun,
) -> None:
    services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="too_strict"
    )
    ProfileVersion.objects.filter(pk=v1.pk).update(status="superseded")
    approved_version(icp, 2, [100, 2000])
    client.force_login(manager)
    row = client.get(reverse("review-queue")).content.decode()
    assert "logged under v1" in row
    assert '<button type="submit" disabled title="Logged under v1, which is no longer live' in row
    assert ">Reject</button>" in row


def test_a_refused_decision_says_why_and_changes_nothing(
    client: Client, rep: User, marketer: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    override = services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="too_strict"
    )
    client.force_login(marketer)
    response = client.post(
        reverse("override-decide", args=[override.pk, "accept"]), headers={"HX-Request": "true"}
    )
    assert b"Only managers of Sales" in response.content
    override.refresh_from_db()
    assert override.status == OverrideStatus.PENDING


def test_the_evidence_panel_and_validation_page_render(
    client: Client, rep: User, icp: Profile, live_run: ScoringRun, v1: ProfileVersion
) -> None:
    draft = approved_version(icp, 2, [100, 2000], status="draft")
    client.force_login(rep)
    evidence = client.get(reverse("version-evidence", args=[icp.slug, draft.number]))
    assert evidence.status_code == 200
    assert b"Backtest on closed deals" in evidence.content
    validation = client.get(reverse("validation"), {"profile": icp.slug, "draft": "2"})
    assert validation.status_code == 200
    assert validation.content.count(b"<svg") == 4


def test_check_in_pages_render(client: Client, manager: User, live_run: ScoringRun) -> None:
    client.force_login(manager)
    assert client.get(reverse("checkin-list")).status_code == 200


def test_pages_and_the_digest_name_who_logged_a_claim_for_whom(
    client: Client,
    rep: User,
    manager: User,
    sales: Team,
    icp: Profile,
    tiny: Account,
    acme: Account,
    live_run: ScoringRun,
) -> None:
    User.objects.filter(pk=rep.pk).update(first_name="Rita", last_name="Rep")
    User.objects.filter(pk=manager.pk).update(first_name="Mona", last_name="Manager")
    rep.refresh_from_db()
    manager.refresh_from_db()
    services.override_create(
        actor=manager, rep=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    other = MembershipFactory.create(user__username="manager2", team=sales, role="manager").user
    both = "logged by Mona Manager for Rita Rep"
    client.force_login(other)
    assert both in client.get(reverse("review-queue")).content.decode()
    assert both in client.get(reverse("account-overrides", args=[tiny.pk])).content.decode()
    services.override_create(
        actor=rep, account=acme, profile=icp, claimed_tier="C", reason="timing"
    )
    panel = client.get(reverse("account-overrides", args=[acme.pk])).content.decode()
    assert "<td>Rita Rep</td>" in panel
    assert "logged by" not in panel
    services.digests_send()
    [digest] = [m for m in mail.outbox if m.to == [other.email]]
    assert f"Tiny: B -> A (strategic account), {both}" in digest.body
    assert "Acme: A -> C (timing or intent), by Rita Rep" in digest.body
    assert isinstance(digest, EmailMultiAlternatives)
    [(html, mimetype)] = digest.alternatives
    assert mimetype == "text/html"
    assert isinstance(html, str)
    assert both in html


def test_a_refused_decision_without_htmx_says_why_on_the_page(
    client: Client, rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    override = services.override_create(
        actor=manager, rep=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    client.force_login(manager)
    response = client.post(
        reverse("override-decide", args=[override.pk, "accept"]), {"note": "ok"}, follow=True
    )
    assert "You logged this claim, so another manager decides it." in response.content.decode()
    override.refresh_from_db()
    assert (override.status, override.reviewed_by) == (OverrideStatus.PENDING, None)


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/", "http://testserver.evil.example/", "\\\\evil"],
)
def test_a_decision_redirects_to_the_queue_rather_than_another_site(
    next_url: str,
    client: Client,
    rep: User,
    manager: User,
    icp: Profile,
    tiny: Account,
    live_run: ScoringRun,
) -> None:
    override = services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="too_strict"
    )
    client.force_login(manager)
    response = client.post(
        reverse("override-decide", args=[override.pk, "reject"]),
        {"note": "Too small", "next": next_url},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("review-queue")


def test_a_decision_returns_to_a_page_of_this_site(
    client: Client, rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    override = services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="too_strict"
    )
    client.force_login(manager)
    response = client.post(
        reverse("override-decide", args=[override.pk, "reject"]),
        {"note": "Too small", "next": "/reviews/?page=2"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/reviews/?page=2"


def test_signing_in_does_not_follow_next_to_another_site(client: Client, rep: User) -> None:
    from tests.factories import PASSWORD

    response = client.post(
        reverse("login"),
        {"username": rep.username, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil.example")
