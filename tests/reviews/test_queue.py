"""The manager's weekly queue: what it holds, marks, new since the last
review, and a constant number of queries however long it gets."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from profiles.models import Profile, ProfileVersion, User
from reviews import services
from reviews.models import ReviewMark
from reviews.selectors import queue_get
from scoring import services as scoring_services
from scoring.models import Account, ScoringRun
from tests.drafting import approved_version
from tests.factories import AccountFactory, DealFactory, MembershipFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db


def reps_override(n: int, profile: Profile, team_rep: User) -> None:
    for _ in range(n):
        account = AccountFactory.create(employees=150, has_revops=True)
        scoring_services.accounts_score([account.pk])
        services.override_create(
            actor=team_rep, account=account, profile=profile, claimed_tier="A", reason="strategic"
        )


def test_the_queue_holds_pending_overrides_of_the_managers_team_only(
    rep: User,
    manager: User,
    marketer: User,
    icp: Profile,
    tiny: Account,
    acme: Account,
    live_run: ScoringRun,
) -> None:
    services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    services.override_create(
        actor=marketer, account=acme, profile=icp, claimed_tier="B", reason="timing"
    )
    queue = queue_get(viewer=manager)
    assert [o.account.name for o in queue.overrides] == ["Tiny"]
    assert queue.headline == "1 pending override"
    assert list(queue_get(viewer=rep).overrides) == []


def test_surprises_are_outcomes_the_tier_did_not_predict(
    manager: User, icp: Profile, v1: ProfileVersion, ops_manager: User
) -> None:
    now = timezone.now()
    # Lucky is tier C (no employee count, RevOps unknown) and won twice:
    # two surprises. Lost A lost once; Gone A churned; Expected won as tier
    # A should; Lucky's deal from last quarter is too old to surprise.
    lucky = AccountFactory.create(name="Lucky", employees=None, has_revops=None)
    DealFactory.create(account=lucky, external_id="lucky-1", status="won", closed_at=now,
                       amount=Decimal("5000"))  # fmt: skip
    DealFactory.create(account=lucky, external_id="lucky-2", status="won", type="expansion",
                       closed_at=now - timedelta(days=3), amount=Decimal("1500"))  # fmt: skip
    DealFactory.create(account=lucky, status="won", closed_at=now - timedelta(days=90))
    DealFactory.create(account=lucky, status="open")
    lost_a = AccountFactory.create(name="Lost A", employees=450, has_revops=True)
    DealFactory.create(account=lost_a, external_id="lost-a-1", status="lost", closed_at=now)
    AccountFactory.create(name="Gone A", employees=450, has_revops=True, churned_at=now)
    DealFactory.create(account__name="Expected", status="won", closed_at=now)
    run_all(scoring_services.run_create(profile=icp, version=v1, actor=ops_manager))

    surprises = queue_get(viewer=manager).surprises

    assert surprises.count() == 4
    assert sorted((s.account_name, s.kind, s.deal, s.amount, s.tier) for s in surprises[:10]) == [
        ("Gone A", "churned", None, None, "A"),
        ("Lost A", "lost", "lost-a-1", None, "A"),
        ("Lucky", "won", "lucky-1", Decimal("5000.00"), "C"),
        ("Lucky", "won", "lucky-2", Decimal("1500.00"), "C"),
    ]


def test_a_surprising_deal_marked_reviewed_leaves_the_queue_and_the_others_stay(
    manager: User, icp: Profile, v1: ProfileVersion, ops_manager: User
) -> None:
    now = timezone.now()
    lucky = AccountFactory.create(name="Lucky", employees=None, has_revops=None)
    first = DealFactory.create(account=lucky, status="won", closed_at=now)
    DealFactory.create(account=lucky, status="won", closed_at=now - timedelta(days=1))
    AccountFactory.create(name="Gone A", employees=450, has_revops=True, churned_at=now)
    run_all(scoring_services.run_create(profile=icp, version=v1, actor=ops_manager))
    [item] = [s for s in queue_get(viewer=manager).surprises[:10] if s.object_id == first.pk]
    assert (item.kind, item.occurred_at, item.reviewed) == ("won", first.closed_at, False)

    services.review_mark(
        actor=manager, kind=ReviewMark.Kind.WON, object_id=first.pk, occurred_at=first.closed_at
    )

    left = queue_get(viewer=manager).surprises
    assert [(s.account_name, s.kind) for s in left[:10]] == [
        ("Gone A", "churned"),
        ("Lucky", "won"),
    ]
    assert first.pk not in {s.object_id for s in left[:10]}
    shown = queue_get(viewer=manager, include_reviewed=True).surprises
    assert [(s.object_id, s.reviewed) for s in shown[:10] if s.object_id == first.pk] == [
        (first.pk, True)
    ]
    assert queue_get(viewer=manager).headline == "2 surprises"


def test_marked_items_leave_the_queue_and_the_checkpoint_ends_new(
    rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    override = services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    queue = queue_get(viewer=manager)
    assert queue.is_new(override.created_at)
    services.review_mark(actor=manager, kind=ReviewMark.Kind.OVERRIDE, object_id=override.pk)
    services.review_mark(actor=manager, kind=ReviewMark.Kind.OVERRIDE, object_id=override.pk)
    assert ReviewMark.objects.count() == 1
    assert list(queue_get(viewer=manager).overrides) == []
    assert len(queue_get(viewer=manager, include_reviewed=True).overrides) == 1
    services.review_checkpoint_set(actor=manager, at=override.created_at + timedelta(seconds=1))
    assert not queue_get(viewer=manager).is_new(override.created_at)


def test_the_queue_page_costs_the_same_queries_for_3_or_60_items(
    client: Client,
    sales: object,
    manager: User,
    icp: Profile,
    acme: Account,
    live_run: ScoringRun,
) -> None:
    reps = [MembershipFactory.create(team=sales).user for _ in range(3)]
    client.force_login(manager)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("review-queue")).status_code == 200
        return len(captured)

    reps_override(1, icp, reps[0])
    DealFactory.create(account=acme, status="lost")  # a surprise: tier A lost a deal
    few = queries()
    for rep in reps:
        reps_override(20, icp, rep)
    DealFactory.create_batch(60, account=acme, status="lost")
    many = queries()
    assert many == few
    page = client.get(reverse("review-queue")).content.decode()
    assert "Page 1 of 3" in page
    # Acme's 61 lost deals are one entry, to be marked reviewed together.
    assert page.count('data-testid="surprise-acme"') == 1
    assert "Mark all 61 reviewed" in page


def test_the_largest_tier_moves_of_the_last_rescoring_are_worked_out_once_per_run(
    manager: User,
    icp: Profile,
    v1: ProfileVersion,
    acme: Account,
    tiny: Account,
    live_run: ScoringRun,
    ops_manager: User,
) -> None:
    assert queue_get(viewer=manager).moves == []  # one run: nothing to compare with
    small = AccountFactory.create(name="Small", employees=120, has_revops=None)  # C 0 under v1
    scoring_services.accounts_score([small.pk])
    ProfileVersion.objects.filter(pk=v1.pk).update(status="superseded")
    v2 = approved_version(icp, 2, [100, 2000])
    run = run_all(scoring_services.run_create(profile=icp, version=v2, actor=ops_manager))
    assert run is not None
    # v2 takes 100-2,000 employees: Tiny (150, RevOps) goes B 40 -> A 100,
    # Small (120, RevOps unknown) C 0 -> B 60; Acme stays A. Both moved 60
    # points, so by name.
    expected = [("Small", "C", "B", 0, 60), ("Tiny", "B", "A", 40, 100)]
    moves = queue_get(viewer=manager).moves
    assert [(m.name, m.old_tier, m.new_tier, m.old_score, m.new_score) for m in moves] == expected
    with CaptureQueriesContext(connection) as again:
        moves = queue_get(viewer=manager).moves
    assert [m.name for m in moves] == ["Small", "Tiny"]
    assert not [q for q in again.captured_queries if "ABS(" in q["sql"]]
