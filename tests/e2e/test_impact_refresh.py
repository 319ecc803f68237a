"""The impact preview and the data coverage never show an older revision
than the criteria beside them: every saved edit loads them again."""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from profiles.models import ProfileVersion, User
from scoring.models import Account
from scoring.services import run_in_process
from tests.factories import AccountFactory


@pytest.fixture
def base(v1: ProfileVersion) -> list[Account]:
    accounts = [
        AccountFactory.create(name="Acme Fit", employees=450),
        AccountFactory.create(name="Small Shop", employees=120, crm="Pipedrive"),
        AccountFactory.create(name="Unknown Size", employees=None),
    ]
    run_in_process(profile=v1.profile, version=v1, actor=None)
    return accounts


def test_an_edit_refreshes_the_impact_and_coverage_for_the_new_revision(
    sign_in: Callable[[User], Page],
    base: list[Account],
    v2: ProfileVersion,
    cast: dict[str, User],
) -> None:
    page = sign_in(cast["marketer"])
    page.goto(f"/profiles/{v2.profile.slug}/v{v2.number}/")
    impact = page.get_by_test_id("impact")
    expect(impact).to_contain_text("3 accounts; 0 would change tier against live v1")
    expect(page.get_by_test_id("impact-revision")).to_contain_text(f"revision {v2.revision} ")
    expect(page.get_by_test_id("coverage")).to_contain_text("Employees")

    employees = v2.criteria.get(attribute="employees")
    page.locator(f"#edit-{employees.pk}").click()
    form = page.locator("tr.editing form.criterion-form")
    form.get_by_label("Value").fill("100, 2000")
    form.get_by_role("button", name="Save criterion").click()

    expect(impact).to_contain_text("3 accounts; 1 would change tier against live v1")
    expect(page.get_by_test_id("impact-revision")).to_contain_text(f"revision {v2.revision + 1} ")
    expect(page.get_by_test_id("movers")).to_contain_text("Small Shop")

    page.locator("[aria-label^='Remove Employees']").click()
    expect(page.get_by_test_id("impact-revision")).to_contain_text(f"revision {v2.revision + 2} ")
    expect(page.get_by_test_id("coverage")).not_to_contain_text("Employees")
    expect(page.get_by_test_id("evidence-revision")).to_contain_text(f"revision {v2.revision + 2} ")
