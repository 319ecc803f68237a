"""Drafting, editing with revisions, submitting, withdrawing and approving."""

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from profiles import services
from profiles.models import Criterion, Profile, ProfileVersion, User, VersionEvent, VersionStatus
from profiles.services import StaleRevisionError
from profiles.signals import version_approved
from tests.drafting import FIT_100, fill, sign_all
from tests.factories import CriterionFactory


def test_the_first_draft_starts_empty_with_default_thresholds(icp: Profile, rep: User) -> None:
    draft = services.version_start_draft(actor=rep, profile=icp)
    assert (draft.number, draft.status, draft.parent) == (1, "draft", None)
    assert (draft.threshold_a, draft.threshold_b, draft.revision) == (70, 40, 1)
    assert draft.criteria.count() == 0
    assert draft.events.get().verb == VersionEvent.Verb.CREATED


def test_a_new_draft_copies_the_live_version_and_keeps_lineage(
    approved: ProfileVersion, rep: User
) -> None:
    v2 = services.version_start_draft(actor=rep, profile=approved.profile)
    assert (v2.number, v2.parent_id) == (2, approved.pk)
    old = sorted(approved.criteria.values_list("lineage", "attribute", "points"))
    assert sorted(v2.criteria.values_list("lineage", "attribute", "points")) == old


def test_a_profile_has_one_open_version_at_a_time(draft: ProfileVersion, rep: User) -> None:
    with pytest.raises(PermissionDenied, match="v1 is already open"):
        services.version_start_draft(actor=rep, profile=draft.profile)
    assert ProfileVersion.objects.count() == 1


def test_the_database_refuses_a_second_open_version(draft: ProfileVersion, rep: User) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ProfileVersion.objects.create(profile=draft.profile, number=2, created_by=rep)


def test_someone_in_no_team_cannot_start_a_draft(icp: Profile, outsider: User) -> None:
    with pytest.raises(PermissionDenied, match="in no team"):
        services.version_start_draft(actor=outsider, profile=icp)
    assert not ProfileVersion.objects.exists()


def test_each_edit_takes_the_next_revision_and_is_logged(draft: ProfileVersion) -> None:
    assert draft.revision == 1 + len(FIT_100)
    verbs = list(draft.events.values_list("verb", flat=True))
    assert verbs.count(VersionEvent.Verb.CRITERION_ADDED) == len(FIT_100)


def test_an_edit_based_on_a_stale_revision_is_refused_and_says_who_changed_what(
    draft: ProfileVersion, rep: User, marketer: User
) -> None:
    seen = draft.revision
    criterion = draft.criteria.get(attribute="employees")
    services.criterion_update(
        actor=marketer,
        criterion=criterion,
        revision=seen,
        attribute="employees",
        operator="between",
        value=[150, 2000],
        points=30,
        kind="fit",
    )
    with pytest.raises(StaleRevisionError) as caught:
        services.criterion_update(
            actor=rep,
            criterion=criterion,
            revision=seen,
            attribute="employees",
            operator="between",
            value=[500, 5000],
            points=30,
            kind="fit",
        )
    assert caught.value.current_revision == seen + 1
    message = caught.value.messages[0]
    assert f"you had revision {seen}, it is now {seen + 1}" in message
    assert marketer.get_full_name() in message
    assert "Employees is between 150 and 2,000" in message
    criterion.refresh_from_db()
    assert criterion.value == [150, 2000]


def test_a_bad_value_names_the_field_and_changes_nothing(draft: ProfileVersion, rep: User) -> None:
    revision = draft.revision
    with pytest.raises(ValidationError) as caught:
        services.criterion_add(
            actor=rep,
            version=draft,
            revision=revision,
            attribute="employees",
            operator="between",
            value=[5000, 10],
            points=10,
        )
    assert "value" in caught.value.message_dict
    draft.refresh_from_db()
    assert draft.revision == revision
    assert draft.criteria.count() == len(FIT_100)


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"attribute": "shoe_size"}, "attribute", "Unknown attribute 'shoe_size'"),
        ({"operator": "contains_any"}, "operator", "Employees takes one of"),
        ({"points": 101}, "points", "from 0 to 100"),
        ({"points": "ten"}, "points", "whole number"),
        ({"kind": "maybe"}, "kind", "fit or disqualifier"),
        ({"category": "astrological"}, "category", "Choose one of"),
    ],
)
def test_each_bad_criterion_field_is_named(
    draft: ProfileVersion, rep: User, fields: dict[str, object], field: str, text: str
) -> None:
    data: dict[str, Any] = {
        "attribute": "employees",
        "operator": "gte",
        "value": 10,
        "points": 5,
        **fields,
    }
    with pytest.raises(ValidationError) as caught:
        services.criterion_add(actor=rep, version=draft, revision=draft.revision, **data)
    assert text in " ".join(caught.value.message_dict[field])


def test_a_disqualifier_carries_no_points(draft: ProfileVersion, rep: User) -> None:
    criterion = services.criterion_add(
        actor=rep,
        version=draft,
        revision=draft.revision,
        attribute="industry",
        operator="in",
        value=["B2C retail"],
        points=40,
        kind="disqualifier",
    )
    assert criterion.points == 0


def test_thresholds_must_be_ordered(draft: ProfileVersion, rep: User) -> None:
    with pytest.raises(ValidationError) as caught:
        services.version_update(
            actor=rep,
            version=draft,
            revision=draft.revision,
            rationale="",
            threshold_a=40,
            threshold_b=60,
        )
    assert caught.value.message_dict["threshold_b"] == ["Tier B must start below tier A (40)."]


def test_an_approved_version_cannot_change(approved: ProfileVersion, rep: User) -> None:
    criterion = approved.criteria.first()
    assert criterion is not None
    with pytest.raises(StaleRevisionError, match="v1 is approved and can no longer change"):
        services.criterion_remove(actor=rep, criterion=criterion, revision=approved.revision)
    assert approved.criteria.count() == len(FIT_100)


def test_approval_supersedes_the_previous_version_and_fires_the_hook_once(
    approved: ProfileVersion, rep: User, marketer: User, ops_manager: User
) -> None:
    v2 = services.version_start_draft(actor=marketer, profile=approved.profile)
    services.version_submit(actor=marketer, version=v2)
    sign_all(v2, rep, marketer, ops_manager)
    calls: list[dict[str, object]] = []

    def receiver(**kwargs: object) -> None:
        calls.append(kwargs)

    version_approved.connect(receiver)
    try:
        services.version_approve(actor=ops_manager, version=v2)
    finally:
        version_approved.disconnect(receiver)
    approved.refresh_from_db()
    v2.refresh_from_db()
    assert (approved.status, v2.status) == ("superseded", "approved")
    assert approved.superseded_at == v2.approved_at
    assert len(calls) == 1
    assert (calls[0]["version"], calls[0]["previous"], calls[0]["actor"]) == (
        v2,
        approved,
        ops_manager,
    )


def test_a_rep_cannot_approve_and_nothing_changes(
    in_review: ProfileVersion, rep: User, marketer: User, ops_manager: User
) -> None:
    sign_all(in_review, rep, marketer, ops_manager)
    with pytest.raises(PermissionDenied, match="Only this profile's admins"):
        services.version_approve(actor=rep, version=in_review)
    in_review.refresh_from_db()
    assert (in_review.status, in_review.approved_by) == ("in_review", None)


def test_approval_needs_fit_points_of_exactly_100(
    in_review: ProfileVersion, rep: User, marketer: User, ops_manager: User
) -> None:
    criterion = in_review.criteria.get(attribute="has_revops")
    services.criterion_update(
        actor=rep,
        criterion=criterion,
        revision=in_review.revision,
        attribute="has_revops",
        operator="is_true",
        value=None,
        points=5,
        kind="fit",
    )
    in_review.refresh_from_db()
    sign_all(in_review, rep, marketer, ops_manager)
    with pytest.raises(ValidationError) as caught:
        services.version_approve(actor=ops_manager, version=in_review)
    assert caught.value.messages == ["Fit points add up to 95; they must add up to exactly 100."]


def test_an_edit_after_sign_off_makes_it_stale_until_signed_again(
    in_review: ProfileVersion, rep: User, marketer: User, ops_manager: User
) -> None:
    sign_all(in_review, rep, marketer, ops_manager)
    signed_on = in_review.revision
    criterion = in_review.criteria.get(attribute="employees")
    services.criterion_update(
        actor=marketer,
        criterion=criterion,
        revision=in_review.revision,
        attribute="employees",
        operator="between",
        value=[150, 2000],
        points=30,
        kind="fit",
    )
    in_review.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        services.version_approve(actor=ops_manager, version=in_review)
    assert len(caught.value.messages) == 3
    assert caught.value.messages[0].startswith(f"Marketing signed off on revision {signed_on};")
    sign_all(in_review, rep, marketer, ops_manager)
    assert services.version_approve(actor=ops_manager, version=in_review).status == "approved"


def test_withdrawing_is_for_the_author_and_approvers(
    draft: ProfileVersion, rep: User, ops_manager: User
) -> None:
    with pytest.raises(PermissionDenied, match="Only the author"):
        services.version_withdraw(actor=rep, version=draft)
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert services.version_withdraw(actor=ops_manager, version=draft).status == "withdrawn"


def test_a_withdrawn_version_frees_the_profile_for_a_new_draft(
    draft: ProfileVersion, marketer: User
) -> None:
    services.version_withdraw(actor=marketer, version=draft)
    assert services.version_start_draft(actor=marketer, profile=draft.profile).number == 2


def test_criteria_factory_respects_the_disqualifier_constraint(draft: ProfileVersion) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        CriterionFactory.create(version=draft, kind="disqualifier", points=10)
    assert Criterion.objects.filter(version=draft).count() == len(FIT_100)


def test_saving_the_settings_unchanged_keeps_every_sign_off_fresh(
    in_review: ProfileVersion, rep: User, marketer: User, ops_manager: User
) -> None:
    sign_all(in_review, rep, marketer, ops_manager)
    in_review.refresh_from_db()
    saved = services.version_update(
        actor=rep,
        version=in_review,
        revision=in_review.revision,
        rationale=in_review.rationale,
        threshold_a=in_review.threshold_a,
        threshold_b=in_review.threshold_b,
    )
    assert saved.revision == in_review.revision
    assert in_review.events.filter(verb=VersionEvent.Verb.EDITED).count() == 0
    assert services.version_approve(actor=ops_manager, version=saved).status == "approved"


def test_a_draft_whose_points_do_not_add_up_cannot_be_submitted(
    icp: Profile, marketer: User
) -> None:
    draft = fill(
        services.version_start_draft(actor=marketer, profile=icp),
        marketer,
        [("employees", "between", [200, 2000], 30), ("has_revops", "is_true", None, 30)],
    )
    with pytest.raises(ValidationError) as refused:
        services.version_submit(actor=marketer, version=draft)
    assert refused.value.messages == ["Fit points add up to 60; they must add up to exactly 100."]
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_the_page_and_the_api_say_why_a_draft_cannot_be_submitted(
    client: Client, icp: Profile, marketer: User
) -> None:
    draft = fill(
        services.version_start_draft(actor=marketer, profile=icp),
        marketer,
        [("employees", "between", [200, 2000], 60)],
    )
    client.force_login(marketer)
    page = client.post(f"/profiles/{icp.slug}/v{draft.number}/submit/", follow=True)
    assert "cannot be submitted yet: Fit points add up to 60" in page.content.decode()
    answer = client.post(f"/api/v1/profiles/{icp.slug}/versions/{draft.number}/submit/")
    assert answer.status_code == 400
    assert "Fit points add up to 60; they must add up to exactly 100." in str(answer.json())
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT
