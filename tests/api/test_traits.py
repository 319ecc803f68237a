"""Traits through the API: anyone signed in lists them with how many accounts
hold a value; an admin key of someone with the trait permissions declares,
changes and removes them, on the same terms as the admin."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from profiles.models import Profile, ProfileVersion, Trait, User
from scoring.api_keys import api_key_create
from scoring.models import Account
from tests.drafting import approved_version
from tests.factories import AccountFactory, CriterionFactory, UserFactory
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db

TRAITS = "/api/v1/traits/"
SEATS = {"key": "seats", "label": "Paid seats", "type": "number", "category": "firmographic"}


@pytest.fixture
def integrator() -> User:
    """An integration's user, given the three trait permissions and nothing else."""
    return UserFactory.create(
        username="integrator",
        permissions=["profiles.add_trait", "profiles.change_trait", "profiles.delete_trait"],
    )


def keyed(user: User, scope: str) -> APIClient:
    client = APIClient()
    made = api_key_create(actor=None, name=f"{scope} key", user=user, scope=scope)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {made.plaintext}")
    return client


@pytest.fixture
def admin_key(integrator: User) -> APIClient:
    return keyed(integrator, "admin")


@pytest.fixture
def seats(db: None) -> Trait:
    return Trait.objects.create(**SEATS, help="Seats on the contract.")


def test_the_list_shows_each_trait_with_how_many_accounts_hold_a_value(
    seats: Trait, outsider: User
) -> None:
    Trait.objects.create(key="regions", label="Regions", type="list", category="environmental")
    AccountFactory.create(traits={"seats": 120, "regions": ["emea"]})
    AccountFactory.create(traits={"seats": 8})
    AccountFactory.create(traits={})
    response = keyed(outsider, "read").get(TRAITS)
    assert response.status_code == 200
    assert response.json() == [
        {
            "key": "regions",
            "label": "Regions",
            "help": "",
            "type": "list",
            "category": "environmental",
            "operators": ["contains_any", "contains_all"],
            "accounts_with_value": 1,
        },
        {
            "key": "seats",
            "label": "Paid seats",
            "help": "Seats on the contract.",
            "type": "number",
            "category": "firmographic",
            "operators": ["between", "gte", "lte", "eq"],
            "accounts_with_value": 2,
        },
    ]


def test_one_trait_is_read_by_its_key_and_an_unknown_key_is_a_404(
    seats: Trait, outsider: User
) -> None:
    client = keyed(outsider, "read")
    assert client.get(f"{TRAITS}seats/").json()["label"] == "Paid seats"
    missing = client.get(f"{TRAITS}nps/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No trait 'nps'; GET /api/v1/traits/ lists them."}


def test_an_admin_key_declares_a_trait(admin_key: APIClient) -> None:
    response = admin_key.post(TRAITS, {**SEATS, "help": "On the contract."}, format="json")
    assert response.status_code == 201
    assert response.json() == {
        **SEATS,
        "help": "On the contract.",
        "operators": ["between", "gte", "lte", "eq"],
        "accounts_with_value": 0,
    }
    trait = Trait.objects.get()
    assert (trait.key, trait.label, trait.type, trait.help) == (
        "seats",
        "Paid seats",
        "number",
        "On the contract.",
    )


def test_a_declared_trait_takes_values_at_once(admin_key: APIClient, manager: User) -> None:
    admin_key.post(TRAITS, SEATS, format="json")
    response = keyed(manager, "write").post(
        "/api/v1/accounts/bulk-upsert/",
        {"accounts": [{"external_id": "a-1", "name": "Acme", "traits": {"seats": 40}}]},
        format="json",
    )
    assert response.status_code == 200
    assert Account.objects.get().traits == {"seats": 40}


@pytest.mark.parametrize("scope", ["read", "write"])
def test_only_an_admin_key_declares_a_trait(integrator: User, scope: str) -> None:
    before = snapshot()
    response = keyed(integrator, scope).post(TRAITS, SEATS, format="json")
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "may only read" in detail if scope == "read" else "needs an admin key" in detail
    assert snapshot() == before


def test_an_admin_key_reaches_no_further_than_its_user(manager: User) -> None:
    before = snapshot()
    response = keyed(manager, "admin").post(TRAITS, SEATS, format="json")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "To declare traits you need the permission 'Can add trait' "
        "(profiles.add_trait); ask an administrator."
    }
    assert snapshot() == before


def test_a_person_with_the_permission_declares_through_the_session(integrator: User) -> None:
    client = APIClient()
    client.force_login(integrator)
    assert client.post(TRAITS, SEATS, format="json").status_code == 201
    assert Trait.objects.filter(key="seats").exists()


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("employees", "is the key of the built-in attribute Employees"),
        ("tech_stack", "is the key of the built-in attribute Tech stack"),
        ("contains", "a word the database reads as an operation"),
        ("Seats", "is not a trait key"),
        ("seat-count", "is not a trait key"),
        ("arr__band", "is not a trait key"),
        ("seats_", "is not a trait key"),
        ("2024_seats", "is not a trait key"),
        ("s" * 41, "at most 40 characters"),
    ],
)
def test_a_key_against_the_rule_is_refused_naming_key(
    admin_key: APIClient, key: str, problem: str
) -> None:
    response = admin_key.post(TRAITS, {**SEATS, "key": key}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["key"]
    assert problem in " ".join(response.json()["key"])
    assert not Trait.objects.exists()


def test_a_key_declared_already_is_refused(admin_key: APIClient, seats: Trait) -> None:
    response = admin_key.post(TRAITS, {**SEATS, "type": "category"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"key": ["A trait with this key is already declared."]}
    seats.refresh_from_db()
    assert seats.type == "number"


def test_label_help_and_category_change(admin_key: APIClient, seats: Trait) -> None:
    AccountFactory.create(traits={"seats": 3})
    response = admin_key.patch(
        f"{TRAITS}seats/",
        {"label": "Licensed seats", "help": "", "category": "behavioral"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["accounts_with_value"] == 1
    seats.refresh_from_db()
    assert (seats.label, seats.help, seats.category, seats.type) == (
        "Licensed seats",
        "",
        "behavioral",
        "number",
    )


@pytest.mark.parametrize(
    "body",
    [{"key": "licences"}, {}, {"label": ""}, {"type": "text"}],
    ids=["key", "nothing", "blank label", "no such type"],
)
def test_a_patch_that_changes_nothing_allowed_is_refused(
    admin_key: APIClient, seats: Trait, body: dict[str, Any]
) -> None:
    before = snapshot()
    response = admin_key.patch(f"{TRAITS}seats/", body, format="json")
    assert response.status_code == 400
    assert snapshot() == before


def test_the_type_changes_while_no_account_holds_a_value(
    admin_key: APIClient, seats: Trait
) -> None:
    AccountFactory.create(traits={})
    response = admin_key.patch(f"{TRAITS}seats/", {"type": "category"}, format="json")
    assert response.status_code == 200
    assert response.json()["operators"] == ["eq", "in", "not_in"]
    seats.refresh_from_db()
    assert seats.type == "category"


def test_the_type_stays_while_accounts_hold_a_value(admin_key: APIClient, seats: Trait) -> None:
    AccountFactory.create_batch(2, traits={"seats": 40})
    before = snapshot()
    response = admin_key.patch(
        f"{TRAITS}seats/", {"type": "category", "label": "Seat band"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "type": [
            "2 accounts hold a value for seats, so its type stays number: clear the values "
            "(send null for seats) or declare a new trait."
        ]
    }
    assert snapshot() == before


def test_the_type_stays_while_a_live_version_tests_the_trait(
    admin_key: APIClient, seats: Trait, icp: Profile
) -> None:
    live = approved_version(icp, 1, [200, 2000])
    CriterionFactory.create(version=live, attribute="seats", operator="gte", value=10, points=0)
    before = snapshot()
    response = admin_key.patch(f"{TRAITS}seats/", {"type": "list"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "type": [
            "Criteria of Mid-market SaaS v1 (approved) test seats, so its type stays number "
            "while a live or open version does."
        ]
    }
    assert snapshot() == before


def test_a_trait_nothing_holds_on_to_is_removed(
    admin_key: APIClient, seats: Trait, icp: Profile
) -> None:
    old = approved_version(icp, 1, [200, 2000], status=ProfileVersion.Status.SUPERSEDED)
    CriterionFactory.create(version=old, attribute="seats", operator="gte", value=10, points=0)
    response = admin_key.delete(f"{TRAITS}seats/")
    assert response.status_code == 204
    assert not Trait.objects.exists()


@pytest.mark.parametrize("held_by", ["an account", "a draft"])
def test_a_trait_in_use_is_not_removed(
    admin_key: APIClient, seats: Trait, draft: ProfileVersion, held_by: str
) -> None:
    if held_by == "an account":
        AccountFactory.create(traits={"seats": 40})
        expected = (
            "1 account holds a value for seats; clear the values (send null for seats) first."
        )
    else:
        CriterionFactory.create(version=draft, attribute="seats", operator="gte", value=1)
        expected = (
            "Criteria of Mid-market SaaS v1 (draft) test seats; remove them from the open "
            "versions and approve a version without them first."
        )
    before = snapshot()
    response = admin_key.delete(f"{TRAITS}seats/")
    assert response.status_code == 409
    assert response.json() == {"detail": expected}
    assert snapshot() == before


def test_a_row_with_an_undeclared_trait_points_to_the_list(seats: Trait, manager: User) -> None:
    response = keyed(manager, "write").post(
        "/api/v1/accounts/bulk-upsert/",
        {"accounts": [{"external_id": "a-1", "name": "Acme", "traits": {"nps": 9}}]},
        format="json",
    )
    assert response.status_code == 400
    [message] = response.json()["results"][0]["errors"]["traits.nps"]
    assert message == (
        "no trait 'nps' is declared (declared traits: seats; "
        "GET /api/v1/traits/ lists each with its type)"
    )


def test_the_schema_documents_the_traits_endpoints_and_who_may_write(outsider: User) -> None:
    schema = keyed(outsider, "read").get("/api/schema/", {"format": "json"}).json()
    listed, one = schema["paths"][TRAITS], schema["paths"][f"{TRAITS}{{key}}/"]
    assert sorted(listed) == ["get", "post"]
    assert sorted(m for m in one if m != "parameters") == ["delete", "get", "patch"]
    assert "an admin key" in listed["post"]["description"]
    assert "409" in one["delete"]["responses"]
    assert schema["components"]["schemas"]["Trait"]["required"] == [
        "accounts_with_value",
        "category",
        "help",
        "key",
        "label",
        "operators",
        "type",
    ]
