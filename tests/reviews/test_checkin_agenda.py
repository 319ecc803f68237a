"""A check-in's agenda is worked out afresh while the check-in is open, and
stored as it stands when the check-in is held; a check-in opened by drift
says which check fired, with the figures it measured then.

Live v1 (tests/reviews/conftest.py): employees 200-2,000 (60 points), has
RevOps (40), North Korea disqualifies; A from 70, B from 40. Acme is tier A,
Tiny tier B.
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from profiles import services as profile_services
from profiles.models import Profile, ProfileVersion, Team, User
from reviews import services
from reviews.agenda import agenda_compute, checkin_agenda
from reviews.models import CheckIn, CheckInKind, CheckInOutcome
from scoring import services as scoring_services
from scoring.models import Account, ScoringRun
from tests.factories import AccountFactory, DealFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db


def age(version: ProfileVersion, days: int) -> None:
    ProfileVersion.objects.filter(pk=version.pk).update(
        approved_at=timezone.now() - timedelta(days=days)
    )


@pytest.fixture
def open_checkin(icp: Profile, v1: ProfileVersion, live_run: ScoringRun) -> CheckIn:
    age(v1, 100)
    [checkin] = services.checkins_schedule()
    return checkin


def page(client: Client, viewer: User, checkin: CheckIn) -> str:
    client.force_login(viewer)
    response = client.get(reverse("checkin-detail", args=[checkin.pk]))
    assert response.status_code == 200
    return response.content.decode()


def fresh(checkin: CheckIn) -> CheckIn:
    return CheckIn.objects.select_related("profile").get(pk=checkin.pk)


# --- Live until held ------------------------------------------------------------


def test_an_open_check_ins_agenda_counts_an_override_and_a_deal_that_came_after_it_opened(
    open_checkin: CheckIn,
    rep: User,
    manager: User,
    icp: Profile,
    acme: Account,
    tiny: Account,
    client: Client,
) -> None:
    before = checkin_agenda(checkin=open_checkin).data
    assert before["overrides"]["total"] == 0
    assert before["outcomes"]["tiers"]["A"]["lost"] == 0

    services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    DealFactory.create(account=acme, status="lost", closed_at=timezone.now())

    agenda = checkin_agenda(checkin=fresh(open_checkin))
    assert agenda.live
    assert agenda.data["overrides"]["total"] == 1
    assert agenda.data["overrides"]["by_reason"] == {"Strategic account": 1}
    tier_a = agenda.data["outcomes"]["tiers"]["A"]
    assert (tier_a["won"], tier_a["lost"], tier_a["win_rate"]) == (0, 1, 0.0)
    assert agenda.data["questions"] == {
        "pending_overrides": 1,
        "unreviewed_surprises": 1,  # a deal lost by a tier A account
        "threads": [],
    }
    assert fresh(open_checkin).agenda == {}
    shown = page(client, manager, open_checkin)
    assert "Live agenda, worked out" in shown
    assert "Overrides since the last check-in: 1" in shown
    assert "Strategic account: 1" in shown


def test_after_holding_later_overrides_and_deals_leave_the_agenda_as_it_was(
    open_checkin: CheckIn,
    rep: User,
    ops_manager: User,
    manager: User,
    icp: Profile,
    acme: Account,
    tiny: Account,
    client: Client,
) -> None:
    services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    DealFactory.create(account=acme, status="won", closed_at=timezone.now())
    held = services.checkin_close(
        actor=ops_manager, checkin=open_checkin, outcome="no_change", note="Holding up."
    )
    assert held.agenda_at == held.closed_at
    stored = fresh(held).agenda
    assert stored["overrides"]["total"] == 1
    assert stored["outcomes"]["tiers"]["A"]["won"] == 1

    services.override_create(
        actor=rep, account=acme, profile=icp, claimed_tier="C", reason="timing"
    )
    DealFactory.create(account=acme, status="lost", closed_at=timezone.now())
    DealFactory.create(account=acme, status="won", closed_at=timezone.now())

    agenda = checkin_agenda(checkin=fresh(held))
    assert not agenda.live
    assert agenda.recorded_when_held
    assert agenda.data == stored
    assert agenda.data["overrides"]["total"] == 1
    tier_a = agenda.data["outcomes"]["tiers"]["A"]
    assert (tier_a["won"], tier_a["lost"]) == (1, 0)
    shown = page(client, manager, held)
    assert f"As recorded when held on {timezone.localtime(held.closed_at):%b} " in shown
    assert "Overrides since the last check-in: 1" in shown


def test_the_next_check_in_counts_from_when_the_last_one_was_held(
    open_checkin: CheckIn, rep: User, ops_manager: User, icp: Profile, acme: Account, tiny: Account
) -> None:
    services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    held = services.checkin_close(
        actor=ops_manager, checkin=open_checkin, outcome="no_change", note="Holding up."
    )
    nxt = services.checkin_open(
        profile=icp, kind=CheckInKind.SCHEDULED, due_on=held.due_on + timedelta(days=90)
    )
    assert nxt is not None
    services.override_create(
        actor=rep, account=acme, profile=icp, claimed_tier="C", reason="timing"
    )
    agenda = checkin_agenda(checkin=nxt)
    assert agenda.since == held.closed_at
    assert agenda.data["overrides"]["by_reason"] == {"Timing or intent": 1}


def test_holding_a_check_in_with_a_refused_outcome_stores_nothing(
    open_checkin: CheckIn, ops_manager: User
) -> None:
    with pytest.raises(Exception, match="Say why"):
        services.checkin_close(actor=ops_manager, checkin=open_checkin, outcome="no_change")
    with pytest.raises(Exception, match="Choose no change"):
        services.checkin_close(actor=ops_manager, checkin=open_checkin, outcome="maybe")
    unchanged = fresh(open_checkin)
    assert (unchanged.agenda, unchanged.agenda_at, unchanged.outcome) == ({}, None, "")


def test_the_agenda_lists_the_queue_s_open_questions(
    icp: Profile, v1: ProfileVersion, live_run: ScoringRun, rep: User, marketer: User,
    marketing: Team, tiny: Account, acme: Account, manager: User,
) -> None:  # fmt: skip
    draft = profile_services.version_start_draft(actor=marketer, profile=icp)
    for body in ("Too narrow?", "Why RevOps?"):
        profile_services.comment_create(actor=marketer, version=draft, team=marketing, body=body)
    services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="timing"
    )
    lost = DealFactory.create(account=acme, status="lost", closed_at=timezone.now())
    DealFactory.create(account=acme, status="lost", closed_at=timezone.now())
    services.review_mark(actor=manager, kind="lost", object_id=lost.pk, occurred_at=lost.closed_at)

    questions = agenda_compute(profile=icp, since=None)["questions"]
    assert questions == {
        "pending_overrides": 1,
        "unreviewed_surprises": 1,  # the other lost deal; one manager marked this one
        "threads": [{"version": 2, "status": "Draft", "count": 2}],
    }


# --- Win rate by tier, counted by hand ---------------------------------------------


def test_the_agendas_win_rate_by_tier_counts_deals_since_approval_as_by_hand(
    icp: Profile, v1: ProfileVersion, ops_manager: User
) -> None:
    now = timezone.now()
    inside, before = now - timedelta(days=20), now - timedelta(days=200)

    def deal(account: Account, status: str, closed: Any, **kw: Any) -> None:
        DealFactory.create(account=account, status=status, closed_at=closed, **kw)

    # Tier A: Acme won a renewal and an expansion and lost an expansion
    # since approval, and won its first deal before it; Arch lost one.
    acme = AccountFactory.create(name="Acme", employees=450)
    deal(acme, "won", before, amount=Decimal("50000"))
    deal(acme, "won", inside, type="renewal", amount=Decimal("10000"))
    deal(acme, "won", inside, type="expansion", amount=Decimal("14000"))
    deal(acme, "lost", inside, type="expansion")
    arch = AccountFactory.create(name="Arch", employees=300)
    deal(arch, "lost", inside)
    # Tier B: Bolt won once and lost twice; Cask has a deal open.
    bolt = AccountFactory.create(name="Bolt", employees=150)
    deal(bolt, "won", inside, amount=Decimal("8000"))
    deal(bolt, "lost", inside)
    deal(bolt, "lost", inside, type="renewal")
    cask = AccountFactory.create(name="Cask", employees=150)
    deal(cask, "open", None)
    # Tier C: Dune won twice. DQ: Kim lost before approval only.
    dune = AccountFactory.create(name="Dune", employees=150, has_revops=False)
    deal(dune, "won", inside)
    deal(dune, "won", inside, type="renewal")
    kim = AccountFactory.create(name="Kim", employees=450, country="KP")
    deal(kim, "lost", before)
    assert run_all(scoring_services.run_create(profile=icp, version=v1, actor=ops_manager))
    age(v1, 100)
    checkin = services.checkin_open(
        profile=icp, kind=CheckInKind.SCHEDULED, due_on=timezone.localdate()
    )
    assert checkin is not None

    tiers = checkin_agenda(checkin=checkin).data["outcomes"]["tiers"]
    by_hand = {
        # (won, lost, win rate): deals, not accounts (Acme alone adds three)
        "A": (2, 2, 0.5),  # Acme 2 of 3, Arch 0 of 1; Acme's win before approval not counted
        "B": (1, 2, 0.3333),  # Bolt 1 of 3; Cask's open deal is not closed
        "C": (2, 0, 1.0),
        "DQ": (0, 0, None),  # Kim's loss came before approval
    }
    assert {t: (r["won"], r["lost"], r["win_rate"]) for t, r in tiers.items()} == by_hand
    assert tiers["A"]["avg_deal"] == "12000.00"


# --- Drift-triggered check-ins say what fired ---------------------------------------


@pytest.fixture
def few_deals(settings: Any) -> None:
    settings.REVIEWS_DRIFT_MIN_DEALS = 4
    settings.REVIEWS_DRIFT_MIN_CHURNED = 2


def closed_deals(won: int, lost: int, employees: int) -> None:
    closed = timezone.now() - timedelta(days=10)
    for status, n in (("won", won), ("lost", lost)):
        for _ in range(n):
            DealFactory.create(account__employees=employees, status=status, closed_at=closed)


@pytest.fixture
def drift_checkin(few_deals: None, icp: Profile, v1: ProfileVersion, ops_manager: User) -> CheckIn:
    closed_deals(won=1, lost=3, employees=450)  # tier A: 25%
    closed_deals(won=3, lost=1, employees=150)  # tier B: 75%
    assert run_all(scoring_services.run_create(profile=icp, version=v1, actor=ops_manager))
    [checkin] = services.checkins_open_for_drift()
    return checkin


def test_a_drift_check_in_stores_the_figures_of_the_moment_it_fired(
    drift_checkin: CheckIn, icp: Profile, v1: ProfileVersion, ops_manager: User
) -> None:
    figures = dict(fresh(drift_checkin).trigger_figures)
    assert figures.pop("measured_at")
    assert figures == {
        "window_days": 90,
        "a_win_rate": 0.25,
        "a_won": 1,
        "a_closed": 4,
        "b_win_rate": 0.75,
        "b_won": 3,
        "b_closed": 4,
        "min_deals": 4,
    }
    closed_deals(won=6, lost=0, employees=450)  # tier A recovers
    assert run_all(scoring_services.run_create(profile=icp, version=v1, actor=ops_manager))
    assert fresh(drift_checkin).trigger_figures["a_win_rate"] == 0.25


def test_the_check_in_page_list_queue_and_my_work_show_what_fired(
    drift_checkin: CheckIn, manager: User, client: Client
) -> None:
    line = (
        "Tier A win rate 25% of 4 closed deals against tier B&#x27;s 75% of 4 over 90 days; "
        "threshold: A at or below B"
    )
    shown = page(client, manager, drift_checkin)
    assert "What opened it" in shown
    assert "<dt>Tier A win rate (deals)</dt><dd>25%: 1 won of 4 closed</dd>" in shown
    assert "<dt>Tier B win rate (deals)</dt><dd>75%: 3 won of 4 closed</dd>" in shown
    assert "with at least 4 closed deals in each tier" in shown
    for url in (reverse("checkin-list"), reverse("review-queue"), reverse("my-work")):
        assert line in client.get(url).content.decode(), url


def test_a_check_in_from_before_figures_were_stored_shows_its_reason(
    icp: Profile, v1: ProfileVersion, live_run: ScoringRun, manager: User, client: Client
) -> None:
    checkin = CheckIn.objects.create(
        profile=icp,
        kind=CheckInKind.OFF_CYCLE,
        due_on=timezone.localdate(),
        trigger="win_rate",
        trigger_reason="Tier A accounts won 20% of 30 closed deals",
    )
    client.force_login(manager)
    listed = client.get(reverse("checkin-list")).content.decode()
    assert "Tier A accounts won 20% of 30 closed deals" in listed
    assert 'data-testid="trigger-figures"' not in page(client, manager, checkin)


# --- Rows from before agendas stayed live ---------------------------------------------


OLD_AGENDA = {
    "since": "2026-01-01T00:00:00+00:00",
    "live_version": 1,
    "overrides": {"total": 7, "by_status": {}, "by_reason": {"Timing or intent": 7},
                  "by_criterion": [], "toward_higher": 0},
    "outcomes": {"tiers": {"A": {"accounts": 3, "won": 2, "lost": 2, "win_rate": 0.5,
                                 "avg_deal": None, "churned": 0, "churn_rate": None}}},
    "coverage": [],
    "tier_movement": {"at_approval": {"A": 3, "B": 1}, "now": {"A": 2, "B": 2},
                      "moved_at_approval": {"A->B": 1}},
    "drift": [{"code": "win_rate", "fired": False, "reason": "Quiet then."}],
}  # fmt: skip


def test_a_check_in_held_before_keeps_the_agenda_of_its_opening_and_an_open_one_goes_live(
    icp: Profile, v1: ProfileVersion, live_run: ScoringRun, manager: User, client: Client
) -> None:
    opened = timezone.now() - timedelta(days=40)
    held = CheckIn.objects.create(
        profile=icp, kind=CheckInKind.SCHEDULED, due_on=timezone.localdate() - timedelta(days=30),
        agenda=OLD_AGENDA, agenda_at=opened, outcome=CheckInOutcome.NO_CHANGE,
        closed_at=timezone.now() - timedelta(days=30), closed_by=manager,
    )  # fmt: skip
    still_open = CheckIn.objects.create(
        profile=icp, kind=CheckInKind.SCHEDULED, due_on=timezone.localdate(),
        agenda=OLD_AGENDA, agenda_at=opened,
    )  # fmt: skip

    old = checkin_agenda(checkin=held)
    assert (old.live, old.recorded_when_held, old.data) == (False, False, OLD_AGENDA)
    shown = page(client, manager, held)
    assert f"As recorded when the check-in opened on {timezone.localtime(opened):%b}" in shown
    assert "Overrides since the last check-in: 7" in shown
    assert "Moved at approval: A-&gt;B 1" in shown

    live = checkin_agenda(checkin=still_open)
    assert live.live
    assert live.since == held.closed_at
    assert live.data["overrides"]["total"] == 0
    assert "Overrides since the last check-in: 0" in page(client, manager, still_open)


def test_the_api_reads_an_open_check_ins_agenda_live_and_a_held_one_as_stored(
    open_checkin: CheckIn, rep: User, ops_manager: User, icp: Profile, tiny: Account,
    acme: Account, client: Client,
) -> None:  # fmt: skip
    client.force_login(ops_manager)
    url = f"/api/v1/reviews/checkins/{open_checkin.pk}/"
    services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="timing"
    )
    body = client.get(url).json()
    assert (body["agenda_live"], body["agenda"]["overrides"]["total"]) == (True, 1)
    # A list leaves an open check-in's agenda out: it reads the whole base.
    [listed] = client.get("/api/v1/reviews/checkins/").json()["results"]
    assert (listed["agenda_live"], listed["agenda"], listed["since"]) == (True, None, None)
    services.checkin_close(
        actor=ops_manager, checkin=open_checkin, outcome="no_change", note="Holding up."
    )
    services.override_create(
        actor=rep, account=acme, profile=icp, claimed_tier="C", reason="timing"
    )
    body = client.get(url).json()
    assert (body["agenda_live"], body["agenda"]["overrides"]["total"]) == (False, 1)
    assert body["agenda_as_of"] == body["closed_at"]
    [listed] = client.get("/api/v1/reviews/checkins/").json()["results"]
    assert listed["agenda"] == body["agenda"]


def test_before_the_first_run_finishes_the_agenda_holds_the_claims_and_questions(
    icp: Profile, v1: ProfileVersion
) -> None:
    agenda = agenda_compute(profile=icp, since=v1.approved_at)
    assert agenda["live_version"] is None
    assert agenda["overrides"]["total"] == 0
    assert agenda["questions"] == {"pending_overrides": 0, "unreviewed_surprises": 0, "threads": []}
    assert "outcomes" not in agenda
