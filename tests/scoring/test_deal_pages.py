"""Deals where people read them: the account's page and the admin."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from profiles.models import User
from scoring.models import Account, Deal
from tests.factories import AccountFactory, DealFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db: None) -> Account:
    account = AccountFactory.create(external_id="acme", name="Acme")
    DealFactory.create(
        external_id="opp-old",
        account=account,
        name="Acme platform",
        stage="Closed Won",
        status="won",
        type="new",
        amount=Decimal("48000"),
        currency="EUR",
        opened_at=datetime(2024, 1, 10, tzinfo=UTC),
        closed_at=datetime(2024, 3, 31, tzinfo=UTC),
    )
    DealFactory.create(
        external_id="opp-new",
        account=account,
        name="Acme seats",
        stage="Negotiation",
        type="expansion",
        amount=Decimal("1234567.5"),
        opened_at=datetime(2026, 9, 1, tzinfo=UTC),
        closed_at=datetime(2026, 12, 15, tzinfo=UTC),
    )
    DealFactory.create(
        external_id="opp-mid",
        account=account,
        name="Acme renewal",
        stage="Closed Lost",
        status="lost",
        type="renewal",
        opened_at=datetime(2025, 2, 1, tzinfo=UTC),
        closed_at=datetime(2025, 3, 1, tzinfo=UTC),
    )
    DealFactory.create(external_id="opp-other")  # another account's
    return account


@pytest.fixture
def superuser(client: Client) -> Client:
    client.force_login(UserFactory.create(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_account_page_lists_its_deals_newest_first_in_a_table(
    client: Client, rep: User, acme: Account
) -> None:
    client.force_login(rep)
    response = client.get(reverse("account-detail", args=[acme.pk]))
    assert response.status_code == 200
    assert [d.external_id for d in response.context["deals"]] == ["opp-new", "opp-mid", "opp-old"]
    page = response.content.decode()
    table = page[
        page.index('data-testid="deals"') : page.index(
            "</table>", page.index('data-testid="deals"')
        )
    ]
    assert "<caption" in table
    assert '<th scope="col" class="num">Amount</th>' in table
    assert '<th scope="row">Acme seats</th>' in table
    assert "1,234,567.50" in table
    assert "48,000 EUR" in table
    for words in ("New business", "Expansion", "Renewal"):
        assert f"<td>{words}</td>" in table
    assert '<span class="status status-lost">Lost</span>' in table
    assert 'Dec 15, 2026</time> <span class="muted">(expected)</span>' in table
    assert "Mar 31, 2024</time></td>" in table
    assert "opp-other" not in page


def test_an_account_without_deals_says_so(client: Client, rep: User) -> None:
    account = AccountFactory.create()
    client.force_login(rep)
    page = client.get(reverse("account-detail", args=[account.pk])).content.decode()
    assert "No deals recorded for this account." in page


def test_the_account_page_names_the_outcome_deal(client: Client, rep: User) -> None:
    account = AccountFactory.create(external_id="crm-1")
    DealFactory.create(external_id="outcome:crm-1", account=account, name="")
    client.force_login(rep)
    page = client.get(reverse("account-detail", args=[account.pk])).content.decode()
    assert 'Outcome <span class="muted">(the account\'s deal fields)</span>' in page


def test_the_deals_admin_lists_filters_and_searches_but_neither_adds_nor_edits(
    superuser: Client, acme: Account
) -> None:
    listing = superuser.get(reverse("admin:scoring_deal_changelist"))
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 4
    won = superuser.get(reverse("admin:scoring_deal_changelist"), {"status__exact": "won"})
    assert [d.external_id for d in won.context["cl"].result_list] == ["opp-old"]
    found = superuser.get(reverse("admin:scoring_deal_changelist"), {"q": "renewal"})
    assert [d.external_id for d in found.context["cl"].result_list] == ["opp-mid"]
    by_account = superuser.get(reverse("admin:scoring_deal_changelist"), {"q": "acme"})
    assert by_account.context["cl"].result_count == 3
    assert superuser.get(reverse("admin:scoring_deal_add")).status_code == 403
    deal = Deal.objects.get(external_id="opp-new")
    url = reverse("admin:scoring_deal_change", args=[deal.pk])
    view = superuser.get(url)
    assert (view.status_code, view.context["has_change_permission"]) == (200, False)
    superuser.post(url, {"name": "Renamed"})
    deal.refresh_from_db()
    assert deal.name == "Acme seats"


def test_removing_a_deal_in_the_admin_removes_it_as_the_api_does(
    superuser: Client, acme: Account
) -> None:
    deal = Deal.objects.get(external_id="opp-new")
    response = superuser.post(reverse("admin:scoring_deal_delete", args=[deal.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Deal.objects.filter(pk=deal.pk).exists()


def test_the_account_admin_shows_its_deals_read_only(superuser: Client, acme: Account) -> None:
    response = superuser.get(reverse("admin:scoring_account_change", args=[acme.pk]))
    assert response.status_code == 200
    [inline] = response.context["inline_admin_formsets"]
    assert inline.formset.prefix == "deals"
    assert [form.original.external_id for form in inline] == ["opp-new", "opp-mid", "opp-old"]
    assert not inline.has_add_permission
    assert not inline.has_change_permission
    assert "deal_status" not in response.context["adminform"].form.fields
