"""A revenue-operations manager imports the CRM's deals in the browser, a
HubSpot deals export and a Salesforce opportunities report, through the
step that maps their columns, and reads them on an account's page."""

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from profiles.models import User
from scoring.ingest.jobs import file_import
from scoring.ingest.mapping import mapping_propose
from scoring.models import Account, Deal

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def omar(transactional_db: None, sign_in: Callable[[User], Page], cast: dict[str, User]) -> Page:
    return sign_in(cast["ops"])


def companies(name: str, cast: dict[str, User]) -> None:
    """The CRM's accounts, already imported."""
    data = (EXAMPLES / name).read_bytes()
    header = data.split(b"\n", 1)[0].decode().split(",")
    report = file_import(actor=cast["ops"], data=data, mapping=mapping_propose(header, {}))
    assert report.created == 25


def upload_deals(page: Page, name: str) -> None:
    page.goto("/accounts/import/")
    form = page.get_by_test_id("import-form")
    form.get_by_role("group", name="The file holds").get_by_label("Deals").check()
    form.get_by_label("CSV file", exact=True).set_input_files(str(EXAMPLES / name))
    form.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Choose the columns")
    expect(page.get_by_test_id("import-kind")).to_contain_text("deals")


def test_a_hubspot_deals_export_is_mapped_imported_and_shown_on_the_account(
    omar: Page, cast: dict[str, User]
) -> None:
    companies("hubspot_companies.csv", cast)
    upload_deals(omar, "hubspot_deals.csv")
    expect(omar.get_by_label("Associated Company IDs")).to_have_value("account")
    expect(omar.get_by_label("Deal Stage")).to_have_value("stage")
    expect(omar.get_by_label("Close Date")).to_have_value("closed_at")
    expect(omar.get_by_label("Deal owner")).to_have_value("")
    preview = omar.get_by_test_id("preview")
    expect(preview).to_contain_text("Northwind Analytics - new business")
    expect(preview).to_contain_text("won")

    omar.get_by_label("Save this mapping as").fill("HubSpot deals")
    omar.get_by_role("button", name="Import", exact=True).click()
    expect(omar.get_by_test_id("import-status")).to_contain_text("Done")
    expect(omar.get_by_test_id("count-created")).to_have_text("39")
    assert Deal.objects.count() == 39

    northwind = Account.objects.get(name="Northwind Analytics")
    omar.goto(f"/accounts/{northwind.pk}/")
    deals = omar.get_by_role(
        "table", name="Deals of Northwind Analytics: open ones first, then the latest closed"
    )
    rows = deals.get_by_role("row")
    expect(rows).to_have_count(4)  # the header and three deals
    expect(rows.nth(1)).to_contain_text("Northwind Analytics - seat expansion")
    expect(rows.nth(1)).to_contain_text("Expansion")
    expect(rows.nth(1)).to_contain_text("35,000 USD")
    expect(rows.nth(3)).to_contain_text("Won")


def test_a_salesforce_report_with_a_wrong_choice_first(omar: Page, cast: dict[str, User]) -> None:
    companies("salesforce_accounts.csv", cast)
    upload_deals(omar, "salesforce_opportunities.csv")
    expect(omar.get_by_label("Opportunity ID")).to_have_value("external_id")
    expect(omar.get_by_label("Account ID")).to_have_value("account")
    expect(omar.get_by_label("Won", exact=True)).to_have_value("won")
    expect(omar.get_by_label("Closed", exact=True)).to_have_value("closed")

    # The account's name is no account id: every row names an unknown account.
    omar.get_by_label("Account ID").select_option("")
    omar.get_by_label("Account Name").select_option("account")
    omar.get_by_role("button", name="Import", exact=True).click()
    expect(omar.get_by_test_id("import-status")).to_contain_text("Done")
    expect(omar.get_by_test_id("import-errors")).to_contain_text(
        "no account 'Northwind Analytics'; send the account itself first"
    )
    assert Deal.objects.count() == 0

    upload_deals(omar, "salesforce_opportunities.csv")
    omar.get_by_role("button", name="Import", exact=True).click()
    expect(omar.get_by_test_id("import-status")).to_contain_text("Done")
    expect(omar.get_by_test_id("count-created")).to_have_text("39")
    assert Deal.objects.filter(status="won").count() == 22
