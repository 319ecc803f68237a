"""The profiles list: every profile with its live and open versions, and the
form a RevOps manager creates a profile with."""

from collections.abc import Callable

from playwright.sync_api import Page, expect

from profiles.models import Profile, ProfileVersion, User


def test_it_lists_each_profile_with_its_live_and_open_version(
    sign_in: Callable[[User], Page], v2: ProfileVersion, cast: dict[str, User]
) -> None:
    page = sign_in(cast["rep"])
    page.goto("/profiles/")

    row = page.get_by_test_id("profiles").get_by_role("row", name="Mid-market SaaS")
    expect(row).to_contain_text("v1")
    expect(row).to_contain_text("v2 Draft")
    expect(row).to_contain_text("Marketing RevOps Sales")
    expect(row.get_by_role("cell").last).to_have_text("2")
    expect(
        page.get_by_text("Only administrators and RevOps managers create profiles.")
    ).to_be_visible()

    row.get_by_role("link", name="v2").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mid-market SaaS v2")


def test_a_revops_manager_creates_a_profile_after_fixing_what_is_missing(
    sign_in: Callable[[User], Page], icp: Profile, cast: dict[str, User]
) -> None:
    page = sign_in(cast["ops"])
    page.goto("/profiles/")
    form = page.locator("form", has=page.get_by_role("button", name="Create profile"))
    form.get_by_label("Name").fill("Enterprise fintech")
    form.get_by_label("Description").fill("Banks and insurers above 5,000 people.")
    form.get_by_role("button", name="Create profile").click()

    expect(page.get_by_text("Required teams: This field is required.")).to_be_visible()
    expect(form.get_by_label("Name")).to_have_value("Enterprise fintech")
    assert not Profile.objects.filter(name="Enterprise fintech").exists()

    required = page.get_by_test_id("field-required_teams")
    required.get_by_label("Sales").check()
    required.get_by_label("RevOps").check()
    form.get_by_label("Check-in cadence").select_option(label="Every six months")
    form.get_by_role("button", name="Create profile").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Enterprise fintech")
    expect(page.get_by_text("Enterprise fintech created. Start its first draft.")).to_be_visible()
    expect(page.get_by_text("check-ins every six months")).to_be_visible()
    created = Profile.objects.get(name="Enterprise fintech")
    assert sorted(t.slug for t in created.required_teams.all()) == ["revops", "sales"]
    assert [t.slug for t in created.approving_teams.all()] == ["revops"]
