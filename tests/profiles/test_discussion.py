"""Comments and sign-offs: each team speaks only for itself."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from profiles import services
from profiles.models import Comment, Profile, ProfileVersion, SignOff, Team, User
from profiles.selectors import signoff_states
from profiles.services import StaleRevisionError
from tests.drafting import FIT_100, fill


@pytest.fixture
def in_review(icp: Profile, marketer: User) -> ProfileVersion:
    draft = fill(services.version_start_draft(actor=marketer, profile=icp), marketer)
    return services.version_submit(actor=marketer, version=draft)


def test_a_member_comments_as_their_team_on_a_criterion(
    in_review: ProfileVersion, rep: User, sales: Team
) -> None:
    criterion = in_review.criteria.get(attribute="employees")
    comment = services.comment_create(
        actor=rep, version=in_review, team=sales, body="We win at 150 too.", criterion=criterion
    )
    assert (comment.team, comment.criterion, comment.resolved) == (sales, criterion, False)
    assert comment.criterion_label == "Employees is between 200 and 2,000"


def test_a_marketer_cannot_comment_as_sales(
    in_review: ProfileVersion, marketer: User, sales: Team
) -> None:
    with pytest.raises(PermissionDenied, match="not a member of Sales"):
        services.comment_create(actor=marketer, version=in_review, team=sales, body="hi")
    assert not Comment.objects.exists()


def test_an_empty_comment_is_refused(in_review: ProfileVersion, rep: User, sales: Team) -> None:
    with pytest.raises(ValidationError) as caught:
        services.comment_create(actor=rep, version=in_review, team=sales, body="   ")
    assert caught.value.message_dict == {"body": ["Write something to comment."]}


def test_replies_join_the_root_thread_and_inherit_its_criterion(
    in_review: ProfileVersion, rep: User, marketer: User, sales: Team, marketing: Team
) -> None:
    criterion = in_review.criteria.get(attribute="crm")
    root = services.comment_create(
        actor=rep, version=in_review, team=sales, body="Pipedrive?", criterion=criterion
    )
    reply = services.comment_create(
        actor=marketer, version=in_review, team=marketing, body="No.", parent=root
    )
    again = services.comment_create(
        actor=rep, version=in_review, team=sales, body="OK.", parent=reply
    )
    assert (reply.parent, again.parent) == (root, root)
    assert again.criterion == criterion


def test_a_thread_is_resolved_by_its_team_or_an_approver(
    in_review: ProfileVersion, rep: User, marketer: User, ops_manager: User, sales: Team
) -> None:
    root = services.comment_create(actor=rep, version=in_review, team=sales, body="Too strict")
    with pytest.raises(PermissionDenied):
        services.comment_resolve(actor=marketer, comment=root)
    root.refresh_from_db()
    assert root.resolved is False
    resolved = services.comment_resolve(actor=ops_manager, comment=root)
    assert (resolved.resolved, resolved.resolved_by) == (True, ops_manager)


def test_a_marketer_cannot_sign_for_sales(
    in_review: ProfileVersion, marketer: User, sales: Team
) -> None:
    with pytest.raises(PermissionDenied, match="not a member of Sales"):
        services.signoff_give(actor=marketer, version=in_review, team=sales, decision="approve")
    assert not SignOff.objects.exists()


def test_sign_off_waits_for_submission(icp: Profile, rep: User, sales: Team) -> None:
    draft = services.version_start_draft(actor=rep, profile=icp)
    with pytest.raises(StaleRevisionError, match="Sign-off opens when v1 is submitted"):
        services.signoff_give(actor=rep, version=draft, team=sales, decision="approve")


def test_a_team_the_profile_does_not_require_cannot_sign(
    in_review: ProfileVersion, rep: User, sales: Team
) -> None:
    in_review.profile.required_teams.remove(sales)
    with pytest.raises(PermissionDenied, match="does not ask Sales"):
        services.signoff_give(actor=rep, version=in_review, team=sales, decision="approve")


def test_requesting_changes_needs_a_note_and_sends_the_version_back_to_draft(
    in_review: ProfileVersion, rep: User, sales: Team
) -> None:
    with pytest.raises(ValidationError) as caught:
        services.signoff_give(actor=rep, version=in_review, team=sales, decision="request_changes")
    assert caught.value.message_dict == {"note": ["Say what should change."]}
    services.signoff_give(
        actor=rep, version=in_review, team=sales, decision="request_changes", note="Lower to 150"
    )
    in_review.refresh_from_db()
    assert in_review.status == "draft"
    [sales_state] = [s for s in signoff_states(version=in_review) if s.team == sales]
    assert sales_state.state == "changes_requested"


def test_a_new_decision_replaces_the_teams_earlier_one(
    in_review: ProfileVersion, rep: User, manager: User, sales: Team
) -> None:
    services.signoff_give(actor=rep, version=in_review, team=sales, decision="approve")
    services.signoff_give(
        actor=manager, version=in_review, team=sales, decision="approve", note="ok"
    )
    signoff = SignOff.objects.get()
    assert (signoff.user, signoff.note) == (manager, "ok")


def test_signing_a_revision_that_has_changed_is_refused(
    in_review: ProfileVersion, rep: User, marketer: User, sales: Team
) -> None:
    seen = in_review.revision
    criterion = in_review.criteria.get(attribute="has_revops")
    services.criterion_update(
        actor=marketer,
        criterion=criterion,
        revision=seen,
        attribute="has_revops",
        operator="is_true",
        value=None,
        points=10,
        kind="fit",
        rationale="RevOps owns the CRM",
    )
    with pytest.raises(ValidationError, match="changed after you loaded it"):
        services.signoff_give(
            actor=rep, version=in_review, team=sales, decision="approve", revision=seen
        )
    assert not SignOff.objects.exists()


def test_states_show_missing_approved_and_stale(
    in_review: ProfileVersion, rep: User, marketer: User, sales: Team, marketing: Team
) -> None:
    services.signoff_give(actor=rep, version=in_review, team=sales, decision="approve")
    services.signoff_give(actor=marketer, version=in_review, team=marketing, decision="approve")
    services.version_update(
        actor=marketer,
        version=in_review,
        revision=in_review.revision,
        rationale="why",
        threshold_a=75,
        threshold_b=40,
    )
    services.signoff_give(actor=rep, version=in_review, team=sales, decision="approve")
    states = {s.team.slug: s.state for s in signoff_states(version=in_review)}
    assert states == {"sales": "approved", "marketing": "stale", "revops": "missing"}
    assert len(FIT_100) == 5
