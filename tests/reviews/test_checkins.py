"""Check-ins: the beat schedule, cadence, agenda, drift triggers, outcomes, digest."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from profiles.models import Profile, ProfileVersion, User
from reviews import services
from reviews.agenda import checkin_agenda
from reviews.models import CheckIn, CheckInKind, DigestSent
from reviews.tasks import detect_drift_task, schedule_checkins_task, send_digests_task
from scoring import services as scoring_services
from scoring.models import Account, ScoringRun
from tests.factories import AccountFactory, DealFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def test_beat_runs_the_three_review_tasks() -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE
    tasks = {entry["task"]: entry["schedule"] for entry in schedule.values()}
    assert {"reviews.schedule_checkins", "reviews.detect_drift", "reviews.send_digests"} <= set(
        tasks
    )
    digest = tasks["reviews.send_digests"]
    assert digest.day_of_week == {1}  # type: ignore[attr-defined]
    assert digest.hour == {7}  # type: ignore[attr-defined]


def age(version: ProfileVersion, days: int) -> None:
    ProfileVersion.objects.filter(pk=version.pk).update(
        approved_at=timezone.now() - timedelta(days=days)
    )


def test_the_next_check_in_comes_one_cadence_after_approval_once(
    icp: Profile, v1: ProfileVersion, live_run: ScoringRun
) -> None:
    age(v1, 30)
    assert schedule_checkins_task() == []
    age(v1, 80)  # due in about ten days: within the lead time
    [pk] = schedule_checkins_task()
    checkin = CheckIn.objects.get(pk=pk)
    assert checkin.kind == CheckInKind.SCHEDULED
    v1.refresh_from_db()
    assert checkin.due_on == services.add_months(timezone.localdate(v1.approved_at), 3)
    assert checkin.agenda == {}  # nothing is stored until it is held
    agenda = checkin_agenda(checkin=checkin)
    assert agenda.live
    assert agenda.since == v1.approved_at
    assert agenda.data["live_version"] == 1
    assert set(agenda.data["outcomes"]["tiers"]) == {"A", "B", "C", "DQ"}
    assert schedule_checkins_task() == []
    assert CheckIn.objects.count() == 1


def test_the_following_check_in_counts_from_the_last_one(
    icp: Profile, v1: ProfileVersion, live_run: ScoringRun
) -> None:
    age(v1, 100)
    services.checkins_schedule()
    first = CheckIn.objects.get()
    later = services.checkins_schedule(today=first.due_on + timedelta(days=80))
    assert [c.due_on for c in later] == [services.add_months(first.due_on, 3)]


def test_the_agenda_counts_overrides_by_reason_and_criterion(
    rep: User, icp: Profile, v1: ProfileVersion, tiny: Account, acme: Account, live_run: ScoringRun
) -> None:
    employees = v1.criteria.get(attribute="employees")
    services.override_create(
        actor=rep,
        account=tiny,
        profile=icp,
        claimed_tier="A",
        reason="too_strict",
        criterion=employees,
    )
    services.override_create(
        actor=rep, account=acme, profile=icp, claimed_tier="C", reason="timing"
    )
    age(v1, 100)
    [checkin] = services.checkins_schedule()
    overrides = checkin_agenda(checkin=checkin).data["overrides"]
    assert overrides["total"] == 2
    assert overrides["by_reason"] == {"Criterion too strict": 1, "Timing or intent": 1}
    assert {row["criterion"] for row in overrides["by_criterion"]} == {
        "Employees is between 200 and 2,000",
        "No criterion named",
    }


def deals(tier_a_won: int, tier_a_lost: int, tier_b_won: int, tier_b_lost: int) -> None:
    """Closed deals ten days ago: tier A's all of one account, tier B's each
    of an account of its own (the win rate counts deals either way)."""
    closed = NOW - timedelta(days=10)
    tier_a = AccountFactory.create(employees=450, has_revops=True)
    for status, n, employees in [
        ("won", tier_a_won, 450),
        ("lost", tier_a_lost, 450),
        ("won", tier_b_won, 150),
        ("lost", tier_b_lost, 150),
    ]:
        for _ in range(n):
            DealFactory.create(
                account=tier_a if employees == 450 else AccountFactory.create(employees=150),
                status=status,
                closed_at=closed,
                amount=Decimal("1000"),
            )


def rescore(icp: Profile, v1: ProfileVersion, actor: User) -> ScoringRun:
    run = run_all(scoring_services.run_create(profile=icp, version=v1, actor=actor))
    assert run is not None
    return run


@pytest.fixture
def few_deals(settings: object) -> None:
    settings.REVIEWS_DRIFT_MIN_DEALS = 4  # type: ignore[attr-defined]
    settings.REVIEWS_DRIFT_MIN_CHURNED = 2  # type: ignore[attr-defined]


def test_drift_fires_when_tier_a_wins_no_more_often_than_tier_b(
    few_deals: None, icp: Profile, v1: ProfileVersion, ops_manager: User
) -> None:
    deals(tier_a_won=2, tier_a_lost=2, tier_b_won=2, tier_b_lost=2)  # 50% = 50%
    rescore(icp, v1, ops_manager)
    [pk] = detect_drift_task()
    checkin = CheckIn.objects.get(pk=pk)
    assert (checkin.kind, checkin.trigger) == (CheckInKind.OFF_CYCLE, "win_rate")
    assert (
        "Tier A accounts won 50% of 4 closed deals and tier B accounts 50% of 4"
        in checkin.trigger_reason
    )
    assert detect_drift_task() == []


def test_drift_stays_quiet_just_above_the_threshold_and_below_the_deal_minimum(
    few_deals: None, icp: Profile, v1: ProfileVersion, ops_manager: User
) -> None:
    deals(tier_a_won=3, tier_a_lost=2, tier_b_won=2, tier_b_lost=2)  # 60% > 50%
    rescore(icp, v1, ops_manager)
    assert detect_drift_task() == []
    DealFactory.create_batch(
        2, account__employees=450, status="lost", closed_at=NOW
    )  # A falls to 3/7 = 43%
    rescore(icp, v1, ops_manager)
    assert len(detect_drift_task()) == 1


def test_drift_needs_enough_deals_in_each_tier(
    few_deals: None, icp: Profile, v1: ProfileVersion, ops_manager: User
) -> None:
    deals(tier_a_won=0, tier_a_lost=4, tier_b_won=3, tier_b_lost=0)  # B has 3 < 4
    rescore(icp, v1, ops_manager)
    assert detect_drift_task() == []


def churn(n: int, employees: int | None, *, churned: bool) -> None:
    """Customers since a deal won 300 days ago, and a renewal won since:
    churn counts each customer once, however many deals it won."""
    for _ in range(n):
        account = AccountFactory.create(
            employees=employees,
            has_revops=True,
            churned_at=NOW - timedelta(days=5) if churned else None,
        )
        DealFactory.create(account=account, status="won", closed_at=NOW - timedelta(days=300))
        DealFactory.create(
            account=account, status="won", type="renewal", closed_at=NOW - timedelta(days=100)
        )


def test_churn_concentrating_in_a_low_risk_tier_opens_a_check_in(
    few_deals: None, icp: Profile, v1: ProfileVersion, ops_manager: User
) -> None:
    churn(2, 450, churned=True)  # tier A: 2 of 4 churned (50%)
    churn(2, 450, churned=False)
    churn(8, None, churned=False)  # tier C: 0 of 8; overall 2 of 12 (17%)
    rescore(icp, v1, ops_manager)
    [checkin] = services.checkins_open_for_drift()
    assert checkin.trigger == "churn"
    assert "churn concentrates in tier A" in checkin.trigger_reason


def test_churn_below_the_ratio_stays_quiet(
    few_deals: None, icp: Profile, v1: ProfileVersion, ops_manager: User
) -> None:
    churn(2, 450, churned=True)  # tier A: 2 of 6 (33%)
    churn(4, 450, churned=False)
    churn(1, None, churned=True)  # tier C: 1 of 2; overall 3 of 8 (37.5%)
    churn(1, None, churned=False)
    rescore(icp, v1, ops_manager)
    assert services.checkins_open_for_drift() == []


@pytest.fixture
def open_checkin(icp: Profile, v1: ProfileVersion, live_run: ScoringRun) -> CheckIn:
    age(v1, 100)
    [checkin] = services.checkins_schedule()
    return checkin


def test_no_change_needs_a_note(open_checkin: CheckIn, ops_manager: User) -> None:
    with pytest.raises(ValidationError):
        services.checkin_close(actor=ops_manager, checkin=open_checkin, outcome="no_change")
    closed = services.checkin_close(
        actor=ops_manager, checkin=open_checkin, outcome="no_change", note="Holding up."
    )
    assert (closed.outcome, closed.closed_by) == ("no_change", ops_manager)


def test_start_a_revision_opens_a_linked_draft_carrying_the_evidence(
    open_checkin: CheckIn, manager: User, icp: Profile
) -> None:
    closed = services.checkin_close(
        actor=manager, checkin=open_checkin, outcome="start_revision", note="Lower the floor."
    )
    assert closed.draft is not None
    assert closed.draft.status == "draft"
    assert closed.draft.parent == icp.versions.get(number=1)
    assert "overrides since the last check-in" in closed.draft.rationale
    assert "Lower the floor." in closed.draft.rationale


def test_the_digest_lists_each_surprising_deal(
    manager: User, acme: Account, live_run: ScoringRun
) -> None:
    DealFactory.create(account=acme, status="lost", closed_at=NOW)
    DealFactory.create(account=acme, status="lost", closed_at=NOW - timedelta(days=2))
    services.digests_send()
    [email] = [e for e in mail.outbox if e.to == [manager.email]]
    assert "2 surprises" in email.subject
    assert email.body.count("Acme (tier A): deal lost") == 2


@pytest.mark.parametrize("who", ["rep", "marketer", "outsider"])
def test_only_approvers_and_managers_of_required_teams_close_a_check_in(
    who: str, request: pytest.FixtureRequest, open_checkin: CheckIn, icp: Profile
) -> None:
    with pytest.raises(PermissionDenied):
        services.checkin_close(
            actor=request.getfixturevalue(who), checkin=open_checkin, outcome="start_revision"
        )
    open_checkin.refresh_from_db()
    assert open_checkin.is_open
    assert icp.versions.count() == 1


def test_the_monday_digest_mails_each_manager_once_a_week(
    rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    assert send_digests_task() == 1
    [email] = mail.outbox
    assert email.to == [manager.email]
    assert "1 pending override" in email.subject
    assert "Tiny: B -> A (strategic account), by" in email.body
    assert "http://localhost:8000/reviews/" in email.body
    assert services.digests_send() == 0
    assert len(mail.outbox) == 1
    assert DigestSent.objects.filter(user=manager).count() == 1
    assert services.digests_send(today=timezone.localdate() + timedelta(days=7)) == 1
