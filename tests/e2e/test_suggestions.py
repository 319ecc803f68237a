"""Suggestions in the browser: on a base whose outcomes follow the demo's
hidden fit rules, the live version's panel offers edits; two of them,
ticked, start a draft that carries them with their evidence in the
criteria's threads, and every required team is asked to sign off."""

import re
from collections.abc import Callable

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from demo.accounts import seed_accounts
from profiles.models import Comment, ProfileVersion, User

# Enough accounts for several edits to clear the minimum evidence.
ACCOUNTS = 15_000
BLOCKING = {"serious", "critical"}


def test_two_ticked_suggestions_start_a_draft_with_their_evidence_in_its_threads(
    sign_in: Callable[[User], Page], v1: ProfileVersion, cast: dict[str, User]
) -> None:
    seed_accounts(count=ACCOUNTS, seed=7)
    slug = v1.profile.slug
    mia = sign_in(cast["marketer"])
    mia.goto(f"/profiles/{slug}/v1/")

    panel = mia.get_by_test_id("suggestions")
    suggestions = panel.get_by_test_id("suggestion")
    expect(suggestions.first).to_be_visible(timeout=30_000)
    assert suggestions.count() >= 2
    chosen = [suggestions.nth(i) for i in range(2)]
    sentences = [s.locator("p").first.inner_text() for s in chosen]
    for suggestion in chosen:
        expect(suggestion.get_by_test_id("suggestion-evidence")).to_be_visible()
        expect(suggestion.get_by_test_id("suggestion-backtest")).to_be_visible()
        suggestion.get_by_role("checkbox").check()
    panel.get_by_role("button", name="Start a draft from these suggestions").click()

    expect(mia).to_have_url(re.compile(rf"/profiles/{slug}/v2/$"))
    expect(mia.get_by_text("Started v2 from 2 suggestions")).to_be_visible()
    threads = mia.get_by_test_id("thread")
    expect(threads).to_have_count(2)
    draft = ProfileVersion.objects.get(profile=v1.profile, number=2)
    for sentence in sentences:
        thread = threads.filter(has_text=sentence)
        expect(thread).to_have_count(1)
        comment = Comment.objects.get(version=draft, body__contains=sentence)
        assert comment.criterion is not None
        assert comment.criterion.version_id == draft.pk
        expect(thread).to_contain_text(f"On {comment.criterion_label}")
        expect(thread).to_contain_text("Marketing")
    for team in ("sales", "marketing", "revops"):
        expect(mia.get_by_test_id(f"signoff-{team}")).to_contain_text("Waiting for sign-off")
    # The draft's own panels finish loading before the test's data goes.
    expect(mia.get_by_test_id("suggestions")).to_be_visible(timeout=30_000)
    mia.wait_for_load_state("networkidle")


def test_the_panel_fits_a_phone_and_passes_axe(
    sign_in: Callable[[User], Page], v1: ProfileVersion, cast: dict[str, User]
) -> None:
    seed_accounts(count=ACCOUNTS, seed=7)
    page = sign_in(cast["ops"])
    page.set_viewport_size({"width": 375, "height": 800})
    for url in (f"/profiles/{v1.profile.slug}/v1/", f"/profiles/{v1.profile.slug}/v1/suggestions/"):
        page.goto(url)
        expect(page.get_by_test_id("suggestion").first).to_be_visible(timeout=30_000)
        for details in page.locator("#suggestions details").all():
            details.locator("summary").click()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, url
        violations = [
            f"{v['id']}: {v['help']}"
            for v in Axe().run(page).response["violations"]
            if v["impact"] in BLOCKING
        ]
        assert violations == [], url
    page.wait_for_load_state("networkidle")
