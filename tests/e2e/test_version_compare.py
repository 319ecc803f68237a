"""The compare page: what changed between any two versions of a profile."""

from collections.abc import Callable

from playwright.sync_api import Page, expect

from profiles import services
from profiles.models import ProfileVersion, User
from tests.drafting import sign_for


def test_it_compares_any_two_versions(
    sign_in: Callable[[User], Page], v2: ProfileVersion, cast: dict[str, User]
) -> None:
    marketer = cast["marketer"]
    services.criterion_update(
        actor=marketer,
        criterion=v2.criteria.get(attribute="employees"),
        revision=v2.revision,
        attribute="employees",
        operator="between",
        value=[150, 2500],
        points=30,
        kind="fit",
    )
    v2.refresh_from_db()
    services.criterion_remove(
        actor=marketer, criterion=v2.criteria.get(attribute="has_revops"), revision=v2.revision
    )
    v2.refresh_from_db()
    services.criterion_add(
        actor=marketer,
        version=v2,
        revision=v2.revision,
        attribute="country",
        operator="not_in",
        value=["RU"],
        kind="disqualifier",
    )
    v2.refresh_from_db()
    services.version_update(
        actor=marketer,
        version=v2,
        revision=v2.revision,
        rationale="",
        threshold_a=75,
        threshold_b=40,
    )
    people = {"sales": cast["rep"], "marketing": marketer, "revops": cast["ops"]}
    v2.refresh_from_db()
    services.criterion_update(
        actor=marketer,
        criterion=v2.criteria.get(attribute="crm"),
        revision=v2.revision,
        attribute="crm",
        operator="in",
        value=["Salesforce", "HubSpot"],
        points=35,
        kind="fit",
    )
    services.version_submit(actor=marketer, version=v2)
    sign_for(v2, people)
    services.version_approve(actor=cast["ops"], version=v2)
    v3 = services.version_start_draft(actor=marketer, profile=v2.profile)

    page = sign_in(cast["rep"])
    page.goto(f"/profiles/{v2.profile.slug}/")
    page.get_by_role("link", name="Compare versions").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Compare v2 with v3")
    expect(page.get_by_test_id("diff")).to_have_text(
        "No differences: same criteria, points and thresholds."
    )

    form = page.get_by_test_id("compare-form")
    form.get_by_label("From").select_option(label="v1 (superseded)")
    form.get_by_label("To").select_option(label="v2 (live)")
    form.get_by_role("button", name="Compare").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Compare v1 with v2")
    changes = page.get_by_test_id("diff").get_by_role("listitem")
    expect(changes).to_have_text(
        [
            "Added Country is not one of RU disqualifies",
            "Removed Has RevOps is true 10 pts",
            "Changed Employees is between 200 and 2,000 30 pts → "
            "Employees is between 150 and 2,500 30 pts (value)",
            "Changed CRM is one of Salesforce, HubSpot 25 pts → "
            "CRM is one of Salesforce, HubSpot 35 pts (points)",
            "Changed Tier A starts at 75 (was 70)",
        ]
    )
    expect(page.get_by_test_id("diff")).to_contain_text("2 criteria unchanged.")

    page.get_by_role("link", name="Mid-market SaaS").click()
    page.get_by_test_id("versions").get_by_role("row", name="v3").get_by_role(
        "link", name="diff"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare v2 with v3")
    assert v3.parent == v2
