"""API keys: shown once, stored as a digest, scoped, revocable, throttled."""

import hashlib
import io

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from profiles.models import Profile, User
from scoring.api_keys import api_key_create, api_key_revoke
from scoring.models import ApiKey
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PROFILES = "/api/v1/profiles/"


@pytest.fixture
def staff() -> User:
    return UserFactory.create(username="staff", is_staff=True, is_superuser=True)


def keyed(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def test_a_key_is_stored_as_a_digest_and_authenticates_as_its_user(staff: User) -> None:
    made = api_key_create(actor=staff, name="Salesforce sync", user=staff, scope="read")
    key = ApiKey.objects.get()
    assert made.plaintext.startswith(f"icp_{key.prefix}_")
    assert made.plaintext not in {key.digest, key.prefix, key.name}
    assert key.digest == hashlib.sha256(made.plaintext.encode()).hexdigest()
    assert key.last_used_at is None
    response = keyed(made.plaintext).get(PROFILES)
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_anonymous_requests_get_401_with_a_bearer_challenge(db: None) -> None:
    response = APIClient().get(PROFILES)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize(
    "header",
    ["Bearer icp_0123456789_nope", "Bearer", "Bearer a b", "Bearer not-a-key"],
)
def test_a_wrong_key_gets_401_and_says_so(db: None, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(PROFILES)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_revoked_key_stops_working_at_once(staff: User) -> None:
    made = api_key_create(actor=staff, name="HubSpot", user=staff, scope="write")
    assert keyed(made.plaintext).get(PROFILES).status_code == 200
    api_key_revoke(actor=staff, key=made.key)
    response = keyed(made.plaintext).get(PROFILES)
    assert response.status_code == 401
    assert response.json() == {"detail": "The API key is not valid or has been revoked."}


def test_a_read_key_cannot_write_and_nothing_changes(staff: User, icp: Profile) -> None:
    made = api_key_create(actor=staff, name="Reader", user=staff, scope="read")
    before = Profile.objects.count()
    response = keyed(made.plaintext).post(PROFILES, {"name": "Other"}, format="json")
    assert response.status_code == 403
    assert "may only read" in response.json()["detail"]
    assert Profile.objects.count() == before


def test_only_staff_make_keys(rep: User) -> None:
    with pytest.raises(PermissionDenied):
        api_key_create(actor=rep, name="Mine", user=rep, scope="write")
    assert not ApiKey.objects.exists()


def test_over_the_rate_a_key_gets_429_with_retry_after(staff: User, settings: object) -> None:
    settings.API_THROTTLE_RATE = "2/minute"  # type: ignore[attr-defined]
    cache.clear()
    made = api_key_create(actor=staff, name="Busy", user=staff, scope="read")
    client = keyed(made.plaintext)
    assert [client.get(PROFILES).status_code for _ in range(2)] == [200, 200]
    refused = client.get(PROFILES)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    other = api_key_create(actor=staff, name="Other", user=staff, scope="read")
    assert keyed(other.plaintext).get(PROFILES).status_code == 200
    cache.clear()


def test_the_admin_makes_a_key_and_shows_it_once(staff: User) -> None:
    client = Client()
    client.force_login(staff)
    response = client.post(
        "/admin/scoring/apikey/add/",
        {"name": "Salesforce sync", "user": staff.pk, "scope": "write"},
    )
    assert response.status_code == 302
    key = ApiKey.objects.get()
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    plaintext = next(
        word for m in shown for word in m.split() if word.startswith(f"icp_{key.prefix}_")
    )
    assert keyed(plaintext).get(PROFILES).status_code == 200
    assert plaintext in client.get(response["Location"]).content.decode()
    again = client.get(f"/admin/scoring/apikey/{key.pk}/change/").content.decode()
    assert plaintext not in again
    client.post("/admin/scoring/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_the_command_prints_a_new_key(staff: User) -> None:
    out = io.StringIO()
    call_command("api_key_create", "staff", "--name", "CI", "--scope", "write", stdout=out)
    plaintext = out.getvalue().strip()
    assert ApiKey.objects.get().scope == "write"
    assert keyed(plaintext).get(PROFILES).status_code == 200


@pytest.mark.parametrize("scope", ["read", "write", "admin"])
def test_the_admin_and_the_command_make_a_key_of_each_scope(staff: User, scope: str) -> None:
    client = Client()
    client.force_login(staff)
    client.post("/admin/scoring/apikey/add/", {"name": "Made", "user": staff.pk, "scope": scope})
    call_command("api_key_create", "staff", "--name", "Run", "--scope", scope, stdout=io.StringIO())
    keys = ApiKey.objects.order_by("name")
    assert [(k.name, k.scope) for k in keys] == [("Made", scope), ("Run", scope)]
    assert [(k.can_write, k.can_administer) for k in keys] == 2 * [
        {"read": (False, False), "write": (True, False), "admin": (True, True)}[scope]
    ]


@pytest.fixture
def key_clerk(db: None) -> User:
    """Staff with the one admin permission of adding API keys, and nothing else."""
    clerk = UserFactory.create(username="clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="add_apikey"))
    return clerk


def test_staff_make_keys_for_themselves_only(key_clerk: User, staff: User) -> None:
    with pytest.raises(PermissionDenied, match="for yourself only"):
        api_key_create(actor=key_clerk, name="Borrowed", user=staff, scope="write")
    assert not ApiKey.objects.exists()
    mine = api_key_create(actor=key_clerk, name="Mine", user=key_clerk, scope="read")
    assert mine.key.user == key_clerk


def test_the_admin_refuses_a_key_for_someone_else_naming_the_user_field(
    key_clerk: User, staff: User
) -> None:
    client = Client()
    client.force_login(key_clerk)
    response = client.post(
        "/admin/scoring/apikey/add/", {"name": "Borrowed", "user": staff.pk, "scope": "write"}
    )
    assert response.status_code == 200
    assert "user" in response.context["adminform"].form.errors
    assert not ApiKey.objects.exists()
    before = Profile.objects.count()
    assert keyed_profiles_post_is_refused(key_clerk)
    assert Profile.objects.count() == before


def keyed_profiles_post_is_refused(user: User) -> bool:
    """The person's own key reaches no further than they do."""
    made = api_key_create(actor=user, name="Own", user=user, scope="write")
    response = keyed(made.plaintext).post(
        PROFILES, {"name": "Enterprise", "required_teams": []}, format="json"
    )
    return response.status_code == 403


def test_a_superuser_makes_a_key_for_an_integration_user(staff: User, rep: User) -> None:
    made = api_key_create(actor=staff, name="CRM", user=rep, scope="write")
    assert made.key.user == rep


def test_staff_see_and_revoke_only_their_own_keys(key_clerk: User, staff: User) -> None:
    theirs = api_key_create(actor=staff, name="Admin's sync", user=staff, scope="write")
    mine = api_key_create(actor=key_clerk, name="Mine", user=key_clerk, scope="read")
    key_clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_apikey", "view_apikey"])
    )
    client = Client()
    client.force_login(key_clerk)
    listed = client.get("/admin/scoring/apikey/").content.decode()
    assert "Mine" in listed
    assert "Admin&#x27;s sync" not in listed
    assert "Admin's sync" not in listed
    client.post("/admin/scoring/apikey/", {"action": "revoke", "_selected_action": [theirs.key.pk]})
    with pytest.raises(PermissionDenied, match="only they or a superuser revoke it"):
        api_key_revoke(actor=key_clerk, key=theirs.key)
    theirs.key.refresh_from_db()
    assert theirs.key.revoked_at is None
    api_key_revoke(actor=key_clerk, key=mine.key)
    mine.key.refresh_from_db()
    assert mine.key.revoked_at is not None
