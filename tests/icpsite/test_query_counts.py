"""The lists cost a fixed number of queries, whatever they hold: each page
is read with N rows and with 3N, under the same ceiling and at the same count.
A query per row (an account's override, a criterion's comments, a claim's
rep) would add N queries between the two."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from profiles import services as profile_services
from profiles.models import Profile, ProfileVersion, Team, Trait, User
from reviews import services as review_services
from scoring import services as scoring_services
from scoring.api_keys import api_key_create
from scoring.models import Account, ScoringRun
from tests.factories import (
    AccountFactory,
    CriterionFactory,
    DealFactory,
    MembershipFactory,
    UserFactory,
)
from tests.runs import run_all

pytestmark = pytest.mark.django_db

N = 10

# The ceilings: what each page costs with N rows or 3N, on SQLite and PostgreSQL.
# A page's navigation adds one query, its My work and unread counts.
ACCOUNT_LIST_QUERIES = 9
SCORES_FEED_QUERIES = 7
# The accounts' outcome fields are their outcome deals', read in one query per page.
ACCOUNT_SYNC_LIST_QUERIES = 5
VERSION_PAGE_QUERIES = 25
REVIEW_QUEUE_QUERIES = 15  # with a page of surprise entries, one more: their outcomes
CHECKIN_PAGE_QUERIES = 27  # with the live version, whose suggestions an open one loads
TRAIT_LIST_QUERIES = 3


def counted(get: Callable[[], int]) -> int:
    """Queries one GET runs (after a first GET has warmed any cache)."""
    assert get() == 200
    with CaptureQueriesContext(connection) as captured:
        assert get() == 200
    return len(captured)


@pytest.fixture
def live_run(icp: Profile, v1: ProfileVersion, ops_manager: User) -> ScoringRun:
    run = run_all(scoring_services.run_create(profile=icp, version=v1, actor=ops_manager))
    assert run is not None
    return run


def claimed_accounts(n: int, icp: Profile, reps: list[User], manager: User) -> list[Account]:
    """`n` scored accounts, each with a rep's claim; every other claim accepted."""
    accounts = AccountFactory.create_batch(n, employees=450, has_revops=True)
    scoring_services.accounts_score([a.pk for a in accounts])
    for i, account in enumerate(accounts):
        override = review_services.override_create(
            actor=reps[i % len(reps)],
            account=account,
            profile=icp,
            claimed_tier="B",
            reason="strategic",
        )
        if i % 2:
            review_services.override_accept(actor=manager, override=override, note="Agreed")
    return accounts


@pytest.fixture
def team_reps(sales: Team) -> list[User]:
    return [MembershipFactory.create(team=sales).user for _ in range(3)]


def test_the_account_list_costs_the_same_for_n_or_3n_accounts_with_overrides(
    client: Client,
    icp: Profile,
    live_run: ScoringRun,
    team_reps: list[User],
    manager: User,
) -> None:
    client.force_login(manager)

    def get() -> int:
        return client.get(reverse("account-list")).status_code

    claimed_accounts(N, icp, team_reps, manager)
    few = counted(get)
    claimed_accounts(2 * N, icp, team_reps, manager)
    many = counted(get)
    assert few == many <= ACCOUNT_LIST_QUERIES


def test_the_scores_feed_costs_the_same_for_n_or_3n_scored_accounts(
    icp: Profile, live_run: ScoringRun, team_reps: list[User], manager: User
) -> None:
    reader = UserFactory.create(username="crm", is_staff=True)
    key = api_key_create(actor=reader, name="CRM", user=reader, scope="read").plaintext
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get() -> int:
        return client.get("/api/v1/scores/", {"profile": icp.slug}).status_code

    claimed_accounts(N, icp, team_reps, manager)
    few = counted(get)
    claimed_accounts(2 * N, icp, team_reps, manager)
    many = counted(get)
    assert few == many <= SCORES_FEED_QUERIES


def test_the_api_account_list_costs_the_same_for_n_or_3n_accounts_filtered_by_tier(
    icp: Profile, live_run: ScoringRun, team_reps: list[User], manager: User
) -> None:
    reader = UserFactory.create(username="crm", is_staff=True)
    key = api_key_create(actor=reader, name="CRM", user=reader, scope="read").plaintext
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    query: dict[str, Any] = {"profile": icp.slug, "tier": ["A", "B"], "page_size": 1000}

    def get() -> int:
        response = client.get("/api/v1/accounts/", query)
        return response.status_code if len(response.json()["results"]) >= N else 0

    claimed_accounts(N, icp, team_reps, manager)
    few = counted(get)
    claimed_accounts(2 * N, icp, team_reps, manager)
    many = counted(get)
    assert few == many <= ACCOUNT_SYNC_LIST_QUERIES


def test_the_trait_list_costs_the_same_for_n_or_3n_traits_held_by_accounts(
    outsider: User,
) -> None:
    key = api_key_create(actor=None, name="CRM", user=outsider, scope="read").plaintext
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    def declared(start: int, n: int) -> None:
        for i in range(start, start + n):
            Trait.objects.create(key=f"t{i}", label=f"T{i}", type="number", category="firmographic")
            AccountFactory.create(traits={f"t{i}": i})

    def get() -> int:
        return client.get("/api/v1/traits/").status_code

    declared(0, N)
    few = counted(get)
    declared(N, 2 * N)
    many = counted(get)
    assert few == many <= TRAIT_LIST_QUERIES


def commented_criteria(n: int, version: ProfileVersion, people: dict[str, User]) -> None:
    """`n` more criteria on the version, each with a comment from every team."""
    for i in range(n):
        criterion = CriterionFactory.create(
            version=version, attribute="employees", operator="gte", value=10 + i, points=1
        )
        for slug, person in people.items():
            profile_services.comment_create(
                actor=person,
                version=version,
                team=Team.objects.get(slug=slug),
                body=f"About {criterion.value}",
                criterion=criterion,
            )


def test_the_version_page_costs_the_same_for_n_or_3n_criteria_and_comments(
    client: Client, in_review: ProfileVersion, rep: User, marketer: User, ops_manager: User
) -> None:
    people = {"sales": rep, "marketing": marketer, "revops": ops_manager}
    client.force_login(rep)
    url = reverse(
        "version-detail", kwargs={"slug": in_review.profile.slug, "number": in_review.number}
    )

    def get() -> int:
        return client.get(url).status_code

    commented_criteria(N, in_review, people)
    few = counted(get)
    commented_criteria(2 * N, in_review, people)
    many = counted(get)
    assert few == many <= VERSION_PAGE_QUERIES


def test_the_review_queue_costs_the_same_for_n_or_3n_claims(
    client: Client, icp: Profile, live_run: ScoringRun, team_reps: list[User], manager: User
) -> None:
    client.force_login(manager)

    def get() -> int:
        return client.get(reverse("review-queue")).status_code

    claimed_accounts(N, icp, team_reps, manager)
    few = counted(get)
    claimed_accounts(2 * N, icp, team_reps, manager)
    many = counted(get)
    assert few == many <= REVIEW_QUEUE_QUERIES


def test_the_check_in_page_costs_the_same_for_n_or_3n_claims_and_deals(
    client: Client, icp: Profile, live_run: ScoringRun, team_reps: list[User], manager: User
) -> None:
    """An open check-in's agenda is worked out on every look: a fixed
    number of aggregates, whatever the period holds."""
    checkin = review_services.checkin_open(
        profile=icp, kind="scheduled", due_on=timezone.localdate()
    )
    assert checkin is not None
    client.force_login(manager)

    def get() -> int:
        return client.get(reverse("checkin-detail", args=[checkin.pk])).status_code

    def claimed_and_closed(n: int) -> None:
        for account in claimed_accounts(n, icp, team_reps, manager):
            DealFactory.create(account=account, status="won")

    claimed_and_closed(N)
    few = counted(get)
    claimed_and_closed(2 * N)
    many = counted(get)
    assert few == many <= CHECKIN_PAGE_QUERIES
