"""The weekly queue as a manager works through it: decisions first with
their age, surprises grouped by account and kind across profiles, each kind
against its usual week, a group marked reviewed in one POST, and finishing
the review."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from profiles.models import Profile, ProfileVersion, User
from reviews import services
from reviews.models import Override, ReviewCheckpoint, ReviewMark
from reviews.selectors import (
    SurpriseEntries,
    queue_get,
    surprise_kinds,
    surprise_window_start,
)
from scoring import services as scoring_services
from scoring.models import Account, ScoringRun
from tests.drafting import approved_version
from tests.factories import AccountFactory, DealFactory, ProfileFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def enterprise(ops_manager: User) -> Profile:
    """A second profile, live with the same rules as the first: Acme is A in both."""
    profile = ProfileFactory.create(name="Enterprise", created_by=ops_manager)
    version = approved_version(profile, 1, [200, 2000])
    run_all(scoring_services.run_create(profile=profile, version=version, actor=ops_manager))
    return profile


@pytest.fixture
def lost_by_acme(acme: Account) -> list[int]:
    now = timezone.now()
    first = DealFactory.create(account=acme, external_id="acme-1", status="lost", closed_at=now,
                               amount=Decimal("14800"), currency="USD")  # fmt: skip
    second = DealFactory.create(account=acme, external_id="acme-2", status="lost",
                                closed_at=now - timedelta(days=2))  # fmt: skip
    return [first.pk, second.pk]


def entries(manager: User, include_reviewed: bool = False) -> list[tuple[str, str, int]]:
    listed = SurpriseEntries(manager, surprise_window_start(), include_reviewed)
    return [(e.kind, e.account_name, len(e.outcomes)) for e in listed]


def test_an_accounts_surprises_of_a_kind_are_one_entry_naming_every_profile(
    manager: User, live_run: ScoringRun, enterprise: Profile, lost_by_acme: list[int]
) -> None:
    listed = SurpriseEntries(manager, surprise_window_start(), False)

    assert listed.count() == 1
    [entry] = listed[:25]
    assert (entry.kind, entry.account_name) == ("lost", "Acme")
    assert [o.deal for o in entry.outcomes] == ["acme-1", "acme-2"]
    assert [(s.profile_name, s.tier) for s in entry.standings] == [
        ("Enterprise", "A"),
        ("Mid-market SaaS", "A"),
    ]


def test_the_headline_and_the_api_count_each_surprising_outcome_once(
    manager: User, live_run: ScoringRun, enterprise: Profile, lost_by_acme: list[int],
    client: Client,
) -> None:  # fmt: skip
    # Two lost deals, each surprising under both profiles' live tiers.
    queue = queue_get(viewer=manager)
    assert queue.headline == "2 surprises"
    assert len(queue.surprises[:10]) == 4
    client.force_login(manager)
    surprises = client.get("/api/v1/reviews/queue/").json()["surprises"]
    assert (surprises["count"], len(surprises["items"])) == (2, 4)


def test_entries_come_by_kind_then_latest_first(
    manager: User, icp: Profile, v1: ProfileVersion, ops_manager: User
) -> None:
    now = timezone.now()
    lucky = AccountFactory.create(name="Lucky", employees=None, has_revops=None)  # C
    DealFactory.create(account=lucky, status="won", closed_at=now - timedelta(days=1))
    lost_a = AccountFactory.create(name="Lost A", employees=450, has_revops=True)
    DealFactory.create(account=lost_a, status="lost", closed_at=now)
    older = AccountFactory.create(name="Older A", employees=450, has_revops=True)
    DealFactory.create(account=older, status="lost", closed_at=now - timedelta(days=4))
    AccountFactory.create(name="Gone A", employees=450, has_revops=True, churned_at=now)
    run_all(scoring_services.run_create(profile=icp, version=v1, actor=ops_manager))

    assert entries(manager) == [
        ("won", "Lucky", 1),
        ("lost", "Lost A", 1),
        ("lost", "Older A", 1),
        ("churned", "Gone A", 1),
    ]


def test_each_kind_is_counted_this_week_against_its_usual_week(
    manager: User, acme: Account, live_run: ScoringRun, enterprise: Profile
) -> None:
    now = timezone.now()
    # 20 losses by tier A accounts this week (one deal, two profiles, counts
    # once); 16 in the 8 weeks before (2 a week); one 10 weeks ago, too old.
    for i in range(20):
        DealFactory.create(account=acme, status="lost", closed_at=now - timedelta(hours=i))
    for i in range(16):
        DealFactory.create(account=acme, status="lost", closed_at=now - timedelta(days=8 + 3 * i))
    DealFactory.create(account=acme, status="lost", closed_at=now - timedelta(days=70))

    kinds = {k.kind: k for k in surprise_kinds(viewer=manager, now=now)}

    lost = kinds["lost"]
    assert (lost.this_week, lost.before, lost.usual) == (20, 16, Decimal(2))
    assert lost.sentence == "20 tier-A losses this week, 18 more than usual"
    assert lost.usual_text == "usual: 2 a week, the average of the 8 weeks before"
    # Waiting: the losses of the last 30 days nobody has marked.
    assert lost.waiting == 20 + 8
    assert kinds["won"].sentence == "0 tier C/DQ wins this week, as many as usual"
    assert kinds["churned"].this_week == 0


def test_a_quiet_week_says_how_many_fewer_than_usual(
    manager: User, acme: Account, live_run: ScoringRun
) -> None:
    now = timezone.now()
    DealFactory.create(account=acme, status="lost", closed_at=now)
    for i in range(40):
        DealFactory.create(account=acme, status="lost", closed_at=now - timedelta(days=8, hours=i))

    lost = {k.kind: k for k in surprise_kinds(viewer=manager, now=now)}["lost"]

    assert lost.sentence == "1 tier-A loss this week, 4 fewer than usual"


def test_marking_an_entry_marks_all_its_outcomes_once(
    client: Client, manager: User, live_run: ScoringRun, enterprise: Profile,
    lost_by_acme: list[int], acme: Account,
) -> None:  # fmt: skip
    client.force_login(manager)
    post = {"kind": "lost", "account_id": acme.pk, "through": timezone.now().isoformat()}

    response = client.post(reverse("review-mark-group"), post)

    assert response.status_code == 302
    marked = ReviewMark.objects.filter(user=manager, kind="lost")
    assert sorted(marked.values_list("object_id", flat=True)) == sorted(lost_by_acme)
    assert entries(manager) == []
    assert entries(manager, include_reviewed=True) == [("lost", "Acme", 2)]
    again = client.post(reverse("review-mark-group"), post, follow=True)
    assert marked.count() == 2
    assert "Already reviewed." in again.content.decode()


def test_an_outcome_after_the_page_was_drawn_is_not_marked_with_its_group(
    client: Client, manager: User, live_run: ScoringRun, acme: Account
) -> None:
    now = timezone.now()
    seen = DealFactory.create(account=acme, status="lost", closed_at=now - timedelta(hours=2))
    DealFactory.create(account=acme, status="lost", closed_at=now)
    client.force_login(manager)

    client.post(
        reverse("review-mark-group"),
        {"kind": "lost", "through": (now - timedelta(hours=1)).isoformat()},
    )

    assert list(ReviewMark.objects.values_list("object_id", flat=True)) == [seen.pk]
    assert entries(manager) == [("lost", "Acme", 1)]


def test_marking_a_kind_marks_every_account_of_that_kind_only(
    client: Client, manager: User, icp: Profile, v1: ProfileVersion, ops_manager: User
) -> None:
    now = timezone.now()
    for name in ("North", "South"):
        DealFactory.create(account__name=name, account__employees=450,
                           account__has_revops=True, status="lost", closed_at=now)  # fmt: skip
    AccountFactory.create(name="Gone A", employees=450, has_revops=True, churned_at=now)
    run_all(scoring_services.run_create(profile=icp, version=v1, actor=ops_manager))
    client.force_login(manager)

    response = client.post(reverse("review-mark-group"), {"kind": "lost"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="queue-surprises"' in page
    assert "Marked 2 surprises reviewed." in page
    assert entries(manager) == [("churned", "Gone A", 1)]


@pytest.mark.parametrize(
    ("post", "named"),
    [
        ({"kind": "override"}, "kind"),
        ({"kind": "lost", "account_id": "x"}, "account_id"),
        ({"kind": "lost", "through": "31/31/2024"}, "through"),
        ({"kind": "lost", "through": "0001-01-01T00:00:00"}, "through"),
    ],
)
def test_a_bad_group_is_refused_naming_the_field_and_nothing_is_marked(
    client: Client, manager: User, live_run: ScoringRun, lost_by_acme: list[int],
    post: dict[str, str], named: str,
) -> None:  # fmt: skip
    client.force_login(manager)

    response = client.post(reverse("review-mark-group"), post)

    assert response.status_code == 400
    assert named in response.content.decode()
    assert not ReviewMark.objects.exists()


def test_marking_a_group_needs_a_signed_in_person(
    client: Client, live_run: ScoringRun, lost_by_acme: list[int]
) -> None:
    response = client.post(reverse("review-mark-group"), {"kind": "lost"})

    assert response.status_code == 302
    assert "/login" in response["Location"] or "login" in response["Location"]
    assert not ReviewMark.objects.exists()


def test_decisions_come_first_with_how_long_they_have_waited(
    client: Client, rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun,
    lost_by_acme: list[int],
) -> None:  # fmt: skip
    override = services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    Override.objects.filter(pk=override.pk).update(created_at=timezone.now() - timedelta(days=9))
    client.force_login(manager)

    page = client.get(reverse("review-queue")).content.decode()

    assert "waiting 9 days" in page
    assert page.index('data-testid="queue-overrides"') < page.index('id="queue-surprises"')
    assert "14,800 USD" in page
    assert "2 tier-A losses this week" in page


def test_finishing_the_review_says_when_and_by_whom(
    client: Client, manager: User, live_run: ScoringRun
) -> None:
    client.force_login(manager)
    before = client.get(reverse("review-queue")).content.decode()
    assert "You have not finished a review yet" in before

    response = client.post(reverse("review-checkpoint"), follow=True)

    checkpoint = ReviewCheckpoint.objects.get(user=manager)
    page = response.content.decode()
    shown = timezone.localtime(checkpoint.reviewed_at)
    assert f"Last finished {shown:%b} {shown.day}, {shown:%Y %H:%M} by you." in page
    assert "surprises that happen after this moment are marked New" in page
