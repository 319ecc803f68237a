"""Adopting suggestions: the edits land in a draft through the criterion
services, with their evidence in the criteria's threads (tests/suggesting.py
says what the engine answers)."""

import time
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from profiles import services
from profiles.models import Comment, ProfileVersion, Team, User, VersionEvent
from profiles.selectors import signoff_states
from reviews.suggestions import suggest
from reviews.suggestions.adopt import suggestions_adopt
from reviews.suggestions.model import Suggestions
from reviews.suggestions.window import Window
from tests.drafting import sign_for
from tests.profiles.test_version_races import Attempt
from tests.suggesting import refit, usual_suggestions

Verb = VersionEvent.Verb


def criteria_of(version: ProfileVersion) -> list[tuple[Any, ...]]:
    return sorted(
        (str(c.lineage), c.attribute, c.operator, repr(c.value), c.points, c.kind)
        for c in version.criteria.all()
    )


def nothing_changed(version: ProfileVersion, before: list[tuple[Any, ...]], revision: int) -> None:
    version.refresh_from_db()
    assert criteria_of(version) == before
    assert version.revision == revision
    assert ProfileVersion.objects.filter(profile=version.profile).count() == 1
    assert not Comment.objects.exists()


def test_adopting_two_suggestions_for_the_live_version_starts_a_draft_with_their_changes(
    approved: ProfileVersion, marketer: User, marketing: Team, engine: list[ProfileVersion]
) -> None:
    live_before = criteria_of(approved)
    draft = suggestions_adopt(
        actor=marketer, version=approved, keys=["industry-fintech", "country-de"], team=marketing
    )
    assert (draft.number, draft.status, draft.parent_id) == (2, "draft", approved.pk)
    assert engine == [approved]
    assert "Industry: add Fintech" in draft.rationale
    assert "Add Country is one of DE (10 points)" in draft.rationale
    industry = draft.criteria.get(attribute="industry")
    assert industry.value == ["SaaS", "Software", "Fintech"]
    assert industry.lineage == approved.criteria.get(attribute="industry").lineage
    country = draft.criteria.get(attribute="country")
    assert (country.operator, country.value, country.points) == ("in", ["DE"], 10)
    assert country.rationale == "German accounts won 70% of 40 closed deals."
    assert draft.criteria.count() == 6
    # The live version is as it was.
    approved.refresh_from_db()
    assert approved.status == "approved"
    assert criteria_of(approved) == live_before


def test_each_change_claims_one_revision_and_is_logged(
    approved: ProfileVersion, marketer: User, marketing: Team, engine: list[ProfileVersion]
) -> None:
    draft = suggestions_adopt(
        actor=marketer, version=approved, keys=["industry-fintech", "country-de"], team=marketing
    )
    started = draft.events.get(verb=Verb.CREATED).revision
    edits = list(draft.events.exclude(verb__in=[Verb.CREATED, Verb.COMMENTED]).order_by("revision"))
    # Industry's value, the new criterion, and the other fit criteria
    # scaled to make room for its 10 points.
    assert [e.revision for e in edits] == list(range(started + 1, draft.revision + 1))
    assert {e.actor for e in edits} == {marketer}
    verbs = [e.verb for e in edits]
    assert verbs.count(Verb.CRITERION_ADDED) == 1
    assert verbs.count(Verb.CRITERION_CHANGED) == len(edits) - 1 >= 2
    assert sum(draft.criteria.filter(kind="fit").values_list("points", flat=True)) == 100
    assert draft.criteria.get(attribute="country").points == 10


def test_each_adopted_suggestion_posts_its_evidence_in_its_criterions_thread(
    approved: ProfileVersion, marketer: User, marketing: Team, engine: list[ProfileVersion]
) -> None:
    draft = suggestions_adopt(
        actor=marketer, version=approved, keys=["industry-fintech", "country-de"], team=marketing
    )
    comments = {
        c.criterion_label.split()[0].lower(): c for c in Comment.objects.filter(version=draft)
    }
    assert set(comments) == {"industry", "country"}
    assert {(c.author, c.team) for c in comments.values()} == {(marketer, marketing)}
    assert comments["industry"].criterion == draft.criteria.get(attribute="industry")
    fintech = comments["industry"].body
    assert "Fintech accounts won 64% of 50 closed deals, against 40% overall." in fintech
    assert "Fintech: 50 closed deals, 32 won, win rate 64% (95% interval 50%\u201376%)" in fintech
    assert "lift 1.60\u00d7" in fintech
    assert "A 50% -> 67% (40 -> 45 deals); B 33% -> 25%" in fintech
    assert "Accounts moving tier: 12" in fintech
    assert "Accepted overrides agreeing: 2 of 2" in fintech
    assert comments["country"].criterion == draft.criteria.get(attribute="country")
    assert "German accounts won 70% of 40 closed deals." in comments["country"].body
    assert "overrides" not in comments["country"].body


def test_adopting_into_a_version_in_review_makes_its_sign_offs_stale(
    in_review: ProfileVersion,
    rep: User,
    marketer: User,
    sales: Team,
    engine: list[ProfileVersion],
) -> None:
    sign_for(in_review, {"sales": rep, "marketing": marketer})
    signed_on = in_review.revision
    version = suggestions_adopt(
        actor=rep, version=in_review, keys=["drop-funding", "industry-fintech"], team=sales
    )
    assert version.pk == in_review.pk
    edits = version.events.filter(revision__gt=signed_on).exclude(verb=Verb.COMMENTED)
    assert version.revision == signed_on + edits.count() > signed_on
    states = {s.team.slug: s.state for s in signoff_states(version=version)}
    assert states == {"sales": "stale", "marketing": "stale", "revops": "missing"}
    assert not version.criteria.filter(attribute="funding_stage").exists()


def test_a_removal_posts_its_evidence_on_the_criterion_before_it_goes(
    draft: ProfileVersion, rep: User, sales: Team, engine: list[ProfileVersion]
) -> None:
    suggestions_adopt(actor=rep, version=draft, keys=["drop-funding"], team=sales)
    comment = Comment.objects.get(version=draft)
    assert comment.criterion is None
    assert comment.criterion_label == "Funding stage is one of Series B, Series C, Series D"
    assert "Accounts at Series B-D won no more often than the others." in comment.body
    removed = draft.events.get(verb=Verb.CRITERION_REMOVED)
    assert removed.created_at >= draft.events.get(verb=Verb.COMMENTED).created_at


def test_the_reweighting_changes_the_points_and_posts_its_table_on_the_version(
    draft: ProfileVersion, rep: User, sales: Team, engine: list[ProfileVersion]
) -> None:
    revision = draft.revision
    suggestions_adopt(actor=rep, version=draft, keys=["reweight"], team=sales)
    draft.refresh_from_db()
    assert draft.revision == revision + 2
    changed = draft.events.filter(verb=Verb.CRITERION_CHANGED)
    assert sorted(e.summary.split(" (")[-1] for e in changed) == ["points)", "points)"]
    points = dict(draft.criteria.values_list("attribute", "points"))
    assert (points["employees"], points["crm"]) == (40, 15)
    comment = Comment.objects.get(version=draft)
    assert (comment.criterion, comment.criterion_label) == (None, "")
    assert "Re-weight points: Employees 30 -> 40, CRM 25 -> 15" in comment.body
    assert "- employees between: 30 -> 40\n" in comment.body
    assert "- crm in: 25 -> 15\n" in comment.body
    assert "current -> fitted: A 50% -> 60% (20 -> 20 deals)" in comment.body
    assert "Accounts moving tier: 12\n" in comment.body
    assert "Evidence:" not in comment.body
    assert "before -> after" not in comment.body


def test_an_unknown_key_is_refused_naming_it_and_nothing_changes(
    approved: ProfileVersion, marketer: User, marketing: Team, engine: list[ProfileVersion]
) -> None:
    before = criteria_of(approved)
    with pytest.raises(ValidationError) as refused:
        suggestions_adopt(
            actor=marketer, version=approved, keys=["industry-fintech", "nope"], team=marketing
        )
    assert "nope" in refused.value.message_dict["keys"][0]
    nothing_changed(approved, before, approved.revision)


def test_no_key_is_refused(
    draft: ProfileVersion, rep: User, sales: Team, engine: list[ProfileVersion]
) -> None:
    with pytest.raises(ValidationError) as refused:
        suggestions_adopt(actor=rep, version=draft, keys=[], team=sales)
    assert refused.value.message_dict == {"keys": ["Choose at least one suggestion to adopt."]}
    assert engine == []


def test_the_live_version_is_refused_while_another_version_is_open(
    approved: ProfileVersion,
    marketer: User,
    marketing: Team,
    engine: list[ProfileVersion],
) -> None:
    v2 = services.version_start_draft(actor=marketer, profile=approved.profile)
    before = criteria_of(approved)
    with pytest.raises(ValidationError) as refused:
        suggestions_adopt(
            actor=marketer, version=approved, keys=["industry-fintech"], team=marketing
        )
    assert refused.value.message_dict == {
        "version": ["v2 is open: adopt into it from its own page."]
    }
    assert criteria_of(approved) == before
    assert v2.events.count() == 1
    assert not Comment.objects.exists()


def test_a_superseded_version_takes_no_suggestion(
    approved: ProfileVersion, rep: User, sales: Team, engine: list[ProfileVersion]
) -> None:
    ProfileVersion.objects.filter(pk=approved.pk).update(status="superseded")
    with pytest.raises(ValidationError) as refused:
        suggestions_adopt(actor=rep, version=approved, keys=["industry-fintech"], team=sales)
    assert "v1 is superseded" in refused.value.message_dict["version"][0]
    assert ProfileVersion.objects.count() == 1


def test_a_team_the_person_is_not_in_is_refused_naming_the_team(
    approved: ProfileVersion, marketer: User, sales: Team, engine: list[ProfileVersion]
) -> None:
    before = criteria_of(approved)
    with pytest.raises(
        PermissionDenied, match=r"You are not a member of Sales, so you cannot speak for it\."
    ):
        suggestions_adopt(actor=marketer, version=approved, keys=["industry-fintech"], team=sales)
    nothing_changed(approved, before, approved.revision)
    assert engine == []


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent transactions: PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_an_edit_by_hand_while_suggestions_are_adopted_waits_and_finds_the_revision_moved_on(
    draft: ProfileVersion,
    rep: User,
    marketer: User,
    sales: Team,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crm = draft.criteria.get(attribute="crm")
    seen = draft.revision
    edit = Attempt(
        lambda: services.criterion_update(
            actor=marketer,
            criterion=crm,
            revision=seen,
            attribute="crm",
            operator="in",
            value=["Salesforce"],
            points=25,
            kind="fit",
        )
    )

    def suggestions_for(*, version: ProfileVersion, window: Window | None = None) -> Suggestions:
        edit.start()
        time.sleep(0.5)
        assert edit.is_alive(), edit.error  # waiting for the adoption to end
        return usual_suggestions(version)

    monkeypatch.setattr(suggest, "current_suggestions", suggestions_for)
    monkeypatch.setattr(suggest, "refit", refit)
    suggestions_adopt(actor=rep, version=draft, keys=["industry-fintech"], team=sales)
    edit.join(10)
    assert isinstance(edit.error, services.StaleRevisionError)
    crm.refresh_from_db()
    assert crm.value == ["Salesforce", "HubSpot"]
    assert draft.criteria.get(attribute="industry").value == ["SaaS", "Software", "Fintech"]
