"""The whole story of a revision, as the people involved see it in their browsers."""

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from profiles.models import ProfileVersion, User


def _sign(page: Page, version_url: str, team: str, revision: int) -> None:
    page.goto(version_url)
    form = page.get_by_test_id("signoff-form")
    form.get_by_label("Sign for").select_option(label=team)
    form.get_by_label(f"Approve revision {revision}").check()
    form.get_by_role("button", name="Record decision").click()
    expect(page.get_by_text(f"Recorded {team}'s decision on revision {revision}.")).to_be_visible()


def test_a_revision_goes_from_draft_to_live_with_every_team_signing(
    sign_in: Callable[[User], Page], v1: ProfileVersion, cast: dict[str, User]
) -> None:
    slug = v1.profile.slug
    mia, riya, omar = sign_in(cast["marketer"]), sign_in(cast["rep"]), sign_in(cast["ops"])

    # Marketing drafts v2 from the live v1 and widens the headcount band.
    mia.goto(f"/profiles/{slug}/")
    mia.get_by_role("button", name="Start a new draft from v1").click()
    expect(mia).to_have_url(re.compile(rf"/profiles/{slug}/v2/$"))
    v2_url = mia.url
    mia.get_by_role("button", name="Edit Employees is between 200 and 2,000").click()
    expect(mia.get_by_role("button", name="Save criterion")).to_be_visible()
    form = mia.get_by_test_id("criterion-form")
    form.get_by_label("Value").fill("150, 2500")
    form.get_by_role("button", name="Save criterion").click()
    expect(mia.get_by_test_id("criterion-employees")).to_contain_text("between 150 and 2,500")
    mia.get_by_role("button", name="Submit for review").click()
    expect(mia.get_by_test_id("version-status")).to_have_text("In review")

    # Sales questions the new band on that criterion.
    riya.goto(v2_url)
    comment = riya.get_by_test_id("comment-form")
    comment.get_by_label("About").select_option(label="Employees is between 150 and 2,500")
    comment.get_by_label("Comment", exact=True).fill("Below 200 our win rate halves.")
    comment.get_by_role("button", name="Comment").click()
    expect(riya.get_by_test_id("thread")).to_contain_text("On Employees is between 150 and 2,500")

    # Each required team signs off on revision 2.
    _sign(riya, v2_url, "Sales", 2)
    _sign(mia, v2_url, "Marketing", 2)
    _sign(omar, v2_url, "RevOps", 2)
    for team, who in (("sales", "Riya Shah"), ("marketing", "Mia Lund"), ("revops", "Omar Haddad")):
        expect(omar.get_by_test_id(f"signoff-{team}")).to_contain_text(
            f"Approved {who}, revision 2"
        )
    expect(omar.get_by_role("button", name="Approve and make live")).to_be_enabled()

    # Marketing settles the comment with an edit; every sign-off goes stale.
    mia.goto(v2_url)
    mia.get_by_role("button", name="Edit Employees is between 150 and 2,500").click()
    expect(mia.get_by_role("button", name="Save criterion")).to_be_visible()
    form = mia.get_by_test_id("criterion-form")
    form.get_by_label("Value").fill("200, 2500")
    form.get_by_role("button", name="Save criterion").click()
    expect(mia.get_by_test_id("criterion-employees")).to_contain_text("between 200 and 2,500")
    for team in ("sales", "marketing", "revops"):
        expect(mia.get_by_test_id(f"signoff-{team}")).to_contain_text(
            "Stale: sign again Approved revision 2; the version has changed since (now revision 3)."
        )
    expect(mia.get_by_test_id("problems")).to_contain_text(
        "Sales signed off on revision 2; the version has changed since (now revision 3). "
        "Sales must sign again."
    )
    expect(mia.get_by_test_id("signoff-form").get_by_label("Approve revision 3")).to_be_visible()

    omar.goto(v2_url)
    expect(omar.get_by_role("button", name="Approve and make live")).to_be_disabled()
    expect(omar.get_by_test_id("approve-reason")).to_have_text(
        "Not yet: 3 things to settle first (listed below)."
    )

    # They sign again, and RevOps approves.
    _sign(riya, v2_url, "Sales", 3)
    _sign(mia, v2_url, "Marketing", 3)
    _sign(omar, v2_url, "RevOps", 3)
    omar.get_by_role("button", name="Approve and make live").click()
    expect(omar.get_by_text("v2 is approved and live.")).to_be_visible()
    expect(omar.get_by_test_id("version-status")).to_have_text("Live")
    expect(omar.get_by_test_id("timeline")).to_contain_text("Omar Haddad approved the version")

    # v1 is kept, superseded by v2.
    omar.goto(f"/profiles/{slug}/v1/")
    expect(omar.get_by_test_id("version-status")).to_have_text("Superseded")
    expect(omar.get_by_text("Superseded by the live v2")).to_be_visible()
    expect(omar.get_by_test_id("timeline")).to_contain_text("Superseded by v2.")
    omar.get_by_role("link", name="Mid-market SaaS").click()
    rows = omar.get_by_test_id("versions").get_by_role("row")
    expect(rows.nth(1)).to_contain_text("v2 from v1 Live")
    expect(rows.nth(2)).to_contain_text("v1 Superseded")

    v1.refresh_from_db()
    v2 = ProfileVersion.objects.get(profile=v1.profile, number=2)
    assert (v1.status, v2.status, v2.revision, v2.approved_by) == (
        "superseded",
        "approved",
        3,
        cast["ops"],
    )
    assert v2.criteria.get(attribute="employees").value == [200, 2500]
