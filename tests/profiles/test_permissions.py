"""Who may do what on the drafting pages, through the Django test client.

Each denied write is checked twice: the page says why, and the database is
exactly as it was.
"""

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from profiles import services
from profiles.models import (
    Comment,
    Criterion,
    Profile,
    ProfileVersion,
    SignOff,
    Team,
    User,
)
from tests.drafting import fill, sign_all
from tests.snapshots import snapshot


@dataclass
class World:
    profile: Profile
    version: ProfileVersion
    criterion: Criterion
    comment: Comment

    def url(self, name: str, **kwargs: Any) -> str:
        if name in ("profile-detail", "draft-start", "version-compare"):
            return reverse(name, kwargs={"slug": self.profile.slug})
        return reverse(
            name, kwargs={"slug": self.profile.slug, "number": self.version.number, **kwargs}
        )


@pytest.fixture
def draft(icp: Profile, marketer: User, rep: User, sales: Team) -> World:
    version = fill(services.version_start_draft(actor=marketer, profile=icp), marketer)
    version.refresh_from_db()
    criterion = version.criteria.get(attribute="employees")
    comment = services.comment_create(
        actor=rep, version=version, team=sales, body="We win at 150.", criterion=criterion
    )
    return World(profile=icp, version=version, criterion=criterion, comment=comment)


@pytest.fixture
def in_review(draft: World, marketer: User) -> World:
    services.version_submit(actor=marketer, version=draft.version)
    draft.version.refresh_from_db()
    return draft


def _team(slug: str) -> Team:
    return Team.objects.get(slug=slug)


def _said(response: Any) -> str:
    return html.unescape(response.content.decode())


CRITERION = {
    "attribute": "country",
    "operator": "in",
    "value": "US, CA",
    "points": "10",
    "kind": "fit",
    "category": "",
    "rationale": "",
}


# Each write on the drafting pages: (url name, url kwargs, form data), built
# from the world it acts on.
Write = Callable[[World], tuple[str, dict[str, Any], dict[str, Any]]]

WRITES: dict[str, Write] = {
    "start a draft": lambda w: ("draft-start", {}, {}),
    "add a criterion": lambda w: (
        "criterion-add",
        {},
        {**CRITERION, "revision": w.version.revision},
    ),
    "change a criterion": lambda w: (
        "criterion-update",
        {"pk": w.criterion.pk},
        {**CRITERION, "attribute": "employees", "operator": "gte", "value": "50"}
        | {"revision": w.version.revision},
    ),
    "remove a criterion": lambda w: (
        "criterion-delete",
        {"pk": w.criterion.pk},
        {"revision": w.version.revision},
    ),
    "change thresholds": lambda w: (
        "version-settings",
        {},
        {"revision": w.version.revision, "threshold_a": "60", "threshold_b": "30"},
    ),
    "comment as Sales": lambda w: (
        "comment-post",
        {},
        {"team": _team("sales").pk, "body": "Hello", "criterion": "", "parent": ""},
    ),
    "resolve a Sales thread": lambda w: (
        "comment-resolve",
        {"pk": w.comment.pk},
        {"resolved": "true"},
    ),
    "sign off for Sales": lambda w: (
        "signoff-post",
        {},
        {"team": _team("sales").pk, "decision": "approve", "revision": w.version.revision},
    ),
    "submit": lambda w: ("version-transition", {"action": "submit"}, {}),
    "approve": lambda w: ("version-transition", {"action": "approve"}, {}),
    "withdraw": lambda w: ("version-transition", {"action": "withdraw"}, {}),
}

OUTSIDER_IS_TOLD = {
    "start a draft": "You are in no team, so you can read but not change anything.",
    "add a criterion": "You are in no team, so you can read but not change anything.",
    "change a criterion": "You are in no team, so you can read but not change anything.",
    "remove a criterion": "You are in no team, so you can read but not change anything.",
    "change thresholds": "You are in no team, so you can read but not change anything.",
    "comment as Sales": "You are not a member of Sales, so you cannot speak for it.",
    "resolve a Sales thread": "Only members of Sales and the profile's approvers resolve",
    "sign off for Sales": "You are not a member of Sales, so you cannot speak for it.",
    "submit": "You are in no team, so you can read but not change anything.",
    "approve": "Only this profile's admins and the managers of its approving teams approve",
    "withdraw": "Only the author of this version and the profile's approvers withdraw it.",
}

PAGES = ["profile-list", "profile-detail", "version-detail", "version-compare"]


def _page_url(world: World, name: str) -> str:
    return reverse(name) if name == "profile-list" else world.url(name)


@pytest.mark.parametrize("write", WRITES)
def test_anonymous_writes_are_sent_to_sign_in_and_change_nothing(
    client: Client, draft: World, write: str
) -> None:
    name, kwargs, data = WRITES[write](draft)
    url = draft.url(name, **kwargs)
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"
    assert snapshot() == before


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_readers_are_sent_to_sign_in(client: Client, draft: World, page: str) -> None:
    url = _page_url(draft, page)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("page", PAGES)
def test_someone_in_no_team_reads_every_page(
    client: Client, draft: World, outsider: User, page: str
) -> None:
    client.force_login(outsider)
    response = client.get(_page_url(draft, page))
    assert response.status_code == 200


@pytest.mark.parametrize("write", WRITES)
def test_someone_in_no_team_cannot_write_and_is_told_why(
    client: Client, draft: World, outsider: User, write: str
) -> None:
    client.force_login(outsider)
    name, kwargs, data = WRITES[write](draft)
    before = snapshot()
    response = client.post(draft.url(name, **kwargs), data, follow=True)
    assert OUTSIDER_IS_TOLD[write] in _said(response)
    assert "Traceback" not in _said(response)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("user", "team", "allowed"),
    [
        ("rep", "sales", True),
        ("manager", "sales", True),
        ("marketer", "marketing", True),
        ("ops_manager", "revops", True),
        ("marketer", "sales", False),
        ("rep", "marketing", False),
        ("ops_manager", "sales", False),
        ("outsider", "sales", False),
    ],
)
def test_only_members_comment_as_their_team(
    client: Client,
    draft: World,
    request: pytest.FixtureRequest,
    user: str,
    team: str,
    allowed: bool,
) -> None:
    person: User = request.getfixturevalue(user)
    client.force_login(person)
    before = snapshot()
    response = client.post(
        draft.url("comment-post"),
        {"team": _team(team).pk, "body": "Consider Fintech.", "criterion": draft.criterion.pk},
    )
    if allowed:
        assert response.status_code == 302
        comment = Comment.objects.get(body="Consider Fintech.")
        assert (comment.author, comment.team.slug, comment.criterion) == (
            person,
            team,
            draft.criterion,
        )
    else:
        assert response.status_code == 422
        name = _team(team).name
        assert f"You are not a member of {name}, so you cannot speak for it." in _said(response)
        assert snapshot() == before


@pytest.mark.parametrize(
    ("user", "team", "allowed"),
    [
        ("rep", "sales", True),
        ("manager", "sales", True),
        ("marketer", "marketing", True),
        ("ops_manager", "revops", True),
        ("marketer", "sales", False),
        ("rep", "revops", False),
        ("manager", "marketing", False),
        ("outsider", "sales", False),
    ],
)
def test_only_members_sign_off_for_their_team(
    client: Client,
    in_review: World,
    request: pytest.FixtureRequest,
    user: str,
    team: str,
    allowed: bool,
) -> None:
    person: User = request.getfixturevalue(user)
    client.force_login(person)
    before = snapshot()
    response = client.post(
        in_review.url("signoff-post"),
        {"team": _team(team).pk, "decision": "approve", "revision": in_review.version.revision},
    )
    if allowed:
        assert response.status_code == 302
        signoff = SignOff.objects.get(version=in_review.version, team__slug=team)
        assert (signoff.user, signoff.revision) == (person, in_review.version.revision)
    else:
        assert response.status_code == 422
        name = _team(team).name
        assert f"You are not a member of {name}, so you cannot speak for it." in _said(response)
        assert snapshot() == before


def test_a_team_the_profile_does_not_ask_cannot_sign_off(
    client: Client, in_review: World, rep: User, sales: Team
) -> None:
    in_review.profile.required_teams.remove(sales)
    client.force_login(rep)
    before = snapshot()
    response = client.post(
        in_review.url("signoff-post"),
        {"team": sales.pk, "decision": "approve", "revision": in_review.version.revision},
    )
    assert response.status_code == 422
    assert "Mid-market SaaS does not ask Sales for sign-off." in _said(response)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        ("ops_manager", True),
        ("rep", False),
        ("manager", False),
        ("marketer", False),
        ("outsider", False),
    ],
)
def test_only_an_approver_approves(
    client: Client,
    in_review: World,
    rep: User,
    marketer: User,
    ops_manager: User,
    request: pytest.FixtureRequest,
    user: str,
    allowed: bool,
) -> None:
    sign_all(in_review.version, rep, marketer, ops_manager)
    client.force_login(request.getfixturevalue(user))
    before = snapshot()
    response = client.post(in_review.url("version-transition", action="approve"), follow=True)
    in_review.version.refresh_from_db()
    if allowed:
        assert in_review.version.status == "approved"
        assert "v1 is approved and live." in _said(response)
    else:
        assert in_review.version.status == "in_review"
        assert (
            "Only this profile's admins and the managers of its approving teams approve versions."
            in _said(response)
        )
        assert snapshot() == before


def test_approval_is_refused_until_every_team_has_signed(
    client: Client, in_review: World, ops_manager: User
) -> None:
    client.force_login(ops_manager)
    before = snapshot()
    response = client.post(in_review.url("version-transition", action="approve"), follow=True)
    said = _said(response)
    assert "v1 cannot be approved yet: Marketing has not signed off." in said
    assert "Sales has not signed off." in said
    assert snapshot() == before


@pytest.mark.parametrize(
    ("user", "allowed"),
    [("marketer", True), ("ops_manager", True), ("rep", False), ("manager", False)],
)
def test_only_the_author_and_approvers_withdraw(
    client: Client, draft: World, request: pytest.FixtureRequest, user: str, allowed: bool
) -> None:
    client.force_login(request.getfixturevalue(user))
    before = snapshot()
    response = client.post(draft.url("version-transition", action="withdraw"), follow=True)
    draft.version.refresh_from_db()
    if allowed:
        assert draft.version.status == "withdrawn"
    else:
        assert draft.version.status == "draft"
        assert "Only the author of this version and the profile's approvers withdraw it." in _said(
            response
        )
        assert snapshot() == before


@pytest.mark.parametrize(
    ("user", "allowed"),
    [("rep", True), ("manager", True), ("ops_manager", True), ("marketer", False)],
)
def test_a_thread_is_resolved_by_its_team_or_an_approver(
    client: Client, draft: World, request: pytest.FixtureRequest, user: str, allowed: bool
) -> None:
    client.force_login(request.getfixturevalue(user))
    before = snapshot()
    response = client.post(
        draft.url("comment-resolve", pk=draft.comment.pk), {"resolved": "true"}, follow=True
    )
    draft.comment.refresh_from_db()
    assert draft.comment.resolved is allowed
    if not allowed:
        assert "Only members of Sales and the profile's approvers resolve this thread." in _said(
            response
        )
        assert snapshot() == before


def test_the_version_page_shows_each_person_only_their_buttons(
    client: Client, in_review: World, rep: User, marketer: User, ops_manager: User
) -> None:
    def buttons(user: User) -> set[str]:
        client.force_login(user)
        page = _said(client.get(in_review.url("version-detail")))
        return {
            label
            for label in ("Approve and make live", "Withdraw", "Submit for review", "Resolve")
            if f">{label}</button>" in page
        }

    assert buttons(rep) == {"Resolve"}
    assert buttons(marketer) == {"Withdraw"}
    assert buttons(ops_manager) == {"Approve and make live", "Withdraw", "Resolve"}
