"""Pages hold on real content and any screen: long values and URLs wrap,
nothing is wider than a 375 px phone, the sign-off sidebar never covers the
criteria, and the keyboard reaches everything (skip link, inline forms that
take focus, Escape to cancel)."""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from profiles import services
from profiles.models import Criterion, ProfileVersion, Team, User
from scoring.models import Account

Open = Callable[[User], Page]

LONG_VALUE = "12345678901234567890123456789012"
LONG_WORD = "Vertically-integrated-" * 8
LONG_URL = "https://example.com/" + "a" * 280


@pytest.fixture
def long_draft(v2: ProfileVersion, cast: dict[str, User]) -> ProfileVersion:
    services.criterion_add(
        actor=cast["marketer"],
        version=v2,
        revision=v2.revision,
        attribute="country",
        operator="in",
        value=[LONG_VALUE, LONG_WORD],
        points=0,
        rationale=LONG_URL,
    )
    v2.refresh_from_db()
    services.comment_create(
        actor=cast["marketer"],
        version=v2,
        team=Team.objects.get(slug="marketing"),
        body=f"See {LONG_URL} for the list.",
    )
    Account.objects.create(external_id="long-1", name=LONG_WORD, industry=LONG_WORD)
    return v2


def _pages(version: ProfileVersion) -> list[str]:
    slug = version.profile.slug
    account = Account.objects.get(external_id="long-1")
    return [
        "/",
        "/profiles/",
        f"/profiles/{slug}/",
        f"/profiles/{slug}/v{version.number}/",
        f"/profiles/{slug}/compare/",
        "/accounts/",
        f"/accounts/{account.pk}/",
        "/accounts/import/",
        "/reviews/",
        "/reviews/checkins/",
        "/reviews/validation/",
        "/reviews/my-work/",
        "/reviews/notifications/",
        "/reviews/notifications/preferences/",
    ]


@pytest.mark.parametrize("who", ["marketer", "ops"])
def test_no_page_is_wider_than_a_phone_with_long_content_in_it(
    sign_in: Open, long_draft: ProfileVersion, cast: dict[str, User], who: str
) -> None:
    page = sign_in(cast[who])
    page.set_viewport_size({"width": 375, "height": 800})
    too_wide = {}
    for url in _pages(long_draft):
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 375:
            too_wide[url] = width
    assert too_wide == {}


def test_the_sidebar_never_covers_the_criteria(
    sign_in: Open, long_draft: ProfileVersion, cast: dict[str, User]
) -> None:
    page = sign_in(cast["marketer"])
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/profiles/{long_draft.profile.slug}/v{long_draft.number}/")
    buttons = page.locator("#criteria .row-actions button")
    assert buttons.count() >= 2
    for index in range(buttons.count()):
        button = buttons.nth(index)
        button.scroll_into_view_if_needed()
        on_top = button.evaluate(
            """b => { const r = b.getBoundingClientRect();
                      const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
                      return hit === b || b.contains(hit); }"""
        )
        assert on_top, button.get_attribute("aria-label")


def test_the_keyboard_skips_to_content_edits_in_place_and_escape_cancels(
    sign_in: Open, long_draft: ProfileVersion, cast: dict[str, User]
) -> None:
    page = sign_in(cast["marketer"])
    page.goto(f"/profiles/{long_draft.profile.slug}/v{long_draft.number}/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    criterion = Criterion.objects.get(version=long_draft, attribute="crm")
    edit = page.locator(f"#edit-{criterion.pk}")
    edit.focus()
    page.keyboard.press("Enter")
    form = page.locator("tr.editing form.criterion-form")
    expect(form).to_be_visible()
    # The form takes the focus once htmx has settled the swap, a moment after
    # it shows.
    page.wait_for_function(
        "document.activeElement.closest('tr.editing form.criterion-form') !== null"
    )
    page.keyboard.press("Escape")
    expect(page.locator("tr.editing")).to_have_count(0)
    expect(page.locator(f"#edit-{criterion.pk}")).to_be_focused()
