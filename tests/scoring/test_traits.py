"""Traits declared and changed in the admin by the same rules as the API
(scoring.traits), and imports that cannot store values of a type the trait
no longer has."""

from typing import Any

import psycopg
import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from profiles.models import Profile, Trait, User, trait_key_problem
from scoring import sql
from scoring.api_keys import api_key_create
from scoring.ingest import importer, jobs
from scoring.ingest.importer import ImportFileError, accounts_import
from scoring.ingest.rows import declared_traits
from scoring.models import Account
from scoring.traits import TraitConflictError, trait_declare, trait_delete, trait_update
from tests.drafting import approved_version
from tests.factories import AccountFactory, CriterionFactory, UserFactory
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db

ADD = "admin:profiles_trait_add"
SEATS = {"key": "seats", "label": "Paid seats", "type": "number", "category": "firmographic"}


@pytest.fixture
def keeper() -> User:
    """Staff given the trait permissions: the admin's pages and the API's writes."""
    return UserFactory.create(
        username="keeper",
        is_staff=True,
        permissions=[
            "profiles.add_trait",
            "profiles.change_trait",
            "profiles.delete_trait",
            "profiles.view_trait",
        ],
    )


@pytest.fixture
def admin_site(keeper: User) -> Client:
    client = Client()
    client.force_login(keeper)
    return client


@pytest.fixture
def seats(db: None) -> Trait:
    return Trait.objects.create(**SEATS)


def change_url(trait: Trait) -> str:
    return reverse("admin:profiles_trait_change", args=[trait.pk])


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- One key rule ---------------------------------------------------------------------

KEYS = ["seats", "arr_band", "nps2", "Seats", "seat-count", "arr__band", "_x", "x_", "9x", "gte"]
KEYS += ["employees", "has_revops", "x" * 40, "x" * 41, "x" * 5000, "seats\x00", ""]


@pytest.mark.parametrize("key", KEYS)
def test_the_admin_and_the_api_take_or_refuse_a_key_alike(
    admin_site: Client, keeper: User, key: str
) -> None:
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION="Bearer "
        + api_key_create(actor=None, name="Admin", user=keeper, scope="admin").plaintext
    )
    body = {**SEATS, "key": key}
    through_api = api.post("/api/v1/traits/", body, format="json")
    api_took = Trait.objects.exists()
    Trait.objects.all().delete()
    through_admin = admin_site.post(reverse(ADD), body)
    admin_took = Trait.objects.exists()
    problem = trait_key_problem(key)
    assert api_took == admin_took == (problem is None)
    if problem is None:
        assert (through_api.status_code, through_admin.status_code) == (201, 302)
        return
    assert through_api.status_code == 400
    admin_errors = through_admin.context["adminform"].form.errors["key"]
    if key and "\x00" not in key:  # else the text rule or "required" speaks first
        assert through_api.json()["key"] == admin_errors == [problem]


def test_the_rule_names_what_a_key_may_hold() -> None:
    assert trait_key_problem("Seats") == (
        "'Seats' is not a trait key: use lower-case letters and digits, words joined by single "
        "underscores, starting with a letter (e.g. seats or arr_band), at most 40 characters."
    )
    assert trait_key_problem("arr_band") is None


# --- The admin through scoring.traits --------------------------------------------------


def test_the_admin_keeps_the_key_and_changes_the_label(admin_site: Client, seats: Trait) -> None:
    response = admin_site.post(
        change_url(seats),
        {**SEATS, "key": "licences", "label": "Licensed seats", "category": "behavioral"},
    )
    assert response.status_code == 302
    seats.refresh_from_db()
    assert (seats.key, seats.label, seats.category) == ("seats", "Licensed seats", "behavioral")


def test_the_admin_refuses_a_type_change_while_accounts_hold_a_value(
    admin_site: Client, seats: Trait
) -> None:
    AccountFactory.create(traits={"seats": 12})
    before = snapshot()
    response = admin_site.post(change_url(seats), {**SEATS, "type": "category"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["type"] == [
        "1 account holds a value for seats, so its type stays number: clear the values "
        "(send null for seats) or declare a new trait."
    ]
    assert snapshot() == before


def test_the_admin_changes_the_type_of_a_trait_nothing_holds(
    admin_site: Client, seats: Trait
) -> None:
    response = admin_site.post(change_url(seats), {**SEATS, "type": "category"})
    assert response.status_code == 302
    seats.refresh_from_db()
    assert seats.type == "category"


def test_a_value_stored_after_the_form_was_checked_still_stops_the_type_change(
    admin_site: Client, seats: Trait, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scoring import admin as scoring_admin

    monkeypatch.setattr(scoring_admin, "trait_type_problem", lambda **kwargs: None)
    AccountFactory.create(traits={"seats": 12})
    before = snapshot()
    response = admin_site.post(change_url(seats), {**SEATS, "type": "category"})
    assert response.status_code == 302
    assert response["Location"] == change_url(seats)
    assert messages_of(response) == [
        "1 account holds a value for seats, so its type stays number: clear the values "
        "(send null for seats) or declare a new trait."
    ]
    assert snapshot() == before


def test_the_admin_does_not_remove_a_trait_a_live_version_tests(
    admin_site: Client, seats: Trait, icp: Profile
) -> None:
    live = approved_version(icp, 1, [200, 2000])
    CriterionFactory.create(version=live, attribute="seats", operator="gte", value=10, points=0)
    before = snapshot()
    delete = reverse("admin:profiles_trait_delete", args=[seats.pk])
    for response in (admin_site.get(delete), admin_site.post(delete, {"post": "yes"})):
        assert response.status_code == 302
        assert response["Location"] == change_url(seats)
        assert messages_of(response)[-1].startswith("Criteria of Mid-market SaaS v1 (approved)")
    bulk = admin_site.post(
        reverse("admin:profiles_trait_changelist"),
        {"action": "delete_selected", "_selected_action": [seats.pk], "post": "yes"},
    )
    assert bulk.status_code < 500
    assert not any(m.startswith("Successfully deleted") for m in messages_of(bulk))
    assert snapshot() == before


def test_the_admin_removes_a_trait_nothing_holds(admin_site: Client, seats: Trait) -> None:
    response = admin_site.post(
        reverse("admin:profiles_trait_delete", args=[seats.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Trait.objects.exists()


def test_staff_without_the_permission_cannot_declare(db: None) -> None:
    staff = UserFactory.create(username="staffer", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.post(reverse(ADD), SEATS).status_code == 403
    assert not Trait.objects.exists()


# --- The services ------------------------------------------------------------------------


def test_a_declaration_names_every_bad_field_at_once(keeper: User) -> None:
    with pytest.raises(ValidationError) as caught:
        trait_declare(actor=keeper, key="Bad Key", label="", type="text", category="x\ud83d")
    assert sorted(caught.value.message_dict) == ["category", "key", "label", "type"]
    assert not Trait.objects.exists()


def test_a_label_the_database_cannot_store_is_refused(keeper: User, seats: Trait) -> None:
    with pytest.raises(ValidationError) as caught:
        trait_update(actor=keeper, trait=seats, label="Seats\x00")
    assert list(caught.value.message_dict) == ["label"]


def test_a_person_without_the_permission_changes_nothing(rep: User, seats: Trait) -> None:
    before = snapshot()
    for attempt in (
        lambda: trait_declare(actor=rep, **{**SEATS, "key": "plan"}),
        lambda: trait_update(actor=rep, trait=seats, label="Mine"),
        lambda: trait_delete(actor=rep, trait=seats),
    ):
        with pytest.raises(PermissionDenied, match="permission"):
            attempt()
    assert snapshot() == before


def test_an_account_saved_in_the_admin_with_a_null_trait_holds_no_value(
    admin_user: User, seats: Trait
) -> None:
    account = AccountFactory.create(traits={"seats": 3})
    client = Client()
    client.force_login(admin_user)
    data = {
        field: value
        for field, value in Account.objects.values().get(pk=account.pk).items()
        if value is not None
    }
    data["traits"] = '{"seats": null}'
    data["tech_stack"] = "[]"
    # The management form of the deals shown below the account (read only).
    data["deals-TOTAL_FORMS"] = data["deals-INITIAL_FORMS"] = "0"
    response = client.post(reverse("admin:scoring_account_change", args=[account.pk]), data)
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.traits == {}


# --- Imports against a trait that changed ------------------------------------------------


def test_an_import_checked_against_a_trait_that_changed_type_stores_nothing(
    manager: User, seats: Trait, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = declared_traits()  # what the rows were checked against
    Trait.objects.filter(pk=seats.pk).update(type="category")
    monkeypatch.setattr(importer, "declared_traits", lambda: checked)
    with pytest.raises(ImportFileError) as caught:
        accounts_import(
            actor=manager, rows=[{"external_id": "a-1", "name": "Acme", "traits.seats": "40"}]
        )
    assert caught.value.problems == [
        "The trait seats changed type or was removed while the rows were checked, so nothing "
        "was stored. Send the import again (GET /api/v1/traits/ lists the traits)."
    ]
    assert not Account.objects.exists()


def test_a_file_checked_against_a_trait_since_removed_stores_nothing(
    manager: User, seats: Trait, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = declared_traits()
    seats.delete()
    monkeypatch.setattr(jobs, "declared_traits", lambda: checked)
    with pytest.raises(ImportFileError, match="The trait seats changed type or was removed"):
        jobs.file_import(actor=manager, data=b"external_id,name,traits.seats\na-1,Acme,40\n")
    assert not Account.objects.exists()


def test_an_import_is_not_refused_for_a_trait_its_rows_do_not_write(
    manager: User, seats: Trait, monkeypatch: pytest.MonkeyPatch
) -> None:
    Trait.objects.create(key="plan", label="Plan", type="category", category="firmographic")
    checked = declared_traits()
    Trait.objects.filter(pk=seats.pk).update(type="category")
    monkeypatch.setattr(importer, "declared_traits", lambda: checked)
    report = accounts_import(
        actor=manager, rows=[{"external_id": "a-1", "name": "Acme", "traits.plan": "pro"}]
    )
    assert report.written
    assert Account.objects.get().traits == {"plan": "pro"}


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent transactions: PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_while_an_import_writes_a_trait_its_type_and_existence_wait_but_its_label_does_not(
    keeper: User,
) -> None:
    seats = Trait.objects.create(**SEATS)
    s = connection.settings_dict
    importing = psycopg.connect(
        host=s["HOST"] or "localhost",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
    )
    try:
        # What an import's write transaction holds (scoring.ingest.importer.traits_hold).
        importing.execute(*sql.traits_key_share(["seats"]))
        with pytest.raises(TraitConflictError, match="An import is writing accounts"):
            trait_update(actor=keeper, trait=seats, type="category")
        with pytest.raises(TraitConflictError, match="An import is writing accounts"):
            trait_delete(actor=keeper, trait=seats)
        trait_update(actor=keeper, trait=seats, label="Licensed seats")
    finally:
        importing.rollback()
        importing.close()
    seats.refresh_from_db()
    assert (seats.type, seats.label) == ("number", "Licensed seats")
    trait_update(actor=keeper, trait=seats, type="category")
    seats.refresh_from_db()
    assert seats.type == "category"
