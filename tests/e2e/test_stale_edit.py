"""Two people editing the same draft: the later save is refused, says who
changed what, and keeps what was typed beside what is saved now."""

from collections.abc import Callable

from playwright.sync_api import Page, expect

from profiles.models import ProfileVersion, User

Open = Callable[[User], Page]


def _open(sign_in: Open, user: User, version: ProfileVersion) -> Page:
    page = sign_in(user)
    page.goto(f"/profiles/{version.profile.slug}/v{version.number}/")
    return page


def test_the_second_save_is_refused_naming_who_changed_what_and_keeps_the_input(
    sign_in: Open, v2: ProfileVersion, cast: dict[str, User]
) -> None:
    mia = _open(sign_in, cast["marketer"], v2)
    riya = _open(sign_in, cast["rep"], v2)
    for page in (mia, riya):
        page.get_by_role("button", name="Edit Employees is between 200 and 2,000").click()
        expect(page.get_by_role("button", name="Save criterion")).to_be_visible()

    riya_form = riya.get_by_test_id("criterion-form")
    riya_form.get_by_label("Value").fill("150, 2500")
    riya_form.get_by_role("button", name="Save criterion").click()
    expect(riya.get_by_test_id("criterion-employees")).to_contain_text("between 150 and 2,500")

    mia_form = mia.get_by_test_id("criterion-form")
    mia_form.get_by_label("Value").fill("300, 3000")
    mia_form.get_by_label("Points").fill("25")
    mia_form.get_by_label("Why").fill("Smaller teams churn.")
    mia_form.get_by_role("button", name="Save criterion").click()

    alert = mia.get_by_test_id("criterion-form").get_by_role("alert")
    expect(alert).to_contain_text(
        "v2 changed after you loaded it (you had revision 1, it is now 2)"
    )
    expect(alert).to_contain_text(
        "Riya Shah changed a criterion: Employees is between 150 and 2,500 (value)"
    )
    expect(mia.get_by_test_id("current-state")).to_contain_text(
        "Saved now: Employees is between 150 and 2,500, 30 points."
    )
    mia_form = mia.get_by_test_id("criterion-form")
    expect(mia_form.get_by_label("Value")).to_have_value("300, 3000")
    expect(mia_form.get_by_label("Points")).to_have_value("25")
    expect(mia_form.get_by_label("Why")).to_have_value("Smaller teams churn.")
    expect(mia.get_by_test_id("version-meta")).to_contain_text("Revision 2")
    employees = v2.criteria.get(attribute="employees")
    assert (employees.value, employees.points) == ([150, 2500], 30)

    mia_form.get_by_role("button", name="Save criterion").click()
    expect(mia.get_by_test_id("criterion-employees")).to_contain_text(
        "Employees is between 300 and 3,000"
    )
    expect(mia.get_by_test_id("points-total")).to_have_text("Fit points: 95 / 100")
    employees.refresh_from_db()
    assert (employees.value, employees.points, employees.rationale) == (
        [300, 3000],
        25,
        "Smaller teams churn.",
    )


def test_editing_a_criterion_someone_removed_offers_to_add_it_back(
    sign_in: Open, v2: ProfileVersion, cast: dict[str, User]
) -> None:
    mia = _open(sign_in, cast["marketer"], v2)
    riya = _open(sign_in, cast["rep"], v2)
    mia.get_by_role("button", name="Edit CRM is one of Salesforce, HubSpot").click()
    expect(mia.get_by_role("button", name="Save criterion")).to_be_visible()
    riya.get_by_role("button", name="Remove CRM is one of Salesforce, HubSpot").click()
    expect(riya.get_by_test_id("criterion-crm")).to_have_count(0)

    form = mia.get_by_test_id("criterion-form")
    form.get_by_label("Value").fill("Salesforce, HubSpot, Pipedrive")
    form.get_by_role("button", name="Save criterion").click()

    form = mia.get_by_test_id("criterion-form")
    expect(form.get_by_role("alert")).to_contain_text(
        "Riya Shah removed this criterion after you opened it. Your input is kept below"
    )
    expect(form.get_by_label("Value")).to_have_value("Salesforce, HubSpot, Pipedrive")
    form.get_by_role("button", name="Add criterion").click()
    expect(mia.get_by_test_id("criterion-crm")).to_contain_text(
        "CRM is one of Salesforce, HubSpot, Pipedrive"
    )
    assert v2.criteria.filter(attribute="crm").count() == 1


def test_a_stale_threshold_change_is_refused_and_keeps_the_input(
    sign_in: Open, v2: ProfileVersion, cast: dict[str, User]
) -> None:
    mia = _open(sign_in, cast["marketer"], v2)
    riya = _open(sign_in, cast["rep"], v2)
    for page in (mia, riya):
        page.get_by_text("Change thresholds or rationale").click()
    riya.get_by_label("Tier A from").fill("80")
    riya.get_by_role("button", name="Save thresholds and rationale").click()
    expect(riya.get_by_test_id("thresholds")).to_contain_text("Tier A from 80 points")

    mia.get_by_label("Tier B from").fill("30")
    mia.get_by_role("button", name="Save thresholds and rationale").click()
    expect(mia.get_by_test_id("settings-form").get_by_role("alert")).to_contain_text(
        "Riya Shah edited the version: Changed tier A from 70 to 80."
    )
    expect(mia.get_by_test_id("thresholds")).to_contain_text("Tier A from 80 points, B from 40")
    expect(mia.get_by_label("Tier A from")).to_have_value("70")
    expect(mia.get_by_label("Tier B from")).to_have_value("30")
    v2.refresh_from_db()
    assert (v2.threshold_a, v2.threshold_b) == (80, 40)
