"""The version page: criteria edited in place, the live points total,
thresholds, comment threads, the sign-off panel, the actions each person may
take, the timeline and the diff against the live version."""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from profiles import services
from profiles.models import Comment, Criterion, ProfileVersion, SignOff, Team, User

Open = Callable[[User], Page]


def _open(sign_in: Open, user: User, version: ProfileVersion) -> Page:
    page = sign_in(user)
    page.goto(f"/profiles/{version.profile.slug}/v{version.number}/")
    page.evaluate("window.stillTheSamePage = true")
    return page


def _no_reload(page: Page) -> None:
    assert page.evaluate("window.stillTheSamePage") is True


@pytest.fixture
def in_review(v2: ProfileVersion, cast: dict[str, User]) -> ProfileVersion:
    return services.version_submit(actor=cast["marketer"], version=v2)


def test_criteria_are_grouped_by_category(
    sign_in: Open, v2: ProfileVersion, cast: dict[str, User]
) -> None:
    page = _open(sign_in, cast["rep"], v2)
    groups = page.locator("#criteria tr.group")
    expect(groups).to_have_text(["Firmographic", "Technographic", "Behavioral"])
    expect(page.get_by_test_id("category-firmographic").get_by_role("row")).to_have_count(4)
    expect(page.get_by_test_id("category-technographic")).to_contain_text(
        "CRM is one of Salesforce, HubSpot"
    )
    expect(page.get_by_test_id("category-behavioral")).to_contain_text("Has RevOps is true")


def test_a_member_adds_edits_and_removes_criteria_in_place_with_a_live_total(
    sign_in: Open, v2: ProfileVersion, cast: dict[str, User]
) -> None:
    page = _open(sign_in, cast["marketer"], v2)
    total = page.get_by_test_id("points-total")
    expect(total).to_have_text("Fit points: 100 / 100")

    form = page.get_by_test_id("criterion-form")
    form.get_by_label("Attribute").select_option(label="Country")
    form.get_by_label("Operator").select_option(label="is one of")
    form.get_by_label("Value").fill("US, CA")
    form.get_by_label("Points").clear()
    form.get_by_label("Points").press_sequentially("15")
    expect(form.get_by_test_id("projected-total")).to_have_text(
        "Fit total after saving: 115 / 100 (15 over)"
    )
    form.get_by_label("Kind").select_option(label="Disqualifier")
    expect(form.get_by_test_id("projected-total")).to_have_text(
        "Fit total after saving: 100 / 100 (a disqualifier carries no points)"
    )
    form.get_by_label("Kind").select_option(label="Fit")
    form.get_by_label("Why").fill("We sell in North America first.")
    form.get_by_role("button", name="Add criterion").click()

    row = page.get_by_test_id("criterion-country")
    expect(row).to_contain_text("Country is one of US, CA")
    expect(row).to_contain_text("We sell in North America first.")
    expect(page.get_by_test_id("category-firmographic")).to_contain_text("Country")
    expect(total).to_have_text("Fit points: 115 / 100")
    expect(page.get_by_test_id("problems")).to_contain_text(
        "Fit points add up to 115; they must add up to exactly 100."
    )
    expect(page.get_by_test_id("version-meta")).to_contain_text("Revision 2")
    expect(page.get_by_test_id("timeline")).to_contain_text("Mia Lund added a criterion")
    expect(page.get_by_test_id("diff")).to_contain_text("Added Country is one of US, CA 15 pts")
    _no_reload(page)

    page.get_by_role("button", name="Edit Employees is between 200 and 2,000").click()
    expect(page.get_by_role("button", name="Save criterion")).to_be_visible()
    editing = page.get_by_test_id("criterion-form")
    expect(editing.get_by_label("Value")).to_have_value("200, 2000")
    expect(page.get_by_role("heading", name="Add a criterion")).to_have_count(0)
    editing.get_by_label("Points").fill("15")
    expect(editing.get_by_test_id("projected-total")).to_have_text(
        "Fit total after saving: 100 / 100"
    )
    editing.get_by_label("Value").fill("150, 2500")
    editing.get_by_role("button", name="Save criterion").click()

    expect(page.get_by_test_id("criterion-employees")).to_contain_text(
        "Employees is between 150 and 2,500"
    )
    expect(total).to_have_text("Fit points: 100 / 100")
    expect(page.get_by_test_id("problems")).not_to_contain_text("Fit points")
    expect(page.get_by_test_id("diff")).to_contain_text(
        "Changed Employees is between 200 and 2,000 30 pts → "
        "Employees is between 150 and 2,500 15 pts (value, points)"
    )

    page.get_by_role("button", name="Remove Country is one of US, CA").click()
    expect(page.get_by_test_id("criterion-country")).to_have_count(0)
    expect(total).to_have_text("Fit points: 85 / 100")
    expect(page.get_by_test_id("timeline")).to_contain_text("Mia Lund removed a criterion")
    _no_reload(page)
    assert not v2.criteria.filter(attribute="country").exists()
    assert v2.criteria.get(attribute="employees").value == [150, 2500]


def test_a_bad_criterion_names_the_field_and_keeps_what_was_typed(
    sign_in: Open, v2: ProfileVersion, cast: dict[str, User]
) -> None:
    page = _open(sign_in, cast["marketer"], v2)
    form = page.get_by_test_id("criterion-form")
    form.get_by_label("Attribute").select_option(label="Employees")
    form.get_by_label("Operator").select_option(label="is between")
    form.get_by_label("Value").fill("lots, 500")
    form.get_by_label("Points").fill("5")
    form.get_by_role("button", name="Add criterion").click()

    expect(page.get_by_text("Value: 'lots' is not a number.")).to_be_visible()
    expect(page.get_by_test_id("criterion-form").get_by_label("Value")).to_have_value("lots, 500")

    form = page.get_by_test_id("criterion-form")
    form.get_by_label("Attribute").select_option(label="Industry")
    form.get_by_label("Operator").select_option(label="is between")
    form.get_by_label("Value").fill("SaaS")
    form.get_by_role("button", name="Add criterion").click()
    expect(
        page.get_by_text("Operator: Industry takes one of: is, is one of, is not one of.")
    ).to_be_visible()
    _no_reload(page)
    assert v2.criteria.count() == 5
    v2.refresh_from_db()
    assert v2.revision == 1


def test_thresholds_are_checked_and_saved(
    sign_in: Open, v2: ProfileVersion, cast: dict[str, User]
) -> None:
    page = _open(sign_in, cast["marketer"], v2)
    expect(page.get_by_test_id("thresholds")).to_contain_text("Tier A from 70 points, B from 40")
    page.get_by_text("Change thresholds or rationale").click()
    form = page.get_by_test_id("settings-form")
    form.get_by_label("Tier A from").fill("40")
    form.get_by_label("Tier B from").fill("60")
    form.get_by_label("Rationale").fill("Mid-market moved down.")
    form.get_by_role("button", name="Save thresholds and rationale").click()

    expect(page.get_by_text("Tier B: Tier B must start below tier A (40).")).to_be_visible()
    form = page.get_by_test_id("settings-form")
    expect(form.get_by_label("Tier A from")).to_have_value("40")
    expect(form.get_by_label("Rationale")).to_have_value("Mid-market moved down.")

    form.get_by_label("Tier B from").fill("30")
    form.get_by_role("button", name="Save thresholds and rationale").click()
    expect(page.get_by_text("Thresholds and rationale saved.")).to_be_visible()
    expect(page.get_by_test_id("thresholds")).to_contain_text("Tier A from 40 points, B from 30")
    expect(page.get_by_role("blockquote")).to_have_text("Mid-market moved down.")
    expect(page.get_by_test_id("diff")).to_contain_text("Tier A starts at 40 (was 70)")
    v2.refresh_from_db()
    assert (v2.threshold_a, v2.threshold_b, v2.revision) == (40, 30, 2)


def test_teams_discuss_a_criterion_in_a_thread_and_resolve_it(
    sign_in: Open, v2: ProfileVersion, cast: dict[str, User]
) -> None:
    rep = _open(sign_in, cast["rep"], v2)
    form = rep.get_by_test_id("comment-form")
    expect(form.get_by_label("Comment as")).to_have_value(str(Team.objects.get(slug="sales").pk))
    form.get_by_label("About").select_option(label="Employees is between 200 and 2,000")
    form.get_by_role("button", name="Comment").click()
    expect(rep.get_by_text("Comment: This field is required.")).to_be_visible()

    form = rep.get_by_test_id("comment-form")
    form.get_by_label("Comment", exact=True).fill("We win deals at 150 people too.")
    form.get_by_role("button", name="Comment").click()
    thread = rep.get_by_test_id("thread")
    expect(thread).to_contain_text("On Employees is between 200 and 2,000")
    expect(thread).to_contain_text("Sales Riya Shah just now We win deals at 150 people too.")
    expect(rep.get_by_test_id("unresolved")).to_have_text("1 unresolved")
    expect(rep.get_by_test_id("criterion-employees").get_by_role("link", name="1")).to_be_visible()
    _no_reload(rep)

    marketer = _open(sign_in, cast["marketer"], v2)
    thread = marketer.get_by_test_id("thread")
    expect(thread.get_by_role("button", name="Resolve")).to_have_count(0)
    thread.get_by_text("Reply", exact=True).first.click()
    thread.get_by_label("Reply", exact=True).fill("Then let us try 150 in v2.")
    thread.get_by_role("button", name="Reply").click()
    expect(marketer.get_by_test_id("thread")).to_contain_text(
        "Marketing Mia Lund just now Then let us try 150 in v2."
    )
    expect(marketer.get_by_test_id("timeline")).to_contain_text("Mia Lund for Marketing commented")

    rep.reload()
    rep.get_by_test_id("thread").get_by_role("button", name="Resolve").click()
    expect(rep.get_by_test_id("thread")).to_contain_text("Resolved by Riya Shah just now.")
    expect(rep.get_by_test_id("unresolved")).to_have_text("all resolved")
    root = Comment.objects.get(parent=None)
    assert (root.resolved, root.resolved_by, root.replies.count()) == (True, cast["rep"], 1)

    outsider = _open(sign_in, cast["outsider"], v2)
    expect(outsider.get_by_test_id("thread")).to_contain_text("Then let us try 150 in v2.")
    expect(outsider.get_by_test_id("comment-form")).to_have_count(0)
    expect(
        outsider.get_by_text("You are in no team, so you can read the discussion")
    ).to_be_visible()
    expect(outsider.get_by_test_id("thread").get_by_role("button")).to_have_count(0)


def test_the_sign_off_panel_shows_each_teams_state_and_who_signed(
    sign_in: Open, in_review: ProfileVersion, cast: dict[str, User]
) -> None:
    rep = _open(sign_in, cast["rep"], in_review)
    for team in ("sales", "marketing", "revops"):
        expect(rep.get_by_test_id(f"signoff-{team}")).to_contain_text("Waiting for sign-off")
    form = rep.get_by_test_id("signoff-form")
    expect(form.get_by_label("Sign for")).to_have_text("Sales")
    form.get_by_role("button", name="Record decision").click()
    expect(rep.get_by_text("Recorded Sales's decision on revision 1.")).to_be_visible()
    expect(rep.get_by_test_id("signoff-sales")).to_contain_text(
        "Approved Riya Shah, revision 1, just now"
    )

    marketer = _open(sign_in, cast["marketer"], in_review)
    form = marketer.get_by_test_id("signoff-form")
    form.get_by_label("Request changes").check()
    form.get_by_role("button", name="Record decision").click()
    expect(marketer.get_by_text("Note: Say what should change.")).to_be_visible()
    expect(marketer.get_by_test_id("signoff-form").get_by_label("Request changes")).to_be_checked()
    assert not SignOff.objects.filter(version=in_review, team__slug="marketing").exists()

    form = marketer.get_by_test_id("signoff-form")
    form.get_by_label("Note").fill("Drop funding stage: it does not predict wins.")
    form.get_by_role("button", name="Record decision").click()
    expect(marketer.get_by_test_id("signoff-marketing")).to_contain_text(
        "Changes requested Mia Lund, revision 1, just now"
    )
    expect(marketer.get_by_test_id("signoff-marketing")).to_contain_text(
        "Drop funding stage: it does not predict wins."
    )
    expect(marketer.get_by_test_id("version-status")).to_have_text("Draft")
    expect(marketer.get_by_text("Sign-off opens when the draft is submitted")).to_be_visible()


def test_actions_are_shown_to_the_people_they_are_for(
    sign_in: Open, in_review: ProfileVersion, cast: dict[str, User]
) -> None:
    rep = _open(sign_in, cast["rep"], in_review)
    actions = rep.get_by_test_id("actions")
    expect(actions.get_by_role("button")).to_have_count(0)
    expect(rep.get_by_test_id("problems")).to_contain_text("Sales has not signed off.")

    marketer = _open(sign_in, cast["marketer"], in_review)
    expect(marketer.get_by_test_id("actions").get_by_role("button")).to_have_text(["Withdraw"])

    ops = _open(sign_in, cast["ops"], in_review)
    approve = ops.get_by_role("button", name="Approve and make live")
    expect(approve).to_be_disabled()
    expect(ops.get_by_test_id("approve-reason")).to_have_text(
        "Not yet: 3 things to settle first (listed below)."
    )
    expect(ops.get_by_test_id("problems")).to_contain_text("RevOps has not signed off.")

    outsider = _open(sign_in, cast["outsider"], in_review)
    expect(outsider.get_by_test_id("actions").get_by_role("button")).to_have_count(0)
    expect(outsider.get_by_test_id("signoff-form")).to_have_count(0)
    expect(outsider.get_by_text("You are in none of the teams this profile asks")).to_be_visible()
    expect(outsider.get_by_role("button", name="Edit")).to_have_count(0)
    expect(
        outsider.get_by_text("You are in no team, so you can read but not change")
    ).to_be_visible()


def test_a_draft_is_submitted_by_a_member_and_withdrawn_by_its_author(
    sign_in: Open, v2: ProfileVersion, cast: dict[str, User]
) -> None:
    ops = _open(sign_in, cast["ops"], v2)
    expect(ops.get_by_role("button", name="Approve and make live")).to_be_disabled()
    expect(ops.get_by_test_id("approve-reason")).to_have_text(
        "v2 must be in review to be approved."
    )

    rep = _open(sign_in, cast["rep"], v2)
    expect(rep.get_by_role("button", name="Withdraw")).to_have_count(0)
    rep.get_by_role("button", name="Submit for review").click()
    expect(rep.get_by_text("v2 is in review: required teams may sign off.")).to_be_visible()
    expect(rep.get_by_test_id("version-status")).to_have_text("In review")
    expect(rep.get_by_test_id("timeline")).to_contain_text("Riya Shah submitted for review")

    marketer = _open(sign_in, cast["marketer"], v2)
    marketer.get_by_role("button", name="Withdraw").click()
    expect(marketer.get_by_text("v2 was withdrawn.")).to_be_visible()
    expect(marketer.get_by_test_id("version-status")).to_have_text("Withdrawn")
    expect(marketer.get_by_text("Withdrawn; it is kept for the record")).to_be_visible()
    expect(marketer.get_by_test_id("criterion-form")).to_have_count(0)
    expect(marketer.get_by_test_id("actions").get_by_role("button")).to_have_count(0)


def test_a_superseded_or_live_version_is_read_only(
    sign_in: Open, v1: ProfileVersion, cast: dict[str, User]
) -> None:
    page = _open(sign_in, cast["marketer"], v1)
    expect(page.get_by_test_id("version-status")).to_have_text("Live")
    expect(page.get_by_text("This is the live version. It cannot change")).to_be_visible()
    expect(page.get_by_role("button", name="Edit")).to_have_count(0)
    expect(page.get_by_test_id("criterion-form")).to_have_count(0)
    expect(page.get_by_test_id("problems")).to_have_count(0)
    expect(page.get_by_test_id("timeline")).to_contain_text("Omar Haddad approved the version")
    assert Criterion.objects.filter(version=v1).count() == 5
