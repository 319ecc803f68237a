"""Run progress and a draft's impact preview, shown on the profile pages."""

import pytest
from django.test import Client
from django.urls import reverse

from profiles.models import Profile, User
from scoring import services
from scoring.models import ScoringRun
from scoring.preview import impact_preview
from tests.drafting import approved_version
from tests.factories import AccountFactory, VersionFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(icp: Profile, ops_manager: User) -> ScoringRun:
    AccountFactory.create(name="Acme", employees=450, has_revops=True)  # A 100 -> draft B 40
    AccountFactory.create(name="Tiny", employees=150, has_revops=True)  # B 40 -> draft A 100
    AccountFactory.create(name="Gone", employees=None, has_revops=None)  # C 0 -> C 0
    version = approved_version(icp, 1, [200, 2000])
    run = run_all(services.run_create(profile=icp, version=version, actor=ops_manager))
    assert run is not None
    return run


def test_the_preview_counts_tiers_and_movement_in_the_database(
    icp: Profile, live: ScoringRun
) -> None:
    draft = approved_version(icp, 2, [100, 199], status="draft")
    AccountFactory.create(
        name="Newcomer", employees=120, has_revops=False
    )  # not in the live run: draft B 60
    preview = impact_preview(version=draft)
    assert preview.total == 4
    assert preview.live_counts == {"A": 1, "B": 1, "C": 1}
    assert preview.draft_counts == {"A": 1, "B": 2, "C": 1}
    assert preview.movement == {"A": {"B": 1}, "B": {"A": 1}, "C": {"C": 1}, "new": {"B": 1}}
    assert preview.moved == 2
    assert [
        (m.name, m.live_tier, m.live_score, m.draft_tier, m.draft_score) for m in preview.movers
    ] == [
        ("Acme", "A", 100, "B", 40),
        ("Tiny", "B", 40, "A", 100),
    ]
    assert [(c.known, c.share) for c in preview.coverage] == [(3, 75), (3, 75), (4, 100)]


def test_the_preview_page_renders_for_a_signed_in_user(
    client: Client, rep: User, icp: Profile, live: ScoringRun
) -> None:
    client.force_login(rep)
    draft = VersionFactory.create(profile=icp, number=2)
    response = client.get(reverse("version-impact", args=[icp.slug, draft.number]))
    assert response.status_code == 200
    assert b"Impact on the account base" in response.content


def test_progress_polls_while_a_run_is_in_flight_and_stops_after(
    client: Client, rep: User, icp: Profile, ops_manager: User
) -> None:
    client.force_login(rep)
    AccountFactory.create()
    version = approved_version(icp, 1, [200, 2000])
    run = services.run_create(profile=icp, version=version, actor=ops_manager, enqueue=False)
    url = reverse("run-progress", args=[icp.slug])
    in_flight = client.get(url)
    assert b'hx-trigger="every 2s"' in in_flight.content
    assert b"queued" in in_flight.content
    run_all(run)
    done = client.get(url)
    assert b"hx-trigger" not in done.content
    assert b"1 account scored with v1" in done.content
