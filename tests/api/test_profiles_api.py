"""The profiles API: the same rules as the pages, as JSON under /api/v1/.

Clients sign in with a session here (the default authentication); a denied
write answers 403 and leaves the database as it was.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from profiles import services
from profiles.models import (
    Comment,
    Criterion,
    Profile,
    ProfileVersion,
    SignOff,
    Team,
    User,
    VersionEvent,
)
from tests.drafting import FIT_100, sign_all
from tests.factories import CriterionFactory, TeamFactory, UserFactory, VersionFactory
from tests.snapshots import snapshot

if TYPE_CHECKING:
    # What the test client returns: a Response with json() and the request.
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

API = "/api/v1/profiles/"


def api(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def vurl(profile: Profile, number: int, rest: str = "") -> str:
    return f"{API}{profile.slug}/versions/{number}/{rest}"


def with_revision(rest: str, payload: dict[str, Any], revision: int) -> dict[str, Any]:
    """The body with the revision the client saw, where the endpoint takes one
    (any other field is refused as unknown)."""
    if rest.endswith(("versions/", "comments/", "withdraw/", "resolve/", "submit/")):
        return payload
    return {**payload, "revision": revision}


# --- The whole story --------------------------------------------------------


def test_the_whole_story_runs_through_the_api(
    approved: ProfileVersion, rep: User, marketer: User, ops_manager: User
) -> None:
    icp = approved.profile
    as_marketer, as_rep, as_ops = api(marketer), api(rep), api(ops_manager)

    started = as_marketer.post(f"{API}{icp.slug}/versions/", {}, format="json")
    assert started.status_code == 201
    v2 = started.json()
    assert (v2["number"], v2["parent"], v2["status"], v2["revision"]) == (2, 1, "draft", 1)
    assert [c["attribute"] for c in v2["criteria"]] == [a for a, *_ in FIT_100]
    employees = next(c for c in v2["criteria"] if c["attribute"] == "employees")
    criterion_url = vurl(icp, 2, f"criteria/{employees['id']}/")

    edited = as_marketer.patch(criterion_url, {"revision": 1, "value": [150, 2000]}, format="json")
    assert edited.status_code == 200
    assert (edited.json()["value"], edited.json()["version_revision"]) == ([150, 2000], 2)
    assert edited.json()["text"] == "Employees is between 150 and 2,000"

    submitted = as_marketer.post(vurl(icp, 2, "submit/"))
    assert (submitted.status_code, submitted.json()["status"]) == (200, "in_review")

    commented = as_rep.post(
        vurl(icp, 2, "comments/"),
        {"team": "sales", "body": "We lose below 150 people.", "criterion": employees["id"]},
        format="json",
    )
    assert commented.status_code == 201
    assert commented.json()["team"]["slug"] == "sales"
    assert commented.json()["author"]["username"] == "rep"
    assert commented.json()["criterion_label"] == "Employees is between 150 and 2,000"

    def everyone_signs(revision: int) -> None:
        for client, team in ((as_rep, "sales"), (as_marketer, "marketing"), (as_ops, "revops")):
            response = client.post(
                vurl(icp, 2, "signoffs/"),
                {"team": team, "decision": "approve", "revision": revision},
                format="json",
            )
            assert response.status_code == 201, response.json()
            assert (response.json()["revision"], response.json()["is_stale"]) == (revision, False)

    everyone_signs(2)
    review = as_rep.get(vurl(icp, 2)).json()
    assert [(s["team"]["slug"], s["state"]) for s in review["signoff_states"]] == [
        ("marketing", "approved"),
        ("revops", "approved"),
        ("sales", "approved"),
    ]
    assert review["approval_problems"] == []

    stale_edit = as_marketer.patch(
        criterion_url, {"revision": 2, "value": [150, 5000]}, format="json"
    )
    assert stale_edit.status_code == 200
    review = as_rep.get(vurl(icp, 2)).json()
    assert review["revision"] == 3
    assert [s["state"] for s in review["signoff_states"]] == ["stale", "stale", "stale"]
    refused = as_ops.post(vurl(icp, 2, "approve/"))
    assert refused.status_code == 400
    assert refused.json() == {
        "non_field_errors": [
            f"{name} signed off on revision 2; the version has changed since (now revision 3)."
            f" {name} must sign again."
            for name in ("Marketing", "RevOps", "Sales")
        ]
    }
    signoffs = as_rep.get(vurl(icp, 2, "signoffs/")).json()
    assert [s["is_stale"] for s in signoffs] == [True, True, True]

    everyone_signs(3)
    approval = as_ops.post(vurl(icp, 2, "approve/"))
    assert approval.status_code == 200
    assert (approval.json()["status"], approval.json()["approved_by"]["username"]) == (
        "approved",
        "ops",
    )
    assert as_rep.get(vurl(icp, 1)).json()["status"] == "superseded"
    profile = as_rep.get(f"{API}{icp.slug}/").json()
    assert (profile["live_version"], profile["open_version"]) == (2, None)

    events = as_rep.get(vurl(icp, 2, "events/")).json()
    assert [e["verb"] for e in events] == [
        "approved",
        "signed_off",
        "signed_off",
        "signed_off",
        "criterion_changed",
        "signed_off",
        "signed_off",
        "signed_off",
        "commented",
        "submitted",
        "criterion_changed",
        "created",
    ]
    assert events[-1]["summary"] == "Started v2 from v1."
    assert events[-1]["actor"]["username"] == "marketer"

    diff = as_rep.get(f"{API}{icp.slug}/diff/", {"old": 1, "new": 2}).json()
    assert (diff["old"], diff["new"], diff["added"], diff["removed"]) == (1, 2, [], [])
    assert [(c["before"]["value"], c["after"]["value"]) for c in diff["changed"]] == [
        ([200, 2000], [150, 5000])
    ]
    assert diff["changed"][0]["changed_fields"] == ["value"]
    assert (diff["unchanged"], diff["thresholds"], diff["is_empty"]) == (4, [], False)


# --- Optimistic locking -----------------------------------------------------


def test_an_edit_on_a_stale_revision_answers_409_and_changes_nothing(
    draft: ProfileVersion, rep: User, marketer: User
) -> None:
    seen = draft.revision
    criterion = draft.criteria.get(attribute="employees")
    url = vurl(draft.profile, 1, f"criteria/{criterion.pk}/")
    first = api(rep).patch(url, {"revision": seen, "value": [150, 2000]}, format="json")
    assert first.status_code == 200
    before = snapshot()

    second = api(marketer).patch(url, {"revision": seen, "value": [500, 5000]}, format="json")

    assert second.status_code == 409
    body = second.json()
    assert (body["code"], body["current_revision"], body["based_on"]) == (
        "stale_revision",
        seen + 1,
        seen,
    )
    assert f"you had revision {seen}, it is now {seen + 1}" in body["detail"]
    assert f"{rep.get_full_name()} changed a criterion" in body["detail"]
    assert [(c["actor"], c["verb"], c["revision"]) for c in body["changes"]] == [
        ("rep", "criterion_changed", seen + 1)
    ]
    assert snapshot() == before
    criterion.refresh_from_db()
    assert criterion.value == [150, 2000]


@pytest.mark.parametrize(
    ("method", "rest", "payload"),
    [
        ("post", "criteria/", {"attribute": "country", "operator": "in", "value": ["US"]}),
        ("delete", "criteria/{pk}/?revision={revision}", None),
        ("put", "criteria/{pk}/", {"attribute": "has_revops", "operator": "is_true"}),
        ("patch", "", {"threshold_a": 80}),
    ],
)
def test_every_kind_of_edit_checks_the_revision(
    draft: ProfileVersion,
    rep: User,
    method: str,
    rest: str,
    payload: dict[str, Any] | None,
) -> None:
    stale = draft.revision - 1
    criterion = draft.criteria.get(attribute="has_revops")
    url = vurl(draft.profile, 1, rest.format(pk=criterion.pk, revision=stale))
    before = snapshot()
    send: Callable[..., ApiResponse] = getattr(api(rep), method)
    response = (
        send(url) if payload is None else send(url, {**payload, "revision": stale}, format="json")
    )
    assert response.status_code == 409
    assert response.json()["current_revision"] == draft.revision
    assert snapshot() == before


def test_signing_off_a_revision_that_changed_answers_409(
    in_review: ProfileVersion, rep: User
) -> None:
    response = api(rep).post(
        vurl(in_review.profile, 1, "signoffs/"),
        {"team": "sales", "decision": "approve", "revision": in_review.revision - 1},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["current_revision"] == in_review.revision
    assert not SignOff.objects.exists()


# --- Bad input --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"points": 101}, {"points": ["Ensure this value is less than or equal to 100."]}),
        ({"points": "ten"}, {"points": ["A valid integer is required."]}),
        ({"operator": "sideways"}, {"operator": ['"sideways" is not a valid choice.']}),
        (
            {"attribute": "shoe_size"},
            {"attribute": ["Unknown attribute 'shoe_size'; choose one from the list."]},
        ),
        (
            {"operator": "contains_any"},
            {"operator": ["Employees takes one of: is between, is at least, is at most, is."]},
        ),
        ({"revision": None}, {"revision": ["This field may not be null."]}),
    ],
)
def test_a_bad_criterion_answers_400_naming_the_field_and_changes_nothing(
    draft: ProfileVersion, rep: User, fields: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    before = snapshot()
    payload = {
        "revision": draft.revision,
        "attribute": "employees",
        "operator": "gte",
        "value": 10,
        "points": 5,
        "category": "firmographic",
        **fields,
    }
    response = api(rep).post(vurl(draft.profile, 1, "criteria/"), payload, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert snapshot() == before


def test_a_bad_value_is_named_by_the_service(draft: ProfileVersion, rep: User) -> None:
    before = snapshot()
    response = api(rep).post(
        vurl(draft.profile, 1, "criteria/"),
        {
            "revision": draft.revision,
            "attribute": "employees",
            "operator": "between",
            "value": [5000, 10],
            "points": 10,
        },
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["value"]
    assert snapshot() == before


@pytest.mark.parametrize("path", ["", "criteria/{id}/"])
def test_a_patch_without_a_revision_is_400_naming_it(
    draft: ProfileVersion, rep: User, path: str
) -> None:
    criterion = draft.criteria.first()
    assert criterion is not None
    before = snapshot()
    response = api(rep).patch(
        vurl(draft.profile, draft.number, path.format(id=criterion.pk)), {}, format="json"
    )
    assert response.status_code == 400
    assert "revision" in response.json()
    assert snapshot() == before


def test_a_new_criterion_without_a_value_is_400_naming_it(draft: ProfileVersion, rep: User) -> None:
    before = snapshot()
    response = api(rep).post(
        vurl(draft.profile, draft.number, "criteria/"),
        {"attribute": "industry", "operator": "eq", "revision": draft.revision},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["value"]
    assert snapshot() == before


def test_unordered_thresholds_answer_400_on_threshold_b(draft: ProfileVersion, rep: User) -> None:
    before = snapshot()
    response = api(rep).patch(
        vurl(draft.profile, 1),
        {"revision": draft.revision, "threshold_a": 40, "threshold_b": 60},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"threshold_b": ["Tier B must start below tier A (40)."]}
    assert snapshot() == before


def test_a_blank_comment_and_an_unknown_team_are_named(
    in_review: ProfileVersion, rep: User
) -> None:
    response = api(rep).post(
        vurl(in_review.profile, 1, "comments/"), {"team": "legal", "body": " "}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "team": ["Object with slug=legal does not exist."],
        "body": ["This field may not be blank."],
    }
    assert not Comment.objects.exists()


def test_requesting_changes_needs_a_note(in_review: ProfileVersion, rep: User) -> None:
    before = snapshot()
    response = api(rep).post(
        vurl(in_review.profile, 1, "request-changes/"),
        {"team": "sales", "revision": in_review.revision},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"note": ["Say what should change."]}
    assert snapshot() == before


def test_a_profile_needs_a_team_whose_sign_off_counts(ops_manager: User, db: None) -> None:
    response = api(ops_manager).post(
        API, {"name": "Enterprise", "required_teams": []}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "required_teams": ["Choose at least one team whose sign-off counts."]
    }
    assert not Profile.objects.filter(name="Enterprise").exists()


def test_comparing_with_a_version_that_does_not_exist_names_the_parameter(
    approved: ProfileVersion, rep: User
) -> None:
    response = api(rep).get(f"{API}{approved.profile.slug}/diff/", {"old": 9})
    assert response.status_code == 400
    assert response.json() == {"old": ["Mid-market SaaS has no v9."]}


# --- Who may do what --------------------------------------------------------


def test_a_marketing_member_cannot_sign_for_sales(
    in_review: ProfileVersion, marketer: User
) -> None:
    before = snapshot()
    response = api(marketer).post(
        vurl(in_review.profile, 1, "signoffs/"),
        {"team": "sales", "decision": "approve", "revision": in_review.revision},
        format="json",
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "You are not a member of Sales, so you cannot speak for it."
    }
    assert snapshot() == before


def test_a_rep_cannot_approve(
    in_review: ProfileVersion, rep: User, marketer: User, ops_manager: User
) -> None:
    sign_all(in_review, rep, marketer, ops_manager)
    before = snapshot()
    response = api(rep).post(vurl(in_review.profile, 1, "approve/"))
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only this profile's admins and the managers of its approving teams "
        "approve versions."
    }
    assert snapshot() == before
    assert in_review.approved_by is None


def test_an_approval_of_a_revision_that_has_since_changed_is_a_conflict(
    in_review: ProfileVersion, rep: User, marketer: User, ops_manager: User
) -> None:
    sign_all(in_review, rep, marketer, ops_manager)
    before = snapshot()
    response = api(ops_manager).post(
        vurl(in_review.profile, 1, "approve/"), {"revision": in_review.revision - 1}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["current_revision"]) == ("stale_revision", in_review.revision)
    assert snapshot() == before
    approved = api(ops_manager).post(
        vurl(in_review.profile, 1, "approve/"), {"revision": in_review.revision}, format="json"
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"


def test_approving_a_version_sent_back_to_draft_is_a_conflict_naming_who_sent_it_back(
    in_review: ProfileVersion, rep: User, marketer: User, ops_manager: User, sales: Team
) -> None:
    sign_all(in_review, rep, marketer, ops_manager)
    services.signoff_give(
        actor=rep, version=in_review, team=sales, decision="request_changes", note="Too wide."
    )
    before = snapshot()
    response = api(ops_manager).post(vurl(in_review.profile, 1, "approve/"))
    assert response.status_code == 409
    assert "v1 must be in review to be approved." in response.json()["detail"]
    assert "Sales requested changes: Too wide." in response.json()["detail"]
    assert ".." not in response.json()["detail"]
    assert snapshot() == before


def test_a_rep_cannot_create_a_profile(rep: User, sales: Team) -> None:
    response = api(rep).post(
        API, {"name": "Enterprise", "required_teams": ["sales"]}, format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "Only administrators and RevOps managers create profiles."}
    assert not Profile.objects.exists()


def test_withdrawing_is_for_the_author_and_approvers(
    draft: ProfileVersion, rep: User, marketer: User
) -> None:
    before = snapshot()
    refused = api(rep).post(vurl(draft.profile, 1, "withdraw/"), {"reason": "no"}, format="json")
    assert refused.status_code == 403
    assert snapshot() == before
    withdrawn = api(marketer).post(
        vurl(draft.profile, 1, "withdraw/"), {"reason": "Restart"}, format="json"
    )
    assert (withdrawn.status_code, withdrawn.json()["status"]) == (200, "withdrawn")


OUTSIDER_WRITES = [
    ("post", "versions/", {}),
    ("post", "versions/1/criteria/", {"attribute": "country", "operator": "in", "value": ["US"]}),
    ("patch", "versions/1/criteria/{criterion}/", {"points": 25}),
    ("delete", "versions/1/criteria/{criterion}/?revision={revision}", None),
    ("patch", "versions/1/", {"threshold_a": 80}),
    ("post", "versions/1/comments/", {"team": "sales", "body": "Me too"}),
    ("post", "versions/1/comments/{comment}/resolve/", {}),
    ("post", "versions/1/signoffs/", {"team": "sales", "decision": "approve"}),
    ("post", "versions/1/request-changes/", {"team": "sales", "note": "Smaller"}),
    ("post", "versions/1/submit/", {}),
    ("post", "versions/1/approve/", {}),
    ("post", "versions/1/withdraw/", {}),
]


@pytest.mark.parametrize(("method", "rest", "payload"), OUTSIDER_WRITES)
def test_someone_in_no_team_reads_but_cannot_write(
    in_review: ProfileVersion,
    rep: User,
    sales: Team,
    outsider: User,
    method: str,
    rest: str,
    payload: dict[str, Any] | None,
) -> None:
    comment = services.comment_create(actor=rep, version=in_review, team=sales, body="Hm")
    criterion = in_review.criteria.get(attribute="crm")
    url = f"{API}{in_review.profile.slug}/" + rest.format(
        criterion=criterion.pk, comment=comment.pk, revision=in_review.revision
    )
    client = api(outsider)
    assert client.get(vurl(in_review.profile, 1)).status_code == 200
    before = snapshot()
    send: Callable[..., ApiResponse] = getattr(client, method)
    response = (
        send(url)
        if payload is None
        else send(url, with_revision(rest, payload, in_review.revision), format="json")
    )
    assert response.status_code == 403
    assert response.json()["detail"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("get", "mid-market-saas/versions/1/"),
        ("post", ""),
        ("post", "mid-market-saas/versions/"),
        ("post", "mid-market-saas/versions/1/signoffs/"),
        ("post", "mid-market-saas/versions/1/approve/"),
    ],
)
def test_anonymous_requests_are_refused(in_review: ProfileVersion, method: str, path: str) -> None:
    before = snapshot()
    response = getattr(api(), method)(API + path, {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert snapshot() == before


def test_a_thread_is_resolved_by_its_team_and_reopened(
    in_review: ProfileVersion, rep: User, marketer: User, sales: Team
) -> None:
    root = services.comment_create(actor=rep, version=in_review, team=sales, body="Too strict")
    url = vurl(in_review.profile, 1, f"comments/{root.pk}/")
    refused = api(marketer).post(url + "resolve/")
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Only members of Sales and the profile's approvers resolve this thread."
    }
    root.refresh_from_db()
    assert root.resolved is False
    resolved = api(rep).post(url + "resolve/").json()
    assert (resolved["resolved"], resolved["resolved_by"]["username"]) == (True, "rep")
    reopened = api(rep).post(url + "unresolve/").json()
    assert (reopened["resolved"], reopened["resolved_by"]) == (False, None)


def test_requesting_changes_sends_the_version_back_to_draft(
    in_review: ProfileVersion, rep: User
) -> None:
    response = api(rep).post(
        vurl(in_review.profile, 1, "request-changes/"),
        {"team": "sales", "note": "Lower the floor to 150.", "revision": in_review.revision},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "draft"
    states = {s["team"]["slug"]: s["state"] for s in response.json()["signoff_states"]}
    assert states == {"marketing": "missing", "revops": "missing", "sales": "changes_requested"}


# --- Approved versions are frozen -------------------------------------------


@pytest.mark.parametrize(
    ("method", "rest", "payload"),
    [
        ("post", "criteria/", {"attribute": "country", "operator": "in", "value": ["US"]}),
        ("patch", "criteria/{criterion}/", {"points": 25}),
        ("put", "criteria/{criterion}/", {"attribute": "has_revops", "operator": "is_false"}),
        ("delete", "criteria/{criterion}/?revision={revision}", None),
        ("patch", "", {"threshold_a": 80}),
        ("post", "submit/", {}),
        ("post", "withdraw/", {}),
        ("post", "signoffs/", {"team": "revops", "decision": "approve"}),
    ],
)
def test_an_approved_version_cannot_change_through_the_api(
    approved: ProfileVersion,
    ops_manager: User,
    method: str,
    rest: str,
    payload: dict[str, Any] | None,
) -> None:
    criterion = approved.criteria.get(attribute="crm")
    url = vurl(approved.profile, 1, rest.format(criterion=criterion.pk, revision=approved.revision))
    before = snapshot()
    send: Callable[..., ApiResponse] = getattr(api(ops_manager), method)
    response = (
        send(url)
        if payload is None
        else send(url, with_revision(rest, payload, approved.revision), format="json")
    )
    assert response.status_code == 409
    assert response.json()["code"] == "stale_revision"
    assert "v1" in response.json()["detail"]
    assert snapshot() == before


# --- Reading ----------------------------------------------------------------


def test_a_revops_manager_creates_a_profile(ops_manager: User, sales: Team, revops: Team) -> None:
    response = api(ops_manager).post(
        API,
        {"name": "Enterprise", "required_teams": ["sales", "revops"], "checkin_cadence": 6},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["slug"], body["checkin_cadence"], body["version_count"]) == ("enterprise", 6, 0)
    assert [t["slug"] for t in body["required_teams"]] == ["revops", "sales"]
    assert [t["slug"] for t in body["approving_teams"]] == ["revops"]
    assert [u["username"] for u in body["admins"]] == ["ops"]


def test_a_draft_starts_empty_on_request(approved: ProfileVersion, rep: User) -> None:
    url = f"{API}{approved.profile.slug}/versions/"
    both = api(rep).post(url, {"empty": True, "source": 1}, format="json")
    assert both.status_code == 400
    assert both.json() == {"source": ["Copy a version or start empty, not both."]}
    response = api(rep).post(url, {"empty": True}, format="json")
    assert response.status_code == 201
    assert (response.json()["parent"], response.json()["criteria"]) == (None, [])
    again = api(rep).post(url, {}, format="json")
    assert again.status_code == 403
    assert again.json()["detail"].startswith("v2 is already open")


def test_missing_things_answer_404(draft: ProfileVersion, rep: User) -> None:
    client = api(rep)
    other = CriterionFactory.create()
    assert client.get(f"{API}nope/").json() == {"detail": "No profile 'nope'."}
    assert client.get(vurl(draft.profile, 9)).status_code == 404
    assert client.get(vurl(draft.profile, 9)).json() == {"detail": "Mid-market SaaS has no v9."}
    assert client.get(vurl(draft.profile, 1, f"criteria/{other.pk}/")).status_code == 404


def test_a_version_lists_its_sign_off_state_and_problems(draft: ProfileVersion, rep: User) -> None:
    body = api(rep).get(vurl(draft.profile, 1)).json()
    assert [s["state"] for s in body["signoff_states"]] == ["missing", "missing", "missing"]
    assert body["approval_problems"] == [
        "Marketing has not signed off.",
        "RevOps has not signed off.",
        "Sales has not signed off.",
    ]
    assert sum(c["points"] for c in body["criteria"]) == 100


# --- Lists answer in a fixed number of queries ------------------------------


def queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_profile_list_takes_the_same_queries_for_2_or_20(
    rep: User, ops_manager: User, sales: Team
) -> None:
    def add(n: int) -> None:
        for i in range(n):
            profile = services.profile_create(
                actor=ops_manager,
                name=f"Segment {Profile.objects.count()}-{i}",
                required_teams=[sales],
            )
            VersionFactory.create(profile=profile, number=1, status="draft")

    client = api(rep)
    add(2)
    few = queries(client, API)
    add(18)
    assert len(client.get(API).json()) == 20
    assert queries(client, API) == few


def test_the_version_list_takes_the_same_queries_for_2_or_20(icp: Profile, rep: User) -> None:
    def add(numbers: range) -> None:
        for number in numbers:
            VersionFactory.create(
                profile=icp, number=number, status="superseded", parent=icp.versions.first()
            )

    client, url = api(rep), f"{API}{icp.slug}/versions/"
    add(range(1, 3))
    few = queries(client, url)
    add(range(3, 21))
    assert len(client.get(url).json()) == 20
    assert queries(client, url) == few


@pytest.mark.parametrize("rest", ["criteria/", "comments/", "signoffs/", "events/"])
def test_a_versions_lists_take_the_same_queries_for_2_or_20(icp: Profile, rest: str) -> None:
    version = VersionFactory.create(profile=icp, number=1, status="in_review")
    teams = [TeamFactory.create(name=f"Team {n:02}") for n in range(20)]
    icp.required_teams.add(*teams)
    author = UserFactory.create(username="author")

    def add(start: int, stop: int) -> None:
        for n in range(start, stop):
            criterion = CriterionFactory.create(version=version, points=1)
            team = teams[n]
            Comment.objects.create(
                version=version, team=team, author=author, criterion=criterion, body=f"#{n}"
            )
            SignOff.objects.create(
                version=version, team=team, user=author, decision="approve", revision=1
            )
            VersionEvent.objects.create(
                version=version, actor=author, team=team, verb="commented", summary="", revision=1
            )

    client, url = api(author), vurl(icp, 1, rest)
    add(0, 2)
    few = queries(client, url)
    add(2, 20)
    assert len(client.get(url).json()) == 20
    assert queries(client, url) == few
    assert Criterion.objects.filter(version=version).count() == 20


# --- What a request may look like -------------------------------------------


def test_a_number_where_text_belongs_is_refused_naming_the_field(
    ops_manager: User, sales: Team
) -> None:
    response = api(ops_manager).post(API, {"name": 0, "required_teams": ["sales"]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"name": ["Not a valid string."]}
    assert not Profile.objects.exists()


def test_a_form_body_is_refused_and_only_json_is_read(ops_manager: User, sales: Team) -> None:
    response = api(ops_manager).post(API, {"name": "Enterprise", "required_teams": ["sales"]})
    assert response.status_code == 415
    assert not Profile.objects.exists()


@pytest.mark.parametrize(
    "rest",
    [
        "versions/null,null/",
        "versions/99999999999999999999/criteria/",
        "versions/1/criteria/x/",
        "versions/1/comments/1e3/resolve/",
    ],
)
def test_a_malformed_number_or_id_is_a_json_404(
    draft: ProfileVersion, rep: User, rest: str
) -> None:
    client = api(rep)
    url = f"{API}{draft.profile.slug}/{rest}"
    response = client.post(url) if rest.endswith("resolve/") else client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert list(response.json()) == ["detail"]


def test_a_team_named_with_a_nul_character_is_refused_naming_the_field(
    draft: ProfileVersion, rep: User
) -> None:
    response = api(rep).post(
        vurl(draft.profile, 1, "comments/"), {"team": "sa\x00les", "body": "Hi"}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["team"]
    assert not Comment.objects.exists()


def test_a_field_an_endpoint_does_not_take_is_refused_by_name_and_nothing_changes(
    in_review: ProfileVersion, marketer: User
) -> None:
    before = snapshot()
    response = api(marketer).patch(
        vurl(in_review.profile, 1),
        {"revision": in_review.revision, "status": "approved", "threshold_a": 80},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["status"]
    assert "Unknown field; this endpoint takes revision, rationale" in response.json()["status"][0]
    assert snapshot() == before
