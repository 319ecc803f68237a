from django.test import Client
from django.urls import reverse

from profiles.models import User
from tests.factories import PASSWORD


def test_it_signs_in_with_the_username(client: Client, rep: User) -> None:
    response = client.post(reverse("login"), {"username": "rep", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_it_signs_in_with_the_email_in_any_case(client: Client, rep: User) -> None:
    response = client.post(reverse("login"), {"username": "REP@Example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == rep.pk


def test_it_rejects_a_wrong_password_with_a_message(client: Client, rep: User) -> None:
    response = client.post(reverse("login"), {"username": "rep", "password": "not-it"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_rejects_an_unknown_user(client: Client, db: None) -> None:
    response = client.post(reverse("login"), {"username": "nobody@example.com", "password": "x"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_an_inactive_user_cannot_sign_in(client: Client, rep: User) -> None:
    User.objects.filter(pk=rep.pk).update(is_active=False)
    client.post(reverse("login"), {"username": "rep", "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_sign_out_ends_the_session(client: Client, rep: User) -> None:
    client.force_login(rep)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
