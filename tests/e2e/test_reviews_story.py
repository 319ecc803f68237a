"""Reviews in the browser: a rep overrides an account, the manager accepts
it from the weekly queue, the account shows its effective tier, and a
check-in opened by the beat task leads to a draft whose evidence panel
shows the override and the backtest."""

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from profiles.models import Profile, ProfileVersion, User
from reviews.models import CheckIn
from reviews.tasks import schedule_checkins_task
from scoring.models import Account
from scoring.services import run_in_process
from tests.factories import AccountFactory, DealFactory

Open = Callable[[User], Page]


@pytest.fixture
def base(icp: Profile) -> Account:
    """Scored by the live v1: the default account is A; Small Co is B (55)."""
    now = timezone.now()
    for i in range(3):
        DealFactory.create(account__name=f"Won {i}", status="won", closed_at=now,
                           amount=Decimal("12000"))  # fmt: skip
    DealFactory.create(account__name="Lost one", status="lost", closed_at=now)
    return AccountFactory.create(
        name="Small Co", external_id="small", employees=150, funding_stage="Seed"
    )


@pytest.fixture
def live(base: Account, v1: ProfileVersion) -> ProfileVersion:
    run_in_process(profile=v1.profile, version=v1, actor=None)
    ProfileVersion.objects.filter(pk=v1.pk).update(approved_at=timezone.now() - timedelta(days=85))
    return v1


def test_an_override_is_accepted_in_the_queue_and_a_check_in_leads_to_a_draft_with_evidence(
    sign_in: Open, live: ProfileVersion, base: Account, cast: dict[str, User]
) -> None:
    riya = sign_in(cast["rep"])
    riya.goto(f"/accounts/{base.pk}/")
    form = riya.get_by_test_id("override-form")
    form.get_by_label("Tier it should be").select_option("A")
    form.get_by_label("Reason").select_option(label="Criterion too strict")
    form.get_by_label("Note").fill("150 people and a signed pilot")
    form.get_by_role("button", name="Log override").click()
    expect(riya.get_by_text("Override logged")).to_be_visible()
    expect(riya.get_by_test_id("override-history")).to_contain_text("B → A")
    expect(riya.get_by_test_id(f"effective-{live.profile.slug}")).to_contain_text("B")

    sam = sign_in(cast["manager"])
    sam.goto("/reviews/")
    row = sam.get_by_test_id("override-small")
    expect(row).to_contain_text("Small Co")
    expect(row.get_by_test_id("new")).to_be_visible()
    row.get_by_role("textbox").fill("Agreed, they are buying")
    row.get_by_role("button", name="Accept").click()
    expect(sam.get_by_test_id("override-small").get_by_test_id("decision")).to_have_text(
        "Accepted by Sam Okafor"
    )

    riya.reload()
    effective = riya.get_by_test_id(f"effective-{live.profile.slug}")
    expect(effective).to_contain_text("A")
    expect(effective).to_contain_text("by accepted override")

    [checkin_id] = schedule_checkins_task()
    sam.goto("/reviews/")
    sam.get_by_test_id("queue-checkins").get_by_role("link").first.click()
    expect(sam.get_by_test_id("agenda-overrides")).to_contain_text("Criterion too strict: 1")
    sam.get_by_label("Start a revision").check()
    sam.get_by_label("Note").fill("Lower the headcount floor.")
    sam.get_by_role("button", name="Record outcome").click()
    expect(sam).to_have_url(re.compile(rf"/profiles/{live.profile.slug}/v2/$"))

    evidence = sam.get_by_test_id("evidence")
    expect(evidence.get_by_test_id("from-checkin")).to_be_visible()
    expect(evidence.get_by_test_id("agreement")).to_contain_text(
        "agrees with 0 of 1 accepted override"
    )
    backtest = evidence.get_by_test_id("backtest")
    expect(backtest).to_contain_text("Lift of tier A")
    expect(backtest.get_by_role("row").nth(1)).to_contain_text("4")
    expect(evidence.get_by_test_id("evidence-accounts")).to_contain_text("Small Co")
    assert CheckIn.objects.get(pk=checkin_id).draft is not None


def test_marking_an_item_reviewed_takes_it_out_of_the_queue(
    sign_in: Open, live: ProfileVersion, base: Account, cast: dict[str, User]
) -> None:
    from reviews import services

    services.override_create(
        actor=cast["rep"], account=base, profile=live.profile, claimed_tier="A", reason="timing"
    )
    sam = sign_in(cast["manager"])
    sam.goto("/reviews/")
    row = sam.get_by_test_id("override-small")
    row.get_by_test_id("mark").click()
    expect(row.get_by_test_id("mark")).to_have_text("Undo")
    sam.reload()
    expect(sam.get_by_test_id("override-small")).to_have_count(0)
    sam.get_by_role("link", name="Show reviewed too").click()
    expect(sam.get_by_test_id("override-small")).to_be_visible()


def test_the_validation_page_charts_the_live_version_beside_the_draft(
    sign_in: Open, live: ProfileVersion, v2: ProfileVersion, cast: dict[str, User]
) -> None:
    sam = sign_in(cast["manager"])
    sam.goto("/reviews/")
    sam.get_by_role("link", name="Outcome validation").click()
    expect(sam.get_by_role("heading", name="Outcome validation")).to_be_visible()
    expect(sam.get_by_label("Compare with")).to_have_value("2")
    for key in ("tiers", "win-rate", "deal-size", "churn"):
        expect(sam.get_by_test_id(f"chart-{key}").locator("svg")).to_be_visible()
    # Four A accounts under v1 (three won, one lost) and Small Co in B; the
    # draft is a copy, so its bars match.
    tiers = sam.get_by_test_id("chart-tiers")
    expect(tiers.locator("rect title", has_text="live v1, tier A: 4")).to_have_count(1)
    expect(tiers.locator("rect title", has_text="v2, tier A: 4")).to_have_count(1)
    win_rate = sam.get_by_test_id("chart-win-rate")
    expect(win_rate.locator("rect title", has_text="live v1, tier A: 75%")).to_have_count(1)

    sam.get_by_label("Compare with").select_option(label="live only")
    sam.get_by_role("button", name="Show").click()
    expect(sam.get_by_test_id("chart-tiers").locator("rect.bar-2")).to_have_count(0)
