"""CSV files of deals: in icpsite's own columns, or a CRM's export through
the mapping step (a HubSpot deals export, a Salesforce opportunities
report), on the page and with `import_accounts --kind deals`."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, TestCase
from django.urls import reverse

from profiles.models import User
from scoring.ingest.jobs import file_import
from scoring.ingest.mapping import mapping_propose
from scoring.models import Account, Deal, ImportJob, ImportMapping
from tests.factories import AccountFactory
from tests.importing import accounts_import_csv

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HUBSPOT_COMPANIES = EXAMPLES / "hubspot_companies.csv"
HUBSPOT_DEALS = EXAMPLES / "hubspot_deals.csv"
SALESFORCE_ACCOUNTS = EXAMPLES / "salesforce_accounts.csv"
SALESFORCE_OPPORTUNITIES = EXAMPLES / "salesforce_opportunities.csv"

OWN = b"""external_id,account,name,stage,type,amount,currency,opened_at,closed_at
opp-1,acme,Acme platform,Closed Won,New Business,48000,EUR,2025-01-10,2025-03-31
opp-2,acme,Acme seats,Negotiation,Existing Business,9600.50,eur,2026-09-01,
"""


@pytest.fixture
def importer(client: Client, manager: User) -> Client:
    client.force_login(manager)
    return client


@pytest.fixture
def acme(db: None) -> Account:
    return AccountFactory.create(external_id="acme", name="Acme")


def upload(client: Client, data: bytes, kind: str = "deals", name: str = "deals.csv") -> Any:
    file = SimpleUploadedFile(name, data, content_type="text/csv")
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("account-import"), {"file": file, "kind": kind})


def import_with_proposed_columns(client: Client, job: ImportJob, **extra: str) -> Any:
    page = client.get(reverse("account-import-columns", args=[job.pk]))
    form = page.context["form"]
    data = {f"column_{i}": form[f"column_{i}"].initial for i in range(len(form.header))}
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            reverse("account-import-columns", args=[job.pk]),
            {**data, "action": "import", **extra},
        )


def the_companies(path: Path, manager: User) -> None:
    """The CRM's accounts, imported as its export maps them."""
    data = path.read_bytes()
    header = data.split(b"\n", 1)[0].decode().split(",")
    mapping = mapping_propose(header, {})
    report = file_import(actor=manager, data=data, mapping=mapping)
    assert (report.errors, report.created) == ([], 25)


def test_a_deals_file_in_icpsites_own_columns_imports_at_once(
    importer: Client, acme: Account
) -> None:
    response = upload(importer, OWN)
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("account-import-job", args=[job.pk])
    assert (job.kind, job.status, job.accounts_created, job.rows_bad) == ("deals", "done", 2, 0)
    won, open_ = Deal.objects.order_by("external_id")
    assert (won.status, won.type, won.amount, won.currency) == ("won", "new", 48000, "EUR")
    assert won.closed_at == datetime(2025, 3, 31, tzinfo=UTC)
    assert (open_.status, open_.type, open_.amount, open_.closed_at) == (
        "open",
        "expansion",
        Decimal("9600.50"),
        None,
    )
    page = importer.get(reverse("account-import-job", args=[job.pk])).content.decode()
    assert "of deals uploaded" in page
    assert 'data-testid="count-created">2<' in page


def test_a_deals_file_is_checked_against_the_accounts_and_names_each_bad_row(
    importer: Client, acme: Account
) -> None:
    data = OWN + b"opp-3,nobody,Ghost,,,,,,\nopp-4,acme,Lost one,Closed Lost,,,,,\n"
    upload(importer, data)
    job = ImportJob.objects.get()
    assert (job.status, job.written, job.rows_bad) == ("done", False, 2)
    assert job.errors == [
        [4, "opp-3", "account", "no account 'nobody'; send the account itself first"],
        [5, "opp-4", "closed_at", "missing; a lost deal needs the date it closed"],
    ]
    assert not Deal.objects.exists()


def test_an_accounts_header_is_not_a_deals_header(importer: Client, acme: Account) -> None:
    """A file of accounts uploaded as deals goes to the mapping step, where
    the deal's fields are offered; nothing is stored."""
    upload(importer, b"external_id,name,employees\ncrm-1,One,5\n")
    job = ImportJob.objects.get()
    assert (job.kind, job.status) == ("deals", "mapping")
    page = importer.get(reverse("account-import-columns", args=[job.pk]))
    choices = [value for value, _ in page.context["form"]["column_0"].field.choices]
    assert "account" in choices
    assert "employees" not in choices
    assert "This file holds <strong>deals</strong>" in page.content.decode()


def test_a_hubspot_deals_export_is_mapped_and_imported(importer: Client, manager: User) -> None:
    the_companies(HUBSPOT_COMPANIES, manager)
    upload(importer, HUBSPOT_DEALS.read_bytes(), name="hubspot-deals.csv")
    job = ImportJob.objects.get(kind="deals")
    page = importer.get(reverse("account-import-columns", args=[job.pk]))
    proposed = {
        column: page.context["form"][f"column_{i}"].initial
        for i, column in enumerate(page.context["form"].header)
    }
    assert proposed == {
        "Record ID": "external_id",
        "Deal Name": "name",
        "Deal Stage": "stage",
        "Pipeline": "",
        "Amount": "amount",
        "Deal currency code": "currency",
        "Close Date": "closed_at",
        "Create Date": "opened_at",
        "Deal Type": "type",
        "Deal owner": "",
        "Associated Company IDs": "account",
        "Last Activity Date": "",
    }
    assert b"Northwind Analytics - new business" in page.content  # the preview
    import_with_proposed_columns(importer, job, save_as="HubSpot deals")
    job.refresh_from_db()
    assert (job.status, job.rows_bad, job.accounts_created) == ("done", 0, 39)
    northwind = Deal.objects.filter(account__name="Northwind Analytics").order_by("opened_at")
    assert [(d.status, d.type, d.stage) for d in northwind] == [
        ("won", "new", "Closed Won"),
        ("lost", "renewal", "Closed Lost"),
        ("won", "expansion", "Closed Won"),
    ]
    assert Deal.objects.filter(status="open").exclude(stage__startswith="Closed").count() == 7
    assert set(Deal.objects.values_list("currency", flat=True)) == {"USD", "EUR"}
    saved = ImportMapping.objects.get(name="HubSpot deals")
    assert (saved.kind, saved.columns["Associated Company IDs"]) == ("deals", "account")


def test_a_salesforce_opportunities_report_is_mapped_and_imported(
    importer: Client, manager: User
) -> None:
    the_companies(SALESFORCE_ACCOUNTS, manager)
    upload(importer, SALESFORCE_OPPORTUNITIES.read_bytes(), name="opportunities.csv")
    job = ImportJob.objects.get(kind="deals")
    form = importer.get(reverse("account-import-columns", args=[job.pk])).context["form"]
    proposed = {column: form[f"column_{i}"].initial for i, column in enumerate(form.header)}
    assert {k: v for k, v in proposed.items() if v} == {
        "Opportunity ID": "external_id",
        "Opportunity Name": "name",
        "Account ID": "account",
        "Stage": "stage",
        "Amount": "amount",
        "Opportunity Currency": "currency",
        "Close Date": "closed_at",
        "Created Date": "opened_at",
        "Type": "type",
        "Won": "won",
        "Closed": "closed",
    }
    import_with_proposed_columns(importer, job)
    job.refresh_from_db()
    assert (job.status, job.rows_bad, job.accounts_created) == ("done", 0, 39)
    counts = {
        status: Deal.objects.filter(status=status).count() for status in ("won", "lost", "open")
    }
    assert counts == {"won": 22, "lost": 11, "open": 6}
    assert set(Deal.objects.values_list("type", flat=True)) == {"new", "expansion", "renewal"}
    assert not Deal.objects.filter(status__in=["won", "lost"], closed_at__isnull=True).exists()


def test_the_command_imports_deals_in_own_columns_and_with_a_saved_mapping(
    tmp_path: Path, manager: User, acme: Account
) -> None:
    own = tmp_path / "deals.csv"
    own.write_bytes(OWN)
    out = io.StringIO()
    call_command("import_accounts", str(own), "--kind", "deals", stdout=out)
    assert out.getvalue() == "Imported: 2 created, 0 updated, 0 unchanged.\n"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"external_id,account\n,\n")
    with pytest.raises(CommandError, match="no deal rows"):
        call_command("import_accounts", str(empty), "--kind", "deals")
    the_companies(SALESFORCE_ACCOUNTS, manager)
    header = SALESFORCE_OPPORTUNITIES.read_text().split("\n", 1)[0].split(",")
    ImportMapping.objects.create(
        name="Opportunities", kind="deals", columns=mapping_propose(header, {}, kind="deals")
    )
    with pytest.raises(CommandError, match="No saved mapping 'Opportunities' for accounts"):
        call_command("import_accounts", str(SALESFORCE_OPPORTUNITIES), "--mapping", "Opportunities")
    call_command(
        "import_accounts",
        str(SALESFORCE_OPPORTUNITIES),
        "--kind",
        "deals",
        "--mapping",
        "Opportunities",
        stdout=out,
    )
    assert Deal.objects.count() == 41


def test_an_accounts_file_with_deal_columns_writes_outcome_deals(manager: User) -> None:
    data = (
        b"external_id,name,deal_status,deal_closed_at,deal_amount\n"
        b"crm-1,One,won,2025-05-31,1200\ncrm-2,Two,lost,,\n"
    )
    refused = accounts_import_csv(actor=manager, data=data, mode="valid_only")
    assert [str(e) for e in refused.errors] == [
        "row 3 (crm-2): deal_closed_at: missing; a lost deal needs the date it closed"
    ]
    assert list(Deal.objects.values_list("external_id", "status", "amount")) == [
        ("outcome:crm-1", "won", Decimal("1200.00"))
    ]
    report = file_import(actor=manager, data=data, mode="valid_only")
    assert (report.unchanged, report.error_count) == (1, 1)
