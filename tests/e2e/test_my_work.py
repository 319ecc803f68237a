"""My work and notifications in the browser: a sign-off request reaches the
Sales manager's My work and inbox, signing clears it, and an edit brings it
back as stale; a claim decided from the review queue reaches the rep."""

import re
from collections.abc import Callable

from django.core.mail import EmailMessage
from playwright.sync_api import Page, expect

from profiles.models import ProfileVersion, User
from reviews import services as review_services
from scoring.services import run_in_process
from tests.factories import AccountFactory

Open = Callable[[User], Page]
SITE = "http://localhost:8000"


def _to(outbox: list[EmailMessage], user: User) -> list[EmailMessage]:
    return [m for m in outbox if m.to == [user.email]]


def test_a_sign_off_request_reaches_the_manager_and_signing_clears_it_until_an_edit(
    sign_in: Open, v2: ProfileVersion, cast: dict[str, User], mailoutbox: list[EmailMessage]
) -> None:
    slug = v2.profile.slug
    mailoutbox.clear()
    mia, sam = sign_in(cast["marketer"]), sign_in(cast["manager"])

    # Marketing submits v2: Sales must sign.
    mia.goto(f"/profiles/{slug}/v2/")
    mia.get_by_role("button", name="Submit for review").click()
    expect(mia.get_by_test_id("version-status")).to_have_text("In review")
    [email] = _to(mailoutbox, cast["manager"])
    assert email.subject == "Mid-market SaaS v2 is in review: sign off for Sales"
    assert f"{SITE}/profiles/{slug}/v2/#signoffs" in email.body

    # The manager sees it on the dashboard and in the navigation, and goes there.
    sam.goto("/")
    expect(sam.get_by_test_id("my-work-count")).to_have_text("1")
    item = sam.get_by_test_id("my-work").get_by_test_id("work-signoff-sales")
    expect(item).to_contain_text("Mid-market SaaS v2: sign off for Sales")
    item.get_by_role("link").click()
    expect(sam).to_have_url(re.compile(rf"/profiles/{slug}/v2/#signoffs$"))
    form = sam.get_by_test_id("signoff-form")
    form.get_by_label("Sign for").select_option(label="Sales")
    form.get_by_label("Approve revision 1").check()
    form.get_by_role("button", name="Record decision").click()
    expect(sam.get_by_text("Recorded Sales's decision on revision 1.")).to_be_visible()
    expect(sam.get_by_test_id("my-work-count")).to_have_count(0)
    sam.goto("/")
    expect(sam.get_by_test_id("my-work-empty")).to_be_visible()

    # Marketing edits v2: Sales's sign-off is stale and comes back.
    mailoutbox.clear()
    mia.goto(f"/profiles/{slug}/v2/")
    mia.get_by_role("button", name="Edit Employees is between 200 and 2,000").click()
    expect(mia.get_by_role("button", name="Save criterion")).to_be_visible()
    criterion = mia.get_by_test_id("criterion-form")
    criterion.get_by_label("Value").fill("150, 2000")
    criterion.get_by_role("button", name="Save criterion").click()
    expect(mia.get_by_test_id("criterion-employees")).to_contain_text("between 150 and 2,000")
    [stale] = _to(mailoutbox, cast["manager"])
    assert stale.subject == "Sign again: Mid-market SaaS v2 changed after Sales signed it"
    sam.goto("/")
    expect(sam.get_by_test_id("my-work-count")).to_have_text("1")
    expect(sam.get_by_test_id("my-work").get_by_test_id("work-signoff-sales")).to_contain_text(
        "Stale Sales signed revision 1, it is now revision 2: sign again"
    )
    sam.get_by_test_id("nav-notifications").click()
    expect(sam.get_by_test_id("notifications")).to_contain_text(
        "Sign again: Mid-market SaaS v2 changed after Sales signed it"
    )


def test_a_claim_decided_from_the_queue_reaches_the_rep(
    sign_in: Open, v1: ProfileVersion, cast: dict[str, User], mailoutbox: list[EmailMessage]
) -> None:
    small = AccountFactory.create(
        name="Small Co", external_id="small", employees=150, funding_stage="Seed"
    )
    run_in_process(profile=v1.profile, version=v1, actor=None)
    review_services.override_create(
        actor=cast["rep"], account=small, profile=v1.profile, claimed_tier="A",
        reason="too_strict", note="150 people and a signed pilot",
    )  # fmt: skip
    mailoutbox.clear()

    # The manager opens the claim from My work on its row in the queue, and accepts it.
    sam = sign_in(cast["manager"])
    sam.goto("/reviews/my-work/")
    expect(sam.get_by_test_id("my-work-count")).to_have_text("1")
    sam.get_by_test_id("work-override-small").get_by_role("link").click()
    expect(sam).to_have_url(re.compile(r"/reviews/\?all=1&op=1#override-\d+$"))
    row = sam.get_by_test_id("override-small")
    row.get_by_role("textbox").fill("Agreed, they are buying")
    row.get_by_role("button", name="Accept").click()
    expect(row.get_by_test_id("decision")).to_have_text("Accepted by Sam Okafor")
    # The decision was made in place: the navigation's count follows.
    expect(sam.get_by_test_id("my-work-count")).to_have_count(0)

    # The rep hears of it by email and on their My work.
    [email] = _to(mailoutbox, cast["rep"])
    assert email.subject.startswith("Your override was accepted: Small Co from B to A")
    assert f"{SITE}/accounts/{small.pk}/#overrides" in email.body
    riya = sign_in(cast["rep"])
    riya.goto("/")
    decided = riya.get_by_test_id("my-work").get_by_test_id("work-decided-small")
    expect(decided).to_contain_text(
        "Your override on Small Co was accepted by Sam Okafor: “Agreed, they are buying”"
    )
    riya.get_by_test_id("clear-news").click()
    expect(riya.get_by_test_id("work-decided-small")).to_have_count(0)

    # The notification stays listed, unread until the rep marks it read.
    riya.get_by_test_id("nav-notifications").click()
    note = riya.get_by_test_id("notification-override_decided")
    expect(note).to_contain_text("Your override was accepted: Small Co from B to A")
    note.get_by_test_id("mark-read").click()
    expect(note.get_by_test_id("unread")).to_have_count(0)
