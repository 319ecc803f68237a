"""An account's outcome lives in one place, its outcome deal: whichever way
it is written (the outcomes endpoint, an account row, a CSV file), the
account's API and its page read it back alike, and removing the deal clears
it everywhere."""

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import strip_tags
from rest_framework.test import APIClient

from profiles.models import User
from scoring.api_keys import api_key_create
from scoring.ingest.jobs import file_import
from scoring.models import Account, Deal
from scoring.policies import IMPORT_PERMISSION
from tests.factories import AccountFactory, DealFactory, UserFactory

pytestmark = pytest.mark.django_db

ACCOUNTS = "/api/v1/accounts/"
OUTCOME = {
    "opportunity_opened_at": "2026-03-02T00:00:00Z",
    "deal_status": "won",
    "deal_closed_at": "2026-05-29T00:00:00Z",
    "deal_amount": "48000.00",
}
NO_OUTCOME = {
    "opportunity_opened_at": None,
    "deal_status": "",
    "deal_closed_at": None,
    "deal_amount": None,
}
# The detail answers the outcome fields but the opening date.
DETAIL_FIELDS = ("deal_status", "deal_closed_at", "deal_amount")


@pytest.fixture
def writer(db: None) -> APIClient:
    crm = UserFactory.create(username="crm", permissions=[IMPORT_PERMISSION])
    client = APIClient()
    key = api_key_create(actor=None, name="CRM", user=crm, scope="write").plaintext
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def reader(client: Client, manager: User) -> Client:
    client.force_login(manager)
    return client


def listed(writer: APIClient, external_id: str) -> dict[str, Any]:
    [item] = writer.get(ACCOUNTS, {"external_id__in": external_id}).json()["results"]
    return {name: item[name] for name in OUTCOME}


def detail(writer: APIClient, external_id: str) -> dict[str, Any]:
    body = writer.get(f"{ACCOUNTS}{external_id}/").json()
    return {name: body[name] for name in DETAIL_FIELDS}


def page_row(reader: Client, external_id: str) -> str | None:
    """The text of the outcome deal's row in the account page's deals, or
    None when the page lists none."""
    account = Account.objects.get(external_id=external_id)
    html = reader.get(reverse("account-detail", args=[account.pk])).content.decode()
    row = re.search(r"<tr>\s*<th scope=\"row\">Outcome.*?</tr>", html, re.DOTALL)
    return None if row is None else " ".join(strip_tags(row.group()).split())


def test_an_outcome_reads_alike_however_it_was_written_and_goes_with_its_deal(
    writer: APIClient, reader: Client, manager: User
) -> None:
    AccountFactory.create(external_id="by-outcomes", name="By outcomes")
    sent = writer.post(
        f"{ACCOUNTS}outcomes/",
        {"outcomes": [{"external_id": "by-outcomes", **OUTCOME}]},
        format="json",
    )
    assert sent.status_code == 200, sent.json()
    row = {"external_id": "by-row", "name": "By row", **OUTCOME}
    upserted = writer.post(f"{ACCOUNTS}bulk-upsert/", {"accounts": [row]}, format="json")
    assert upserted.status_code == 200, upserted.json()
    csv = (
        b"external_id,name,opportunity_opened_at,deal_status,deal_closed_at,deal_amount\n"
        b"by-csv,By CSV,2026-03-02,won,2026-05-29,48000\n"
    )
    assert file_import(actor=manager, data=csv, mode="all_or_nothing").error_count == 0

    ways = ("by-outcomes", "by-row", "by-csv")
    for way in ways:
        assert listed(writer, way) == OUTCOME, way
        assert detail(writer, way) == {name: OUTCOME[name] for name in DETAIL_FIELDS}, way
        assert page_row(reader, way) == (
            "Outcome (the account's deal fields) New business — Won 48,000 Mar 2, 2026 May 29, 2026"
        ), way

    for way in ways:
        gone = writer.delete(f"/api/v1/deals/outcome:{way}/")
        assert gone.status_code == 204, way
        assert listed(writer, way) == NO_OUTCOME, way
        assert detail(writer, way) == {name: NO_OUTCOME[name] for name in DETAIL_FIELDS}, way
        assert page_row(reader, way) is None, way
    assert not Deal.objects.exists()


def test_a_page_of_accounts_costs_the_same_queries_however_long(writer: APIClient) -> None:
    """The page's outcome deals are read in one query, not one per account."""

    def page_queries(size: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = writer.get(ACCOUNTS, {"page_size": size})
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        return len(queries)

    for n in range(30):
        account = AccountFactory.create(external_id=f"crm-{n}")
        DealFactory.create(external_id=f"outcome:crm-{n}", account=account, status="open")
        DealFactory.create(account=account)  # an ordinary deal, not an outcome
    writer.get(ACCOUNTS)  # the key's first use stamps it
    assert page_queries(2) == page_queries(30)
    assert {item["deal_status"] for item in writer.get(ACCOUNTS).json()["results"]} == {"open"}
