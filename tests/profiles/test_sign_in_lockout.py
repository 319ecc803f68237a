"""Sign-in throttling: after SIGN_IN_FAILURE_LIMIT wrong passwords for one
person from one address, that pair is locked out for SIGN_IN_COOL_OFF_MINUTES,
on the sign-in page and the admin alike, even with the right password."""

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from profiles.models import User
from scoring.api_keys import api_key_create
from tests.factories import PASSWORD, UserFactory

LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")
HOME = "10.0.0.1"
ELSEWHERE = "10.0.0.2"


@pytest.fixture
def staff(db: None) -> User:
    return UserFactory.create(username="staff", is_staff=True, is_superuser=True)


def fail(client: Client, url: str, username: str, times: int, address: str = HOME) -> None:
    for _ in range(times):
        response = client.post(
            url, {"username": username, "password": "not-it"}, REMOTE_ADDR=address
        )
        assert response.status_code in {200, 429}


def sign_in(client: Client, url: str, username: str, address: str = HOME) -> int:
    response = client.post(url, {"username": username, "password": PASSWORD}, REMOTE_ADDR=address)
    return response.status_code


def test_four_wrong_passwords_do_not_lock_anyone_out(client: Client, rep: User) -> None:
    fail(client, LOGIN, "rep", 4)
    assert sign_in(client, LOGIN, "rep") == 302
    assert int(client.session["_auth_user_id"]) == rep.pk


def test_the_fifth_wrong_password_locks_out_even_the_right_one(client: Client, rep: User) -> None:
    fail(client, LOGIN, "rep", 5)
    response = client.post(LOGIN, {"username": "rep", "password": PASSWORD}, REMOTE_ADDR=HOME)

    assert response.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in response.templates]
    assert "_auth_user_id" not in client.session
    text = response.content.decode()
    assert "Too many failed sign-ins" in text
    assert "Try again in 15 minutes" in text
    assert response["Retry-After"] == "900"


def test_the_lockout_page_says_when_to_try_again(client: Client, rep: User) -> None:
    fail(client, LOGIN, "rep", 5)
    before = timezone.localtime() + timedelta(minutes=15)
    response = client.post(LOGIN, {"username": "rep", "password": PASSWORD}, REMOTE_ADDR=HOME)
    after = timezone.localtime() + timedelta(minutes=15)

    text = response.content.decode()
    assert any(f"after {t:%H:%M}" in text for t in (before, after)), text


def test_the_admin_sign_in_locks_out_the_same_way(client: Client, staff: User) -> None:
    fail(client, ADMIN_LOGIN, "staff", 5)
    response = client.post(
        ADMIN_LOGIN, {"username": "staff", "password": PASSWORD}, REMOTE_ADDR=HOME
    )

    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failures_on_the_admin_count_towards_the_sign_in_page(client: Client, staff: User) -> None:
    fail(client, ADMIN_LOGIN, "staff", 3)
    fail(client, LOGIN, "staff", 2)
    assert sign_in(client, LOGIN, "staff") == 429


def test_the_email_and_the_username_share_one_count(client: Client, rep: User) -> None:
    fail(client, LOGIN, "rep", 3)
    fail(client, LOGIN, "REP@Example.com", 2)
    assert sign_in(client, LOGIN, "rep") == 429
    assert sign_in(client, LOGIN, "rep@example.com") == 429


def test_the_same_person_from_another_address_is_not_locked(client: Client, rep: User) -> None:
    fail(client, LOGIN, "rep", 5)
    assert sign_in(client, LOGIN, "rep", address=ELSEWHERE) == 302


def test_another_person_at_the_same_address_is_not_locked(
    client: Client, rep: User, manager: User
) -> None:
    fail(client, LOGIN, "rep", 5)
    assert sign_in(client, LOGIN, "manager") == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(
    client: Client, rep: User
) -> None:
    for n in range(5):
        client.post(
            LOGIN,
            {"username": "rep", "password": "not-it"},
            REMOTE_ADDR=HOME,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
    response = client.post(
        LOGIN,
        {"username": "rep", "password": PASSWORD},
        REMOTE_ADDR=HOME,
        HTTP_X_FORWARDED_FOR="192.0.2.99",
    )
    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_counts(
    client: Client, rep: User, settings: Any
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.9.9.9"
    for _ in range(5):
        client.post(
            LOGIN,
            {"username": "rep", "password": "not-it"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"203.0.113.7, {HOME}",
        )

    locked = client.post(
        LOGIN,
        {"username": "rep", "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=f"198.51.100.1, {HOME}",
    )
    assert locked.status_code == 429
    elsewhere = client.post(
        LOGIN,
        {"username": "rep", "password": PASSWORD},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=ELSEWHERE,
    )
    assert elsewhere.status_code == 302


def test_the_lock_lifts_after_the_cool_off(client: Client, rep: User) -> None:
    fail(client, LOGIN, "rep", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert sign_in(client, LOGIN, "rep") == 302


def test_the_limit_and_the_cool_off_come_from_settings(
    client: Client, rep: User, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=40)
    fail(client, LOGIN, "rep", 2)
    response = client.post(LOGIN, {"username": "rep", "password": PASSWORD}, REMOTE_ADDR=HOME)
    assert response.status_code == 429
    assert "Try again in 40 minutes" in response.content.decode()


def test_axes_reset_username_unlocks_the_person(client: Client, rep: User) -> None:
    fail(client, LOGIN, "rep", 5)
    call_command("axes_reset_username", "rep")
    assert sign_in(client, LOGIN, "rep") == 302


def test_a_success_before_the_limit_starts_the_count_again(client: Client, rep: User) -> None:
    fail(client, LOGIN, "rep", 4)
    assert sign_in(client, LOGIN, "rep") == 302
    client.logout()
    fail(client, LOGIN, "rep", 4)
    assert sign_in(client, LOGIN, "rep") == 302


def test_a_locked_out_person_keeps_their_api_key_and_their_session(
    client: Client, rep: User, staff: User
) -> None:
    made = api_key_create(actor=staff, name="CRM sync", user=rep, scope="read")
    fail(Client(), LOGIN, "rep", 5)

    keyed = APIClient()
    keyed.credentials(HTTP_AUTHORIZATION=f"Bearer {made.plaintext}")
    assert keyed.get("/api/v1/profiles/").status_code == 200
    client.force_login(rep)
    assert client.get("/api/v1/profiles/").status_code == 200
    assert client.get(reverse("dashboard")).status_code == 200
