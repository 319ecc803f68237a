"""Pages and forms meet hostile input: a 400 or a form error naming the
field, never a 500, and nothing stored."""

from __future__ import annotations

import pytest
from django.test import Client

from profiles.forms import CommentForm
from profiles.models import Team, User
from reviews.models import ReviewMark
from scoring.admin import AccountAdminForm
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "override", "object_id": "99999999999999999999"}, "object_id"),
        ({"kind": "override", "object_id": "abc"}, "object_id"),
        ({"kind": "override", "object_id": "1", "occurred_at": "2026-13-45"}, "occurred_at"),
        (
            {"kind": "override", "object_id": "1", "occurred_at": "0000-01-01T00:00:00Z"},
            "occurred_at",
        ),
        (
            {"kind": "override", "object_id": "1", "occurred_at": "0001-01-01T00:00+01:00"},
            "occurred_at",
        ),
    ],
)
def test_marking_with_a_bad_id_or_date_is_a_400_naming_the_field(
    manager: User, data: dict[str, str], field: str
) -> None:
    client = Client()
    client.force_login(manager)
    before = snapshot()
    response = client.post("/reviews/marks/", data)
    assert response.status_code == 400
    assert response.content.decode().startswith(f"{field}: ")
    assert snapshot() == before


def test_marking_with_a_good_date_still_marks(manager: User) -> None:
    client = Client()
    client.force_login(manager)
    data = {"kind": "override", "object_id": "7", "occurred_at": "2026-11-30T09:30:00+01:00"}
    response = client.post("/reviews/marks/", data)
    assert response.status_code == 302
    assert ReviewMark.objects.get().object_id == 7


def test_a_page_form_refuses_a_lone_surrogate_naming_it(sales: Team) -> None:
    form = CommentForm(data={"team": sales.pk, "body": "Hi \ud83d"}, teams=Team.objects.all())
    assert not form.is_valid()
    assert form.errors["body"] == [
        "This text contains a lone surrogate (\\ud83d) at position 3; send valid Unicode text."
    ]


def test_the_account_admin_refuses_a_surrogate_in_traits_and_tools(db: None) -> None:
    form = AccountAdminForm(
        data={
            "external_id": "a1",
            "name": "Acme",
            "tech_stack": '["slack", "\\ud83d"]',
            "traits": '{"seats": "\\udc00"}',
        }
    )
    assert not form.is_valid()
    assert "lone surrogate" in str(form.errors["tech_stack"])
    assert "lone surrogate" in str(form.errors["traits"])
