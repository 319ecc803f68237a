"""Screenshots for the docs: a manager's dashboard, weekly review queue and a
check-in, full page at desktop (1280 px) and phone (375 px) widths, saved as
docs/screenshots/<page>-<width>.png. Run this module to refresh them."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from profiles.models import ProfileVersion, User
from reviews import services
from reviews.models import CheckIn, CheckInKind, Override
from scoring.services import run_in_process
from tests.factories import AccountFactory, DealFactory

Open = Callable[[User], Page]
WIDTHS = (1280, 375)
FOLDER = Path(settings.BASE_DIR) / "docs" / "screenshots"


@pytest.fixture
def week(v1: ProfileVersion, cast: dict[str, User]) -> CheckIn:
    """A week's worth of work: claims waiting, surprises across kinds, a
    check-in due."""
    now = timezone.now()
    profile = v1.profile
    acme = AccountFactory.create(name="Acme Analytics", external_id="acme")
    for i, amount in enumerate((Decimal("14800"), Decimal("22500.50"))):
        DealFactory.create(account=acme, external_id=f"acme-{i + 1}", status="lost",
                           closed_at=now - timedelta(days=i), amount=amount,
                           currency="USD")  # fmt: skip
    for name in ("Globex", "Initech", "Umbrella"):
        DealFactory.create(account__name=name, status="lost", amount=Decimal("9900"),
                           currency="EUR", closed_at=now - timedelta(days=2))  # fmt: skip
    for days in (10, 17, 24):
        DealFactory.create(account__name=f"Earlier {days}", status="lost",
                           closed_at=now - timedelta(days=days))  # fmt: skip
    DealFactory.create(account__name="Lucky Labs", account__employees=None,
                       account__has_revops=None, account__crm="", account__industry="",
                       account__funding_stage="", status="won", closed_at=now,
                       amount=Decimal("5000"))  # fmt: skip
    AccountFactory.create(name="Gone Corp", churned_at=now - timedelta(days=3))
    small = AccountFactory.create(
        name="Small Co", external_id="small", employees=150, funding_stage="Seed"
    )
    tiny = AccountFactory.create(name="Tiny Inc", employees=60, funding_stage="Seed")
    run_in_process(profile=profile, version=v1, actor=None)
    for account, days, reason in ((small, 9, "too_strict"), (tiny, 2, "strategic")):
        claim = services.override_create(
            actor=cast["rep"], account=account, profile=profile, claimed_tier="A", reason=reason
        )
        Override.objects.filter(pk=claim.pk).update(created_at=now - timedelta(days=days))
    checkin = services.checkin_open(
        profile=profile, kind=CheckInKind.SCHEDULED, due_on=timezone.localdate() + timedelta(days=3)
    )
    assert isinstance(checkin, CheckIn)
    return checkin


def test_screenshots_of_the_managers_pages_at_both_widths(
    sign_in: Open, week: CheckIn, cast: dict[str, User]
) -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    sam = sign_in(cast["manager"])
    pages = {
        "dashboard": "/",
        "queue": "/reviews/",
        "checkin": f"/reviews/checkins/{week.pk}/",
    }
    for width in WIDTHS:
        sam.set_viewport_size({"width": width, "height": 900})
        for name, url in pages.items():
            sam.goto(url, wait_until="networkidle")
            expect(sam.locator("main h1")).to_be_visible()
            path = FOLDER / f"{name}-{width}.png"
            sam.screenshot(path=str(path), full_page=True)
            assert path.stat().st_size > 0
