"""A revenue-operations manager imports a HubSpot export and a Salesforce
report in the browser, through the step that maps their columns."""

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from profiles.models import User
from scoring.models import Account, ImportMapping

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def omar(transactional_db: None, sign_in: Callable[[User], Page], cast: dict[str, User]) -> Page:
    return sign_in(cast["ops"])


def upload(page: Page, name: str) -> None:
    page.goto("/accounts/import/")
    page.get_by_label("CSV file", exact=True).set_input_files(str(EXAMPLES / name))
    page.get_by_test_id("import-form").get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Choose the columns")


def test_a_hubspot_export_is_mapped_previewed_saved_and_imported(omar: Page) -> None:
    upload(omar, "hubspot_companies.csv")
    expect(omar.get_by_label("Record ID")).to_have_value("external_id")
    expect(omar.get_by_label("Company Domain Name")).to_have_value("domain")
    expect(omar.get_by_label("Phone Number")).to_have_value("")
    preview = omar.get_by_test_id("preview")
    expect(preview).to_contain_text("Northwind Analytics")
    expect(preview).to_contain_text("salesforce, snowflake, hubspot, stripe")

    omar.get_by_label("Save this mapping as").fill("HubSpot companies")
    omar.get_by_role("button", name="Import", exact=True).click()
    expect(omar.get_by_test_id("import-status")).to_contain_text("Done")
    assert Account.objects.count() == 25
    assert ImportMapping.objects.filter(name="HubSpot companies").exists()


def test_a_salesforce_report_with_a_changed_column_and_a_mistake_first(omar: Page) -> None:
    upload(omar, "salesforce_accounts.csv")
    expect(omar.get_by_label("Account ID")).to_have_value("external_id")
    expect(omar.get_by_label("Website")).to_have_value("domain")

    # Two columns for one field: refused, naming both, nothing imported.
    omar.get_by_label("Phone").select_option("domain")
    omar.get_by_role("button", name="Import", exact=True).click()
    expect(omar.get_by_role("alert").first).to_contain_text("are both stored as Domain or website")
    assert Account.objects.count() == 0

    omar.get_by_label("Phone").select_option("")
    omar.get_by_label("Type").select_option("lifecycle_stage")
    omar.get_by_role("button", name="Show the rows again").click()
    expect(omar.get_by_test_id("preview")).to_contain_text("lifecycle_stage")
    omar.get_by_role("button", name="Import", exact=True).click()
    expect(omar.get_by_test_id("import-status")).to_contain_text("Done")
    assert Account.objects.count() == 25
    assert Account.objects.exclude(lifecycle_stage="").count() == 25
