"""axe-core runs on every page as each role sees it, at desktop and phone
widths: no serious or critical violation anywhere."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import Page

from profiles import services
from profiles.models import ProfileVersion, Team, User
from reviews import services as review_services
from reviews.models import CheckIn, CheckInKind
from scoring.models import Account
from scoring.services import run_in_process
from tests.factories import AccountFactory

Open = Callable[[User], Page]
BLOCKING = {"serious", "critical"}
WIDTHS = (1280, 375)
DRIFT_FIGURES = {
    "window_days": 90, "a_win_rate": 0.25, "a_won": 5, "a_closed": 20, "b_win_rate": 0.6,
    "b_won": 12, "b_closed": 20, "min_deals": 20, "measured_at": "2026-11-02T07:00:00+00:00",
}  # fmt: skip


@pytest.fixture
def world(v1: ProfileVersion, cast: dict[str, User]) -> dict[str, str]:
    """A live scored version, an open draft with a comment, a pending
    override, an open check-in and one opened by drift: every page has
    something to show."""
    profile = v1.profile
    small = AccountFactory.create(
        name="Small Co", external_id="small", employees=150, funding_stage="Seed"
    )
    AccountFactory.create(name="Big Co", external_id="big")
    run_in_process(profile=profile, version=v1, actor=None)
    draft = services.version_start_draft(actor=cast["marketer"], profile=profile)
    services.comment_create(
        actor=cast["marketer"],
        version=draft,
        team=Team.objects.get(slug="marketing"),
        body="Should Seed companies count?",
    )
    review_services.override_create(
        actor=cast["rep"], account=small, profile=profile, claimed_tier="A", reason="too_strict"
    )
    checkin = review_services.checkin_open(
        profile=profile, kind=CheckInKind.SCHEDULED, due_on=timezone.localdate() - timedelta(days=1)
    )
    assert isinstance(checkin, CheckIn)
    drift = review_services.checkin_open(
        profile=profile,
        kind=CheckInKind.OFF_CYCLE,
        due_on=timezone.localdate(),
        trigger="win_rate",
        reason="Tier A accounts won 25% of 20 closed deals and tier B accounts 60% of 20",
        figures=DRIFT_FIGURES,
    )
    assert isinstance(drift, CheckIn)
    slug = profile.slug
    pages = {
        "dashboard": "/",
        "profiles": "/profiles/",
        "profile": f"/profiles/{slug}/",
        "live version": f"/profiles/{slug}/v{v1.number}/",
        "suggestions": f"/profiles/{slug}/v{v1.number}/suggestions/",
        "draft": f"/profiles/{slug}/v{draft.number}/",
        "compare": f"/profiles/{slug}/compare/",
        "accounts": "/accounts/",
        "account": f"/accounts/{small.pk}/",
        "import": "/accounts/import/",
        "queue": "/reviews/",
        "check-ins": "/reviews/checkins/",
        "check-in": f"/reviews/checkins/{checkin.pk}/",
        "drift check-in": f"/reviews/checkins/{drift.pk}/",
        "validation": "/reviews/validation/",
        "my work": "/reviews/my-work/",
        "notifications": "/reviews/notifications/",
        "notification choices": "/reviews/notifications/preferences/",
    }
    assert Account.objects.count() == 2
    return pages


@pytest.mark.parametrize("who", ["rep", "manager", "marketer", "ops", "outsider"])
def test_every_page_passes_axe_for_each_role_at_both_widths(
    sign_in: Open, world: dict[str, str], cast: dict[str, User], who: str
) -> None:
    page = sign_in(cast[who])
    axe = Axe()
    found: dict[str, list[str]] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in world.items():
            page.goto(url, wait_until="networkidle")
            results = axe.run(page)
            blocking = [
                f"{v['id']} ({v['impact']}): {v['help']} at "
                + ", ".join(str(n["target"]) for n in v["nodes"][:3])
                for v in results.response["violations"]
                if v["impact"] in BLOCKING
            ]
            if blocking:
                found[f"{name} at {width} px"] = blocking
    assert not found, "\n".join(f"{where}: {'; '.join(v)}" for where, v in found.items())
