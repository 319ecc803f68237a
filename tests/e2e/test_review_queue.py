"""The weekly review in the browser, as a manager works through it: decide
the override waiting longest, mark an account's surprises and then a whole
kind reviewed in place, finish the review; the page stays accessible and
fits a phone."""

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import Page, expect

from profiles.models import ProfileVersion, User
from reviews import services
from reviews.models import Override, ReviewCheckpoint, ReviewMark
from scoring.models import Account
from scoring.services import run_in_process
from tests.factories import AccountFactory, DealFactory

Open = Callable[[User], Page]


@pytest.fixture
def week(v1: ProfileVersion, cast: dict[str, User]) -> Account:
    """Scored by the live v1: two tier A accounts lost deals this week (Acme
    twice), a tier C one won; Small Co (B) carries a rep's claim from nine
    days ago."""
    now = timezone.now()
    acme = AccountFactory.create(name="Acme", external_id="acme")
    DealFactory.create(account=acme, external_id="acme-1", status="lost", closed_at=now,
                       amount=Decimal("14800"), currency="USD")  # fmt: skip
    DealFactory.create(account=acme, external_id="acme-2", status="lost",
                       closed_at=now - timedelta(days=1))  # fmt: skip
    DealFactory.create(account__name="Globex", account__external_id="globex",
                       status="lost", closed_at=now - timedelta(days=2))  # fmt: skip
    DealFactory.create(account__name="Lucky", account__external_id="lucky",
                       account__employees=None, account__has_revops=None, account__crm="",
                       account__industry="", account__funding_stage="", status="won",
                       closed_at=now, amount=Decimal("5000"))  # fmt: skip
    small = AccountFactory.create(
        name="Small Co", external_id="small", employees=150, funding_stage="Seed"
    )
    run_in_process(profile=v1.profile, version=v1, actor=None)
    claim = services.override_create(
        actor=cast["rep"], account=small, profile=v1.profile, claimed_tier="A", reason="timing"
    )
    Override.objects.filter(pk=claim.pk).update(created_at=now - timedelta(days=9))
    return acme


def test_a_manager_decides_marks_a_surprise_group_and_finishes_the_review(
    sign_in: Open, week: Account, cast: dict[str, User]
) -> None:
    sam = sign_in(cast["manager"])
    sam.goto("/reviews/")
    expect(sam.get_by_test_id("last-review")).to_contain_text("You have not finished a review")

    decision = sam.get_by_test_id("override-small")
    expect(decision.get_by_test_id("waiting")).to_have_text("waiting 9 days")
    decision.get_by_role("textbox").fill("Agreed")
    decision.get_by_role("button", name="Accept").click()
    expect(sam.get_by_test_id("override-small").get_by_test_id("decision")).to_have_text(
        "Accepted by Sam Okafor"
    )

    surprises = sam.get_by_test_id("queue-surprises")
    lost = surprises.get_by_test_id("kind-lost")
    expect(lost.get_by_test_id("kind-sentence")).to_have_text(
        "3 tier-A losses this week, 3 more than usual"
    )
    acme = surprises.get_by_test_id("surprise-acme")
    expect(acme).to_contain_text("14,800 USD")
    expect(acme).to_contain_text("Mid-market SaaS")
    acme.get_by_role("button", name="Mark all 2 reviewed for Acme").click()
    expect(sam.get_by_test_id("group-marked")).to_have_text("Marked 2 surprises reviewed.")
    expect(sam.get_by_test_id("surprise-acme")).to_have_count(0)
    expect(sam.get_by_test_id("surprise-globex")).to_be_visible()

    sam.get_by_test_id("kind-lost").get_by_role("button", name="Mark all 1 reviewed").click()
    expect(sam.get_by_test_id("group-marked")).to_have_text("Marked 1 surprise reviewed.")
    expect(sam.get_by_test_id("surprise-globex")).to_have_count(0)
    expect(sam.get_by_test_id("surprise-lucky")).to_be_visible()
    assert ReviewMark.objects.filter(user=cast["manager"], kind="lost").count() == 3

    sam.get_by_role("button", name="Finish review").click()
    expect(sam.get_by_test_id("last-review")).to_contain_text("by you")
    checkpoint = ReviewCheckpoint.objects.get(user=cast["manager"])
    assert checkpoint.reviewed_at > timezone.now() - timedelta(minutes=5)
    expect(sam.get_by_test_id("surprise-lucky").get_by_test_id("new")).to_have_count(0)


def test_marking_a_surprise_group_works_without_javascript(
    sign_in: Open, week: Account, cast: dict[str, User]
) -> None:
    sam = sign_in(cast["manager"])
    sam.context.route("**/*.js", lambda route: route.abort())
    sam.goto("/reviews/?sp=1")
    assert sam.evaluate("typeof window.htmx") == "undefined"
    sam.get_by_test_id("surprise-acme").get_by_role("button", name="Mark all 2 reviewed").click()
    expect(sam).to_have_url(re.compile(r"/reviews/\?sp=1$"))
    expect(sam.locator(".messages")).to_contain_text("Marked 2 surprises reviewed.")
    expect(sam.get_by_test_id("surprise-acme")).to_have_count(0)


def test_the_queue_with_surprises_passes_axe_and_fits_a_phone(
    sign_in: Open, week: Account, cast: dict[str, User]
) -> None:
    sam = sign_in(cast["manager"])
    axe = Axe()
    for width in (1280, 375):
        sam.set_viewport_size({"width": width, "height": 900})
        sam.goto("/reviews/", wait_until="networkidle")
        violations = [
            f"{v['id']}: {v['help']}"
            for v in axe.run(sam).response["violations"]
            if v["impact"] in {"serious", "critical"}
        ]
        assert violations == [], f"at {width} px"
    assert sam.evaluate("document.documentElement.scrollWidth") <= 375
