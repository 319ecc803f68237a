"""The profile page: its versions, which one is live, and starting a draft."""

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from profiles.models import ProfileVersion, User


def test_it_shows_the_live_version_and_starts_a_draft_from_it(
    sign_in: Callable[[User], Page], v1: ProfileVersion, cast: dict[str, User]
) -> None:
    page = sign_in(cast["marketer"])
    page.goto(f"/profiles/{v1.profile.slug}/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Mid-market SaaS")
    versions = page.get_by_test_id("versions")
    expect(versions.get_by_role("row")).to_have_count(2)
    live_row = versions.get_by_role("row", name="v1")
    expect(live_row).to_contain_text("Live")
    expect(live_row).to_contain_text("Omar Haddad")

    page.get_by_role("button", name="Start a new draft from v1").click()

    expect(page).to_have_url(re.compile(rf"/profiles/{v1.profile.slug}/v2/$"))
    expect(page.get_by_test_id("version-status")).to_have_text("Draft")
    expect(page.get_by_test_id("version-meta")).to_contain_text(
        "started by Mia Lund just now from v1"
    )
    expect(page.get_by_test_id("criterion-employees")).to_contain_text(
        "Employees is between 200 and 2,000"
    )
    expect(page.get_by_test_id("points-total")).to_have_text("Fit points: 100 / 100")
    draft = ProfileVersion.objects.get(profile=v1.profile, number=2)
    assert (draft.status, draft.parent, draft.created_by) == ("draft", v1, cast["marketer"])
    assert draft.criteria.count() == 5

    page.get_by_role("link", name="Mid-market SaaS").click()
    rows = page.get_by_test_id("versions").get_by_role("row")
    expect(rows.nth(1)).to_contain_text("v2 from v1")
    expect(rows.nth(1)).to_contain_text("Draft")
    expect(page.get_by_role("link", name="Open v2")).to_be_visible()
    expect(page.get_by_role("button", name="Start a new draft from v1")).to_have_count(0)


def test_someone_in_no_team_sees_why_they_cannot_start_a_draft(
    sign_in: Callable[[User], Page], v1: ProfileVersion, cast: dict[str, User]
) -> None:
    page = sign_in(cast["outsider"])
    page.goto(f"/profiles/{v1.profile.slug}/")

    expect(page.get_by_role("button", name="Start a new draft from v1")).to_be_disabled()
    expect(
        page.get_by_text("You are in no team, so you can read but not change anything.")
    ).to_be_visible()
    assert ProfileVersion.objects.filter(profile=v1.profile).count() == 1
