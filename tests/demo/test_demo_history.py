"""The demo's past: versions approved months apart, quarterly check-ins held
with the agendas of their day, claims waiting for the weekly review, a
drift check-in with its figures and surprises this week."""

from datetime import timedelta
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.utils import timezone

from demo.seed import PROFILE_SLUG
from profiles.models import ProfileVersion, SignOff, User, VersionEvent
from reviews.models import CheckIn, CheckInKind, Override
from reviews.selectors import surprise_kinds
from scoring.models import ScoringRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo() -> None:
    call_command("seed_demo", "--accounts", "3000", stdout=StringIO())


def days_ago(moment: object) -> int:
    assert moment is not None
    return (timezone.now() - moment).days  # type: ignore[operator]


def test_versions_were_approved_months_apart_each_after_its_sign_offs(demo: None) -> None:
    versions = list(ProfileVersion.objects.filter(profile__slug=PROFILE_SLUG).order_by("number"))
    assert [v.status for v in versions] == ["superseded", "superseded", "approved", "in_review"]
    approved = [days_ago(v.approved_at) for v in versions[:3]]
    assert 430 <= approved[0] <= 470  # about fifteen months
    assert 220 <= approved[1] <= 270  # about eight months
    assert 50 <= approved[2] <= 90  # about two months
    for older, newer in pairwise(versions[:3]):
        assert older.superseded_at == newer.approved_at
    for version in versions[:3]:
        assert version.created_at < version.submitted_at < version.approved_at  # type: ignore[operator]
        signed = SignOff.objects.filter(version=version)
        assert signed.count() == 4
        assert all(s.created_at < version.approved_at for s in signed)  # type: ignore[operator]
        events = VersionEvent.objects.filter(version=version, verb="approved")
        assert [e.created_at for e in events] == [version.approved_at]


def test_quarterly_check_ins_were_held_with_the_agenda_of_their_day(demo: None) -> None:
    held = list(
        CheckIn.objects.filter(profile__slug=PROFILE_SLUG).exclude(outcome="").order_by("due_on")
    )
    assert [c.outcome for c in held] == ["no_change", "start_revision"] * 2
    assert [c.draft.number if c.draft else None for c in held] == [None, 2, None, 3]
    assert [c.agenda["live_version"] for c in held] == [1, 1, 2, 2]
    for checkin in held:
        assert checkin.kind == CheckInKind.SCHEDULED
        assert checkin.agenda_at == checkin.closed_at
        assert checkin.closed_at.date() > checkin.due_on  # type: ignore[union-attr]
        assert checkin.agenda["as_of"] == checkin.closed_at.isoformat()  # type: ignore[union-attr]
        assert checkin.agenda["outcomes"]["total"]["won"] > 0
    # Each agenda covers the quarter before it, not what came later.
    assert [c.since for c in held[1:]] == [c.closed_at for c in held[:-1]]
    first = held[0].agenda["outcomes"]["total"]
    assert first["won"] + first["lost"] < held[-1].agenda["outcomes"]["total"]["won"] * 4
    coming = CheckIn.objects.get(profile__slug=PROFILE_SLUG, kind="scheduled", outcome="")
    assert 0 < (coming.due_on - timezone.localdate()).days <= 14


def test_claims_were_decided_over_weeks_and_some_wait_longer_than_a_week(demo: None) -> None:
    claims = Override.objects.filter(profile__slug=PROFILE_SLUG)
    assert 20 <= claims.count() <= 100
    assert {"pending", "accepted", "rejected"} == set(claims.values_list("status", flat=True))
    logged = [days_ago(c.created_at) for c in claims]
    assert max(logged) - min(logged) >= 28
    pending = claims.filter(status="pending")
    assert any(days_ago(c.created_at) > 7 for c in pending)
    for claim in claims.exclude(status="pending"):
        assert claim.created_at < claim.reviewed_at < timezone.now()  # type: ignore[operator]
    live = ProfileVersion.objects.get(profile__slug=PROFILE_SLUG, status="approved")
    assert set(claims.values_list("version_id", flat=True)) == {live.pk}


def test_drift_opened_a_check_in_with_its_figures(demo: None) -> None:
    drift = CheckIn.objects.get(profile__slug=PROFILE_SLUG, kind=CheckInKind.OFF_CYCLE)
    assert drift.is_open
    assert drift.trigger == "win_rate"
    figures = drift.trigger_figures
    assert figures["a_closed"] >= figures["min_deals"]
    assert figures["b_closed"] >= figures["min_deals"]
    assert figures["a_win_rate"] <= figures["b_win_rate"]
    assert "measured_at" in figures


def test_the_manager_sees_surprises_this_week(demo: None) -> None:
    sofia = User.objects.get(username="sofia")
    this_week = {k.kind: k.this_week for k in surprise_kinds(viewer=sofia)}
    assert sum(this_week.values()) > 0


def test_earlier_runs_are_recorded_with_their_tallies(demo: None) -> None:
    runs = list(
        ScoringRun.objects.filter(profile__slug=PROFILE_SLUG, status="succeeded").order_by(
            "finished_at"
        )
    )
    # v1's run is pruned once a worker keeps the last two, as in real use.
    assert [(r.version.number, r.status, r.is_current) for r in runs[-2:]] == [
        (2, "succeeded", False),
        (3, "succeeded", True),
    ]
    for run in runs:
        assert sum(run.tier_counts.values()) == 3000
        assert run.finished_at - run.version.approved_at < timedelta(hours=1)  # type: ignore[operator]
    assert runs[-2].tier_movement
    assert runs[-1].tier_movement


def test_a_second_run_adds_no_history(demo: None) -> None:
    before = (CheckIn.objects.count(), Override.objects.count(), ScoringRun.objects.count())
    call_command("seed_demo", "--accounts", "3000", stdout=StringIO())
    assert (CheckIn.objects.count(), Override.objects.count(), ScoringRun.objects.count()) == (
        before
    )
