"""The suggestions API: a version's suggestions in plain JSON, and adopting
them by key (tests/suggesting.py says what the engine answers)."""

from typing import Any

import pytest
from django.test import Client

from demo.accounts import seed_accounts
from profiles.models import Comment, ProfileVersion, User

pytestmark = pytest.mark.django_db


def url(version: ProfileVersion, tail: str = "") -> str:
    return f"/api/v1/profiles/{version.profile.slug}/versions/{version.number}/suggestions/{tail}"


def as_user(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def adopt(client: Client, version: ProfileVersion, body: Any) -> Any:
    return client.post(url(version, "adopt/"), body, content_type="application/json")


def test_the_suggestions_read_as_plain_json(
    client: Client, approved: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    response = as_user(client, rep).get(url(approved))
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["profile"], data["version"], data["min_deals"]) == (approved.profile.slug, 1, 30)
    assert data["window"]["start"].endswith("Z")
    assert data["window"]["end"].endswith("Z")
    assert [s["key"] for s in data["shown"]] == [
        "industry-fintech",
        "drop-funding",
        "country-de",
        "reweight",
    ]
    assert [s["key"] for s in data["not_enough"]] == ["crm-pipedrive"]
    fintech = data["shown"][0]
    assert (fintech["kind"], fintech["kind_label"]) == ("add_value", "Add a value")
    industry = approved.criteria.get(attribute="industry")
    assert fintech["lineage"] == str(industry.lineage)
    [change] = fintech["changes"]
    assert change["before"] == {
        "attribute": "industry",
        "operator": "in",
        "value": ["SaaS", "Software"],
        "points": 20,
        "kind": "fit",
        "lineage": str(industry.lineage),
    }
    assert change["after"]["value"] == ["SaaS", "Software", "Fintech"]
    [value] = fintech["values"]
    assert (value["label"], value["outcomes"]["closed"], value["outcomes"]["won"]) == (
        "Fintech",
        50,
        32,
    )
    assert value["outcomes"]["win_rate"] == 0.64
    assert value["lift"] == pytest.approx(1.6)
    assert 0.49 < value["outcomes"]["win_interval"]["low"] < 0.64
    assert 0.64 < value["outcomes"]["win_interval"]["high"] < 0.77
    assert value["standing"] == "clears"
    assert [o["account_name"] for o in fintech["overrides"]] == ["Ledgerly", "Paywise"]
    assert fintech["overrides_agreeing"] == 2
    before = fintech["effect"]["before"]
    assert before["tiers"][0] == {"tier": "A", "won": 20, "lost": 20, "closed": 40, "win_rate": 0.5}
    assert before["accounts"] == {"A": 10, "B": 10, "C": 10}
    assert fintech["effect"]["moved"] == 12
    germany = data["shown"][2]
    *room, added = germany["changes"]
    assert added["before"] is None
    assert added["after"]["lineage"] is None
    assert {(c["before"]["points"], c["after"]["points"]) for c in room} >= {(30, 27), (20, 18)}
    removal = data["shown"][1]["changes"][0]
    assert removal["after"] is None
    reweighting = data["reweighting"]
    assert reweighting["suggestion"]["key"] == "reweight"
    assert {(r["current"], r["fitted"]) for r in reweighting["rows"]} >= {(30, 40), (25, 15)}
    assert reweighting["current"]["tiers"][0]["win_rate"] == 0.5
    assert reweighting["fitted"]["tiers"][0]["win_rate"] == 0.6
    assert data["base"]["win_rate"] == 0.4


def test_an_unknown_profile_or_version_answers_404(
    client: Client, approved: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    as_user(client, rep)
    assert client.get("/api/v1/profiles/nope/versions/1/suggestions/").status_code == 404
    response = client.get(f"/api/v1/profiles/{approved.profile.slug}/versions/9/suggestions/")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "Mid-market SaaS has no v9."},
    )
    bad = client.get(f"/api/v1/profiles/{approved.profile.slug}/versions/x/suggestions/")
    assert bad.status_code == 404
    assert adopt(client, ProfileVersion(profile=approved.profile, number=7), {}).status_code == 404
    assert engine == []


def test_adopting_answers_201_with_the_new_draft(
    client: Client, approved: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    response = adopt(
        as_user(client, rep),
        approved,
        {"keys": ["industry-fintech", "country-de"], "team": "sales"},
    )
    assert response.status_code == 201, response.content
    data = response.json()
    draft = ProfileVersion.objects.get(profile=approved.profile, number=2)
    assert (data["number"], data["status"], data["revision"]) == (2, "draft", draft.revision)
    assert data["url"] == f"http://testserver/api/v1/profiles/{draft.profile.slug}/versions/2/"
    assert data["page"] == f"http://testserver/profiles/{draft.profile.slug}/v2/"
    assert draft.criteria.get(attribute="industry").value == ["SaaS", "Software", "Fintech"]
    assert Comment.objects.filter(version=draft, author=rep, team__slug="sales").count() == 2


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"keys": ["nope"], "team": "sales"}, "keys", "'nope'"),
        ({"keys": [], "team": "sales"}, "keys", "This list may not be empty."),
        ({"keys": "industry-fintech", "team": "sales"}, "keys", "Expected a list of items"),
        ({"keys": [3], "team": "sales"}, "keys", "Not a valid string."),
        ({"keys": ["industry-fintech"]}, "team", "This field is required."),
        ({"keys": ["industry-fintech"], "team": "nobody"}, "team", "does not exist"),
        ({"keys": ["industry-fintech"], "team": "sales", "edits": []}, "edits", "Unknown field"),
    ],
)
def test_bad_input_answers_400_naming_the_field_and_changes_nothing(
    client: Client,
    approved: ProfileVersion,
    rep: User,
    marketer: User,
    engine: list[ProfileVersion],
    body: dict[str, Any],
    field: str,
    words: str,
) -> None:
    response = adopt(as_user(client, rep), approved, body)
    assert response.status_code == 400, response.content
    assert words in str(response.json()[field])
    assert ProfileVersion.objects.filter(profile=approved.profile).count() == 1
    assert not Comment.objects.exists()


def test_adopting_for_the_live_version_while_a_draft_is_open_answers_400_naming_it(
    client: Client, approved: ProfileVersion, rep: User, engine: list[ProfileVersion]
) -> None:
    as_user(client, rep)
    adopt(client, approved, {"keys": ["industry-fintech"], "team": "sales"})
    again = adopt(client, approved, {"keys": ["country-de"], "team": "sales"})
    assert again.status_code == 400
    assert again.json() == {"version": ["v2 is open: adopt into it from its own page."]}


@pytest.mark.parametrize("who", ["marketer", "outsider"])
def test_speaking_for_a_team_one_is_not_in_answers_403_with_the_reason(
    client: Client,
    approved: ProfileVersion,
    marketer: User,
    outsider: User,
    engine: list[ProfileVersion],
    who: str,
) -> None:
    person = {"marketer": marketer, "outsider": outsider}[who]
    response = adopt(
        as_user(client, person), approved, {"keys": ["industry-fintech"], "team": "sales"}
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "You are not a member of Sales, so you cannot speak for it."
    }
    assert ProfileVersion.objects.count() == 1
    assert not Comment.objects.exists()


def test_signing_in_is_needed(client: Client, approved: ProfileVersion) -> None:
    assert client.get(url(approved)).status_code == 401
    assert adopt(client, approved, {"keys": ["x"], "team": "sales"}).status_code == 401


def test_the_engines_own_suggestions_read_and_adopt_through_the_api(
    client: Client, approved: ProfileVersion, rep: User
) -> None:
    """On a base whose outcomes follow the demo's hidden rules, without the
    engine stood in for."""
    seed_accounts(count=15_000, seed=7)
    data = as_user(client, rep).get(url(approved)).json()
    keys = [s["key"] for s in data["shown"] if s["kind"] != "reweight"]
    assert len(keys) >= 2
    assert all(0 <= v["outcomes"]["win_rate"] <= 1 for s in data["shown"] for v in s["values"])
    response = adopt(client, approved, {"keys": keys[:2], "team": "sales"})
    assert response.status_code == 201, response.content
    draft = ProfileVersion.objects.get(profile=approved.profile, number=response.json()["number"])
    assert sum(draft.criteria.filter(kind="fit").values_list("points", flat=True)) == 100
    assert Comment.objects.filter(version=draft, author=rep).count() == 2
