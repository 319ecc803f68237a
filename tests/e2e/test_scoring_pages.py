"""Scores in the browser: an approval rescores the base, the accounts list
shows the new tiers, an account shows its math, a draft shows its impact."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from profiles import services
from profiles.models import ProfileVersion, User
from scoring.models import Account
from tests.drafting import sign_for
from tests.factories import AccountFactory


@pytest.fixture
def base(transactional_db: None) -> list[Account]:
    return [
        AccountFactory.create(name="Acme Fit", employees=450),  # 100 under v1
        AccountFactory.create(name="Small Shop", employees=120, crm="Pipedrive"),  # 45 (B) under v1
        AccountFactory.create(name="Unknown Size", employees=None),  # 70 (A) under v1
    ]


def test_approving_rescores_and_the_pages_show_tiers_math_and_impact(
    sign_in: Callable[[User], Page], base: list[Account], v2: ProfileVersion, cast: dict[str, User]
) -> None:
    slug = v2.profile.slug
    omar = sign_in(cast["ops"])

    # The draft page previews the impact of v2 (a copy of v1: nothing moves yet).
    omar.goto(f"/profiles/{slug}/v2/")
    impact = omar.get_by_test_id("impact")
    expect(impact).to_contain_text("3 accounts; 0 would change tier against live v1")
    expect(omar.get_by_test_id("coverage")).to_contain_text("67%")  # employees known for 2 of 3

    # Widen the headcount band in v2, then let every team sign and approve it.
    criterion = v2.criteria.get(attribute="employees")
    services.criterion_update(
        actor=cast["marketer"], criterion=criterion, revision=v2.revision, attribute="employees",
        operator="between", value=[100, 2000], points=30, kind="fit",
    )  # fmt: skip
    v2.refresh_from_db()
    services.version_submit(actor=cast["marketer"], version=v2)
    sign_for(v2, {"sales": cast["rep"], "marketing": cast["marketer"], "revops": cast["ops"]})
    omar.goto(f"/profiles/{slug}/v2/")
    expect(omar.get_by_test_id("movement")).to_be_visible()
    expect(omar.get_by_test_id("movers")).to_contain_text("Small Shop")
    omar.get_by_role("button", name="Approve and make live").click()

    # The profile page reports the finished run.
    omar.goto(f"/profiles/{slug}/")
    progress = omar.get_by_test_id("run-progress")
    expect(progress).to_contain_text("3 accounts scored with v2")
    expect(progress).to_contain_text("B->A 1")

    # The accounts list shows the new tiers, best first, and filters by tier.
    omar.get_by_role("link", name="See the accounts").click()
    rows = omar.get_by_test_id("accounts").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Acme Fit")
    expect(rows.nth(1)).to_contain_text("Small Shop")
    expect(rows.nth(1)).to_contain_text("75")
    omar.get_by_label("Tier", exact=True).select_option("B")
    omar.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("No account matches these filters.")
    omar.get_by_role("link", name="Clear").click()
    expect(rows).to_have_count(3)

    # An account shows its math: what matched, what is unknown.
    rows.nth(2).get_by_role("link", name="Unknown Size").click()
    expect(omar).to_have_url(re.compile(r"/accounts/\d+/$"))
    math = omar.get_by_test_id(f"math-{slug}")
    expect(math).to_contain_text("Score 70 of 100")
    expect(math.locator("tr", has_text="Employees")).to_contain_text("unknown (no data)")
    expect(math.locator("tr", has_text="CRM")).to_contain_text("matched")
    expect(omar.get_by_test_id("history")).to_contain_text("v2")
