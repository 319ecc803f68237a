"""/health/ says only ok or unavailable to anyone; staff also see why."""

from collections.abc import Iterator
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

from profiles.models import User
from tests.factories import UserFactory

DATABASE_ERROR = 'connection to server at "db.internal" (10.1.2.3), port 5432 failed: icpsite'


@pytest.fixture
def database_down() -> Iterator[mock.MagicMock]:
    with mock.patch("icpsite.health.database_error", return_value=DATABASE_ERROR) as check:
        yield check


def test_it_answers_ok_to_anyone_while_the_database_answers(client: Client, db: None) -> None:
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_tells_anyone_only_that_it_is_unavailable(
    client: Client, db: None, database_down: mock.MagicMock
) -> None:
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert "db.internal" not in response.content.decode()


def test_a_signed_in_person_who_is_not_staff_sees_no_details(
    client: Client, rep: User, database_down: mock.MagicMock
) -> None:
    client.force_login(rep)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


def test_staff_see_the_database_error(
    client: Client, db: None, database_down: mock.MagicMock
) -> None:
    client.force_login(UserFactory.create(username="staff", is_staff=True))
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": DATABASE_ERROR, "cache": "ok", "broker": "ok"},
    }


def test_staff_see_each_check_when_all_is_well(client: Client, db: None) -> None:
    client.force_login(UserFactory.create(username="staff", is_staff=True))
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
    }


def test_it_still_answers_when_the_session_store_is_down_too(
    client: Client, db: None, database_down: mock.MagicMock
) -> None:
    client.force_login(UserFactory.create(username="staff", is_staff=True))
    with mock.patch(
        "django.contrib.sessions.backends.db.SessionStore.load",
        side_effect=OperationalError("no database"),
    ):
        response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
