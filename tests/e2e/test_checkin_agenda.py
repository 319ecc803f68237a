"""A check-in's agenda in the browser: it shows the week's overrides and
deals while the check-in is open, and once a manager holds it through the
page, later deals and overrides leave it as it was."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from profiles.models import ProfileVersion, User
from reviews import services
from reviews.models import CheckIn, CheckInKind
from scoring.ingest.deals import deals_import
from scoring.models import Account
from scoring.services import run_in_process
from tests.e2e.test_reviews_story import Open
from tests.factories import AccountFactory


@pytest.fixture
def accounts(v1: ProfileVersion) -> dict[str, Account]:
    """Big Co scores A under the live v1, Small Co B; v1 went live 85 days ago."""
    made = {
        "big": AccountFactory.create(name="Big Co", external_id="big", employees=450),
        "small": AccountFactory.create(
            name="Small Co", external_id="small", employees=150, funding_stage="Seed"
        ),
    }
    run_in_process(profile=v1.profile, version=v1, actor=None)
    ProfileVersion.objects.filter(pk=v1.pk).update(approved_at=timezone.now() - timedelta(days=85))
    return made


def closed_deal(manager: User, external_id: str, status: str) -> None:
    row = {
        "external_id": external_id,
        "account": "big",
        "status": status,
        "closed_at": timezone.now().isoformat(),
    }
    report = deals_import(actor=manager, rows=[row])
    assert report.errors == []


def test_the_agenda_shows_the_week_and_stays_as_it_was_once_held(
    sign_in: Open, v1: ProfileVersion, accounts: dict[str, Account], cast: dict[str, User]
) -> None:
    checkin = services.checkin_open(
        profile=v1.profile, kind=CheckInKind.SCHEDULED, due_on=timezone.localdate()
    )
    assert isinstance(checkin, CheckIn)
    services.override_create(
        actor=cast["rep"], account=accounts["small"], profile=v1.profile, claimed_tier="A",
        reason="strategic",
    )  # fmt: skip
    closed_deal(cast["manager"], "opp-1", "won")

    sam = sign_in(cast["manager"])
    sam.goto(f"/reviews/checkins/{checkin.pk}/")
    expect(sam.get_by_test_id("agenda-status")).to_contain_text("Live agenda")
    overrides = sam.get_by_test_id("agenda-overrides")
    expect(overrides).to_contain_text("Overrides since the last check-in: 1")
    expect(overrides).to_contain_text("Strategic account: 1")
    tier_a = sam.get_by_test_id("outcome-A").get_by_role("cell")
    expect(tier_a.nth(2)).to_have_text("1")  # closed deals
    expect(tier_a.nth(4)).to_have_text("100%")  # win rate (deals)

    sam.get_by_label("No change").check()
    sam.get_by_label("Note").fill("Holding up this quarter.")
    sam.get_by_role("button", name="Record outcome").click()
    expect(sam.get_by_text("Check-in closed: no change.")).to_be_visible()
    expect(sam.get_by_test_id("agenda-status")).to_contain_text("As recorded when held on")

    closed_deal(cast["manager"], "opp-2", "lost")
    services.override_create(
        actor=cast["rep"], account=accounts["big"], profile=v1.profile, claimed_tier="C",
        reason="timing",
    )  # fmt: skip
    sam.reload()
    expect(sam.get_by_test_id("agenda-overrides")).to_contain_text(
        "Overrides since the last check-in: 1"
    )
    expect(sam.get_by_test_id("agenda-overrides")).not_to_contain_text("Timing or intent")
    tier_a = sam.get_by_test_id("outcome-A").get_by_role("cell")
    expect(tier_a.nth(2)).to_have_text("1")
    expect(tier_a.nth(4)).to_have_text("100%")


def test_a_drift_check_in_and_its_figures_fit_a_phone(
    sign_in: Open, v1: ProfileVersion, accounts: dict[str, Account], cast: dict[str, User]
) -> None:
    checkin = services.checkin_open(
        profile=v1.profile,
        kind=CheckInKind.OFF_CYCLE,
        due_on=timezone.localdate(),
        trigger="churn",
        reason="Tier A customers churned at 40% against 12% overall over 90 days (8 churned)",
        figures={
            "window_days": 90, "tier": "A", "tier_rate": 0.4, "churned": 8, "customers": 20,
            "overall": 0.12, "overall_churned": 12, "overall_customers": 100,
            "ratio_percent": 150, "min_churned": 5, "measured_at": timezone.now().isoformat(),
        },
    )  # fmt: skip
    assert isinstance(checkin, CheckIn)
    sam = sign_in(cast["manager"])
    sam.set_viewport_size({"width": 375, "height": 800})
    sam.goto(f"/reviews/checkins/{checkin.pk}/")
    figures = sam.get_by_test_id("trigger-figures")
    expect(figures).to_contain_text("Tier A churn rate (customers)")
    expect(figures).to_contain_text("40%: 8 churned of 20 customers")
    expect(figures).to_contain_text("150% of the overall rate")
    assert sam.evaluate("document.documentElement.scrollWidth") <= 375
    line = "Tier A churn rate 40% (8 customers) against 12% overall over 90 days"
    for url in ("/reviews/checkins/", "/reviews/"):
        sam.goto(url)
        expect(sam.get_by_test_id("trigger-line").first).to_contain_text(line)
        assert sam.evaluate("document.documentElement.scrollWidth") <= 375, url
