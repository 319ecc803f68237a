"""The accounts list and an account's page with its math."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from profiles.models import Profile, User
from scoring import services, views
from scoring.models import Account, ScoringRun
from tests.drafting import approved_version
from tests.factories import AccountFactory, DealFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(icp: Profile, ops_manager: User) -> ScoringRun:
    AccountFactory.create(name="Acme Fit", employees=450, has_revops=True)
    AccountFactory.create(name="Beta Half", employees=450, has_revops=None)
    AccountFactory.create(name="Gamma Banned", country="KP", domain="gamma.example")
    version = approved_version(icp, 1, [200, 2000])
    run = run_all(services.run_create(profile=icp, version=version, actor=ops_manager))
    assert run is not None
    return run


def names(client: Client, **params: str) -> list[str]:
    response = client.get(reverse("account-list"), params)
    assert response.status_code == 200
    return [a.name for a in response.context["page"]]


def test_the_list_shows_accounts_best_first_with_their_tiers(
    client: Client, rep: User, scored: ScoringRun
) -> None:
    client.force_login(rep)
    response = client.get(reverse("account-list"))
    assert [(a.name, a.score, a.tier) for a in response.context["page"]] == [
        ("Acme Fit", 100, "A"),
        ("Beta Half", 60, "B"),
        ("Gamma Banned", 0, "DQ"),
    ]
    assert b"Mid-market SaaS" in response.content


def test_the_list_filters_by_tier_score_and_search(
    client: Client, rep: User, scored: ScoringRun
) -> None:
    client.force_login(rep)
    assert names(client, tier="DQ") == ["Gamma Banned"]
    assert names(client, score_min="50", score_max="70") == ["Beta Half"]
    assert names(client, q="gamma.example") == ["Gamma Banned"]
    assert names(client, sort="name") == ["Acme Fit", "Beta Half", "Gamma Banned"]


def test_a_bad_filter_value_is_named_and_shows_no_error_page(
    client: Client, rep: User, scored: ScoringRun
) -> None:
    client.force_login(rep)
    response = client.get(reverse("account-list"), {"score_min": "lots"})
    assert response.status_code == 200
    assert b"Score from: Enter a number." in response.content


def test_the_list_runs_the_same_queries_whatever_the_page_holds(
    client: Client, rep: User, scored: ScoringRun
) -> None:
    client.force_login(rep)
    client.get(reverse("account-list"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("account-list"))
    AccountFactory.create_batch(40)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("account-list"))
    assert len(many) == len(few)


def test_the_count_stops_at_the_cap_and_says_more_than(
    client: Client, rep: User, scored: ScoringRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.force_login(rep)
    response = client.get(reverse("account-list"))
    assert "3 accounts" in response.content.decode()
    monkeypatch.setattr(views, "COUNT_CAP", 2)
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    response = client.get(reverse("account-list"))
    assert "More than 2 accounts" in response.content.decode()
    assert "Page 1 of 3+" in response.content.decode()
    assert names(client, tier="DQ") == ["Gamma Banned"]  # under the cap: exact
    assert "1 account<" in client.get(reverse("account-list"), {"tier": "DQ"}).content.decode()


def test_the_account_page_shows_the_math(client: Client, rep: User, scored: ScoringRun) -> None:
    client.force_login(rep)
    account = Account.objects.get(name="Beta Half")
    response = client.get(reverse("account-detail", args=[account.pk]))
    assert response.status_code == 200
    [explained] = response.context["explanations"]
    assert (explained.result.score, explained.result.tier) == (60, "B")
    outcomes = [(c.outcome.value, c.points) for c in explained.result.contributions]
    assert outcomes == [("matched", 60), ("unknown", 0), ("not_matched", 0)]
    assert b"unknown (no data)" in response.content
    assert [s.score for s in response.context["history"]] == [60]


def test_the_account_page_lists_its_deals_open_first_then_latest_closed(
    client: Client, rep: User
) -> None:
    account = AccountFactory.create(name="Acme")
    now = timezone.now()
    DealFactory.create(account=account, external_id="old", status="won", type="new",
                       closed_at=now - timedelta(days=400), amount=Decimal("20000"))  # fmt: skip
    DealFactory.create(account=account, external_id="renewal", name="", status="lost",
                       type="renewal", closed_at=now - timedelta(days=35))  # fmt: skip
    DealFactory.create(account=account, external_id="upsell", status="open", type="expansion",
                       opened_at=now, amount=Decimal("5000"), currency="EUR")  # fmt: skip
    DealFactory.create(external_id="someone-else", status="won")
    client.force_login(rep)

    response = client.get(reverse("account-detail", args=[account.pk]))

    assert [d.external_id for d in response.context["deals"]] == ["upsell", "renewal", "old"]
    page = response.content.decode()
    assert "Acme: new business" in page
    assert "5,000 EUR" in page
    assert "someone-else" not in page


def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get(reverse("account-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_an_override_under_the_live_version_sets_the_effective_tier_until_a_new_version(
    client: Client, rep: User, ops_manager: User, icp: Profile, scored: ScoringRun
) -> None:
    client.force_login(rep)
    account = Account.objects.get(name="Beta Half")
    services.tier_override_set(
        profile=icp, account=account, tier="A", actor=ops_manager, source="test"
    )
    rows = {
        a.name: (a.tier, a.effective_tier)
        for a in client.get(reverse("account-list")).context["page"]
    }
    assert rows["Beta Half"] == ("B", "A")
    assert rows["Acme Fit"] == ("A", "A")
    scored.version.status = "superseded"
    scored.version.save()
    newer = approved_version(icp, 2, [200, 2000])
    run_all(services.run_create(profile=icp, version=newer, actor=ops_manager))
    rows = {
        a.name: (a.tier, a.effective_tier)
        for a in client.get(reverse("account-list")).context["page"]
    }
    assert rows["Beta Half"] == ("B", "B")


def test_an_override_needs_a_real_tier(icp: Profile, scored: ScoringRun, ops_manager: User) -> None:
    from django.core.exceptions import ValidationError

    account = Account.objects.get(name="Beta Half")
    with pytest.raises(ValidationError) as caught:
        services.tier_override_set(profile=icp, account=account, tier="Z", actor=ops_manager)
    assert caught.value.message_dict == {"tier": ["Choose one of A, B, C, DQ."]}
