from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from profiles.models import User
from scoring.models import Account
from tests.factories import AccountFactory, DealFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client: Client) -> Client:
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    return client


def form_data(account: Account, **changes: str) -> dict[str, str]:
    data = {
        "external_id": account.external_id,
        "name": account.name,
        "domain": account.domain,
        "employees": "450",
        "industry": "SaaS",
        "tech_stack": '["Salesforce", "Slack"]',
        "traits": "{}",
        "has_revops": "true",
        # The deals inline's management form, as the page sends it.
        "deals-TOTAL_FORMS": "0",
        "deals-INITIAL_FORMS": "0",
        "deals-MIN_NUM_FORMS": "0",
        "deals-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_an_admin_edit_normalises_the_tech_stack_and_indexes_it(admin_client_: Client) -> None:
    account = AccountFactory.create()
    url = reverse("admin:scoring_account_change", args=[account.pk])
    response = admin_client_.post(url, form_data(account))
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.tech_stack == ["salesforce", "slack"]
    assert account.list_index == "|tech_stack:salesforce|tech_stack:slack|"


def test_an_admin_edit_keeps_the_canonical_columns_in_step(admin_client_: Client) -> None:
    account = AccountFactory.create(industry="Fintech", country="DE")
    url = reverse("admin:scoring_account_change", args=[account.pk])
    changes = {"industry": "Series  SaaS", "country": "kp", "traits": '{"region": " EMEA "}'}
    response = admin_client_.post(url, form_data(account, **changes))
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.industry, account.industry_canonical) == ("Series  SaaS", "series saas")
    assert (account.country, account.country_canonical) == ("kp", "kp")
    assert account.traits_canonical == {"region": "emea"}


def test_a_bad_tech_stack_is_named_and_nothing_is_stored(admin_client_: Client) -> None:
    account = AccountFactory.create(tech_stack=["hubspot"])
    url = reverse("admin:scoring_account_change", args=[account.pk])
    response = admin_client_.post(url, form_data(account, tech_stack='["a|b"]', name="Renamed"))
    assert response.status_code == 200
    assert "Each tool must be text" in str(response.context["adminform"].form.errors["tech_stack"])
    account.refresh_from_db()
    assert (account.name, account.tech_stack) == (account.name, ["hubspot"])
    assert account.name != "Renamed"


def test_the_account_page_lists_its_deals_read_only(admin_client_: Client) -> None:
    deal = DealFactory.create(
        external_id="opp-42", status="won", amount=Decimal("48000"), account__name="Acme"
    )
    url = reverse("admin:scoring_account_change", args=[deal.account.pk])
    page = admin_client_.get(url)
    assert page.status_code == 200
    [formset] = page.context["inline_admin_formsets"]
    assert (formset.has_add_permission, formset.has_change_permission) == (False, False)
    assert "opp-42" in page.content.decode()
    response = admin_client_.post(url, {**form_data(deal.account), "deals-INITIAL_FORMS": "1",
                                         "deals-TOTAL_FORMS": "1", "deals-0-id": str(deal.pk),
                                         "deals-0-account": str(deal.account.pk),
                                         "deals-0-status": "lost"})  # fmt: skip
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.status == "won"


def test_runs_cannot_be_added_or_changed_in_the_admin(admin_client_: Client, rep: User) -> None:
    assert admin_client_.get(reverse("admin:scoring_scoringrun_add")).status_code == 403
