"""Overrides: logging, the permission matrix, accepting into the effective tier."""

from typing import Any, TypedDict, cast

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django_stubs_ext import WithAnnotations

from profiles.models import Membership, Profile, Team, User
from reviews import services
from reviews.models import Override, OverrideStatus
from reviews.selectors import queue_get
from scoring.models import Account, ScoringRun, TierOverride
from scoring.selectors import account_list
from tests.factories import MembershipFactory
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db


class Tiers(TypedDict):
    """What account_list annotates each account with, besides its fields."""

    tier: str | None
    effective_tier: str | None


def log(rep: User, account: Account, profile: Profile, **kw: str) -> Override:
    return services.override_create(
        actor=rep,
        account=account,
        profile=profile,
        claimed_tier=kw.get("claimed_tier", "A"),
        reason=kw.get("reason", "too_strict"),
        note=kw.get("note", "150 people and buying"),
    )


def test_a_rep_logs_an_override_with_the_machine_score_beside_it(
    rep: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    override = log(rep, tiny, icp)
    assert (override.machine_score, override.machine_tier) == (40, "B")
    assert (override.claimed_tier, override.status) == ("A", OverrideStatus.PENDING)
    assert override.team.slug == "sales"
    assert override.version == live_run.version


def test_it_refuses_a_second_open_override_on_the_same_account(
    rep: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    log(rep, tiny, icp)
    with pytest.raises(ValidationError, match="already has an open override"):
        log(rep, tiny, icp, claimed_tier="C")
    assert Override.objects.count() == 1


def test_the_database_allows_one_open_override_per_account_and_rep(
    rep: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    first = log(rep, tiny, icp)
    first.pk = None
    with pytest.raises(IntegrityError):
        first.save()


def test_it_names_the_field_on_bad_input(
    rep: User, icp: Profile, tiny: Account, acme: Account, live_run: ScoringRun
) -> None:
    with pytest.raises(ValidationError) as bad:
        log(rep, tiny, icp, claimed_tier="Z", reason="vibes")
    assert set(bad.value.message_dict) == {"claimed_tier", "reason"}
    with pytest.raises(ValidationError, match="already puts Acme in tier A"):
        log(rep, acme, icp, claimed_tier="A")
    with pytest.raises(ValidationError) as other:
        log(rep, tiny, icp, reason="other", note=" ")
    assert "note" in other.value.message_dict
    assert not Override.objects.exists()


def test_it_refuses_people_in_no_team(
    outsider: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    with pytest.raises(PermissionDenied):
        log(outsider, tiny, icp)
    assert not Override.objects.exists()


def test_a_manager_of_the_reps_team_accepts_and_sets_the_effective_tier(
    rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    override = log(rep, tiny, icp)
    services.override_accept(actor=manager, override=override, note="Agreed")
    override.refresh_from_db()
    assert (override.status, override.reviewed_by) == (OverrideStatus.ACCEPTED, manager)
    # account_list is declared as plain accounts; the tiers are its annotations.
    rows = cast("QuerySet[WithAnnotations[Account, Tiers]]", account_list(run=live_run))
    row = rows.get(pk=tiny.pk)
    assert (row.tier, row.effective_tier) == ("B", "A")
    assert TierOverride.objects.get(account=tiny).source == f"override:{override.pk}"


def test_not_a_fit_sets_dq_when_accepted(
    rep: User, manager: User, icp: Profile, acme: Account, live_run: ScoringRun
) -> None:
    override = log(rep, acme, icp, claimed_tier="not_a_fit", reason="data_wrong")
    services.override_accept(actor=manager, override=override)
    assert TierOverride.objects.get(account=acme).tier == "DQ"


@pytest.mark.parametrize("who", ["rep", "marketer", "ops_manager", "outsider"])
def test_only_managers_of_the_reps_team_review_and_denials_change_nothing(
    who: str,
    request: pytest.FixtureRequest,
    rep: User,
    icp: Profile,
    tiny: Account,
    live_run: ScoringRun,
) -> None:
    actor = request.getfixturevalue(who)
    override = log(rep, tiny, icp)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        services.override_accept(actor=actor, override=override)
    with pytest.raises(PermissionDenied):
        services.override_reject(actor=actor, override=override, note="No")
    assert snapshot() == before
    assert not TierOverride.objects.exists()


def test_a_profile_admin_reviews_too(
    rep: User, ops_manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    icp.admins.add(ops_manager)
    override = log(rep, tiny, icp)
    services.override_reject(actor=ops_manager, override=override, note="150 is too small")
    override.refresh_from_db()
    assert override.status == OverrideStatus.REJECTED


def test_a_manager_cannot_review_their_own_override(
    manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    override = log(manager, tiny, icp)
    with pytest.raises(PermissionDenied, match="another manager"):
        services.override_accept(actor=manager, override=override)
    assert Override.objects.get().status == OverrideStatus.PENDING


def test_it_rejects_only_with_a_note_and_decides_once(
    rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    override = log(rep, tiny, icp)
    with pytest.raises(ValidationError):
        services.override_reject(actor=manager, override=override, note="")
    services.override_reject(actor=manager, override=override, note="Too small")
    before = snapshot()
    with pytest.raises(ValidationError, match="already rejected"):
        services.override_accept(actor=manager, override=override)
    assert snapshot() == before
    assert not TierOverride.objects.exists()


def test_a_manager_logs_in_a_reps_name_but_a_peer_cannot(
    rep: User, manager: User, marketer: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    override = services.override_create(
        actor=manager, rep=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    assert override.rep == rep
    with pytest.raises(PermissionDenied):
        services.override_create(
            actor=marketer, rep=rep, account=tiny, profile=icp, claimed_tier="C", reason="timing"
        )
    assert Override.objects.count() == 1


def test_accepting_queues_the_override_accepted_webhook_and_a_denial_queues_none(
    rep: User,
    manager: User,
    marketer: User,
    icp: Profile,
    tiny: Account,
    live_run: ScoringRun,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from scoring.models import WebhookDelivery
    from scoring.webhooks import webhook_subscription_create

    webhook_subscription_create(
        actor=None, url="https://crm.example.com/hook", events=["override.accepted"]
    )
    override = log(rep, tiny, icp)
    with pytest.raises(PermissionDenied):
        services.override_accept(actor=marketer, override=override)
    assert not WebhookDelivery.objects.exists()
    with django_capture_on_commit_callbacks() as callbacks:
        services.override_accept(actor=manager, override=override)
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.payload["data"]["account"] == "tiny"
    assert delivery.payload["data"]["tier"] == "A"
    assert len(callbacks) == 2  # the webhook's delivery, and the email that tells the rep


# --- Four eyes: who logged a claim, whose it is, and who decides it ----------------


def log_for(actor: User, rep: User, account: Account, profile: Profile) -> Override:
    return services.override_create(
        actor=actor, rep=rep, account=account, profile=profile, claimed_tier="A", reason="strategic"
    )


@pytest.fixture
def second_manager(sales: Team) -> User:
    return MembershipFactory.create(
        user__username="manager2", team=sales, role=Membership.Role.MANAGER
    ).user


def test_an_override_records_who_logged_it_beside_whose_it_is(
    rep: User, manager: User, icp: Profile, tiny: Account, acme: Account, live_run: ScoringRun
) -> None:
    for_rep = log_for(manager, rep, tiny, icp)
    assert (for_rep.rep, for_rep.logged_by) == (rep, manager)
    own = log(rep, acme, icp, claimed_tier="C")
    assert (own.rep, own.logged_by) == (rep, rep)


def test_a_manager_who_logs_in_a_reps_name_cannot_decide_it_but_another_manager_can(
    rep: User,
    manager: User,
    second_manager: User,
    icp: Profile,
    tiny: Account,
    live_run: ScoringRun,
) -> None:
    override = log_for(manager, rep, tiny, icp)
    before = snapshot()
    with pytest.raises(PermissionDenied, match="You logged this claim, so another manager"):
        services.override_accept(actor=manager, override=override)
    with pytest.raises(PermissionDenied, match="You logged this claim, so another manager"):
        services.override_reject(actor=manager, override=override, note="No")
    assert snapshot() == before
    assert not TierOverride.objects.exists()
    services.override_accept(actor=second_manager, override=override)
    override.refresh_from_db()
    assert (override.status, override.reviewed_by) == (OverrideStatus.ACCEPTED, second_manager)


def test_a_profile_admin_who_logged_a_claim_in_a_reps_name_cannot_decide_it(
    rep: User, manager: User, ops_manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    icp.admins.add(ops_manager)
    ops_manager.user_permissions.add(Permission.objects.get(codename="add_override"))
    ops_manager = User.objects.get(pk=ops_manager.pk)
    override = log_for(ops_manager, rep, tiny, icp)
    assert override.logged_by == ops_manager
    before = snapshot()
    with pytest.raises(PermissionDenied, match="You logged this claim"):
        services.override_accept(actor=ops_manager, override=override)
    assert snapshot() == before
    assert not TierOverride.objects.exists()
    services.override_accept(actor=manager, override=override)
    assert Override.objects.get().status == OverrideStatus.ACCEPTED


def test_the_rep_cannot_decide_a_claim_logged_in_their_name(
    rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    sales = rep.teams.get()
    Membership.objects.filter(user=rep, team=sales).update(role=Membership.Role.MANAGER)
    rep = User.objects.get(pk=rep.pk)
    override = log_for(manager, rep, tiny, icp)
    before = snapshot()
    with pytest.raises(PermissionDenied, match="in your name, so another manager"):
        services.override_accept(actor=rep, override=override)
    assert snapshot() == before


def test_a_rep_cannot_log_in_another_reps_name(
    rep: User, sales: Team, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    peer = MembershipFactory.create(user__username="peer", team=sales).user
    with pytest.raises(PermissionDenied, match="their managers"):
        log_for(peer, rep, tiny, icp)
    assert not Override.objects.exists()


def test_a_manager_of_another_team_cannot_log_in_a_reps_name(
    rep: User, marketing: Team, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    other = MembershipFactory.create(
        user__username="mkt-manager", team=marketing, role=Membership.Role.MANAGER
    ).user
    with pytest.raises(PermissionDenied, match="their managers"):
        log_for(other, rep, tiny, icp)
    assert not Override.objects.exists()


def test_a_team_admin_logs_in_a_reps_name_like_a_manager(
    rep: User, sales: Team, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    admin = MembershipFactory.create(
        user__username="lead", team=sales, role=Membership.Role.ADMIN
    ).user
    assert log_for(admin, rep, tiny, icp).logged_by == admin


def test_a_manager_files_a_claim_under_the_team_they_share_with_the_rep(
    rep: User, manager: User, marketing: Team, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    # Marketing comes first by name, but the manager who logs it manages
    # Sales, so Sales's managers decide it.
    MembershipFactory.create(user=rep, team=marketing)
    assert log_for(manager, rep, tiny, icp).team.slug == "sales"


def test_an_override_names_both_people_only_when_they_differ(
    rep: User, manager: User, icp: Profile, tiny: Account, acme: Account, live_run: ScoringRun
) -> None:
    for_rep = log_for(manager, rep, tiny, icp)
    assert for_rep.attribution == f"logged by {manager} for {rep}"
    own = log(rep, acme, icp, claimed_tier="C")
    assert own.attribution == str(rep)


def test_the_queue_leaves_out_claims_the_viewer_logged(
    rep: User,
    manager: User,
    second_manager: User,
    icp: Profile,
    tiny: Account,
    live_run: ScoringRun,
) -> None:
    log_for(manager, rep, tiny, icp)
    assert list(queue_get(viewer=manager).overrides) == []
    assert [o.account.name for o in queue_get(viewer=second_manager).overrides] == ["Tiny"]


def test_the_database_refuses_a_decision_by_whoever_logged_the_claim(
    rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    override = log_for(manager, rep, tiny, icp)
    with pytest.raises(IntegrityError):
        Override.objects.filter(pk=override.pk).update(
            status=OverrideStatus.ACCEPTED, reviewed_by=manager, reviewed_at=timezone.now()
        )


def test_the_admin_refuses_a_decision_by_whoever_logged_the_claim(
    client: Any, rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    User.objects.filter(pk=manager.pk).update(is_staff=True, is_superuser=True)
    override = log_for(manager, rep, tiny, icp)
    client.force_login(manager)
    changelist = reverse("admin:reviews_override_changelist")
    page = client.get(changelist).content.decode()
    assert f"logged by {manager} for {rep}" in page.replace("&#x27;", "'")
    response = client.post(
        changelist, {"action": "accept", "_selected_action": [override.pk]}, follow=True
    )
    assert "You logged this claim, so another manager decides it." in response.content.decode()
    assert Override.objects.get().status == OverrideStatus.PENDING
    assert not TierOverride.objects.exists()
