"""The manager's weekly queue: what it holds, marks, new since the last
review, and a constant number of queries however long it gets."""

from datetime import timedelta
from decimal import Decimal
from typing import TypedDict, cast

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_stubs_ext import WithAnnotations

from profiles.models import Profile, ProfileVersion, User
from reviews import services
from reviews.models import ReviewMark
from reviews.selectors import queue_get
from scoring import services as scoring_services
from scoring.models import Account, AccountScore, ScoringRun
from tests.drafting import approved_version
from tests.factories import AccountFactory, MembershipFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db


class Surprise(TypedDict):
    """What the queue annotates a surprising score with."""

    kind: str


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
    AccountFactory.create(name="Lucky", employees=None, has_revops=None, deal_status="won",
                   deal_closed_at=now, deal_amount=Decimal("5000"))  # fmt: skip
    AccountFactory.create(name="Lost A", employees=450, has_revops=True, deal_status="lost",
                   deal_closed_at=now)  # fmt: skip
    AccountFactory.create(name="Gone A", employees=450, has_revops=True, churned_at=now)
    AccountFactory.create(name="Expected", employees=450, has_revops=True, deal_status="won",
                   deal_closed_at=now)  # fmt: skip
    run_all(scoring_services.run_create(profile=icp, version=v1, actor=ops_manager))
    # The queue declares its surprises as plain scores; `kind` is an annotation.
    rows = cast(
        "QuerySet[WithAnnotations[AccountScore, Surprise]]", queue_get(viewer=manager).surprises
    )
    surprises = {(s.account.name, s.kind) for s in rows}
    assert surprises == {("Lucky", "won"), ("Lost A", "lost"), ("Gone A", "churned")}


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
    client: Client, sales: object, manager: User, icp: Profile, live_run: ScoringRun
) -> None:
    reps = [MembershipFactory.create(team=sales).user for _ in range(3)]
    client.force_login(manager)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("review-queue")).status_code == 200
        return len(captured)

    reps_override(1, icp, reps[0])
    few = queries()
    for rep in reps:
        reps_override(20, icp, rep)
    many = queries()
    assert many == few
    page = client.get(reverse("review-queue"))
    assert b"Page 1 of 3" in page.content


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
