"""Pages and forms meet hostile input: a 400 or a form error naming the
field, never a 500, and nothing stored."""

from __future__ import annotations

import pytest
from django.test import Client

from profiles.forms import CommentForm
from profiles.models import Team, User
from reviews.models import NotificationKind, ReviewMark
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


@pytest.mark.parametrize("url", ["/reviews/my-work/clear/", "/reviews/notifications/read/"])
@pytest.mark.parametrize(
    "through",
    ["0000-01-01T00:00:00Z", "2026-13-45", "9" * 40, "2026-01-01%00", "%ED%A0%BD", "%FF"],
)
def test_clearing_or_reading_through_a_bad_moment_is_a_400_naming_it(
    manager: User, url: str, through: str
) -> None:
    """`through` as a browser or a script might send it, percent-encoded:
    NUL, a lone surrogate's bytes and bytes that are no UTF-8 included."""
    client = Client()
    client.force_login(manager)
    before = snapshot()
    response = client.post(
        url, f"through={through}", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response.content.decode().startswith("through: ")
    assert snapshot() == before


@pytest.mark.parametrize("value", ["hourly", "%ED%A0%BD", "off%00", "x" * 10_000, "", "%FF"])
def test_a_hostile_notification_choice_is_refused_naming_the_kind(
    manager: User, value: str
) -> None:
    client = Client()
    client.force_login(manager)
    others = "&".join(
        f"{kind}=off" for kind in NotificationKind.values if kind != "override_waiting"
    )
    before = snapshot()
    response = client.post(
        "/reviews/notifications/preferences/",
        f"{others}&override_waiting={value}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 422
    assert "An override waits for my decision: " in response.content.decode()
    assert snapshot() == before


def test_a_notification_id_past_the_column_is_a_404(manager: User) -> None:
    client = Client()
    client.force_login(manager)
    assert client.post("/reviews/notifications/99999999999999999999/read/").status_code == 404
    assert client.get("/reviews/queue/overrides/99999999999999999999/").status_code == 404
