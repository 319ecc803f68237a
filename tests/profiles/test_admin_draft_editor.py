"""The admin's draft editor writes through profiles.services: a refusal of
any part of a save stores nothing of it and is shown on the field, row or
form it concerns."""

from typing import Any

import pytest
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse

from profiles import services
from profiles.admin import ProfileVersionAdmin
from profiles.models import Criterion, Membership, ProfileVersion, Team, User
from tests.drafting import sign_all
from tests.factories import MembershipFactory
from tests.snapshots import snapshot


@pytest.fixture
def admin(admin_user: User, revops: Team) -> User:
    """The superuser, a RevOps manager like the demo's administrator."""
    MembershipFactory(user=admin_user, team=revops, role=Membership.Role.MANAGER)
    return admin_user


def change_url(version: ProfileVersion) -> str:
    return reverse("admin:profiles_profileversion_change", args=[version.pk])


def form_data(client: Client, url: str) -> dict[str, Any]:
    """What the change form posts back when nothing is touched."""
    response = client.get(url)
    assert response.status_code == 200
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data: dict[str, Any] = {}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


def row_of(data: dict[str, Any], criterion: Criterion) -> str:
    for key, value in data.items():
        if key.startswith("criteria-") and key.endswith("-id") and str(value) == str(criterion.pk):
            return key.removesuffix("-id")
    raise AssertionError(f"no row for {criterion}")


def new_row(data: dict[str, Any], version: ProfileVersion, **fields: str) -> str:
    """Add an empty criterion row to the posted data; its prefix."""
    index = int(data["criteria-TOTAL_FORMS"])
    prefix = f"criteria-{index}"
    data["criteria-TOTAL_FORMS"] = str(index + 1)
    data[f"{prefix}-version"] = str(version.pk)
    data.update({f"{prefix}-{name}": value for name, value in fields.items()})
    return prefix


def row_errors(response: Any, prefix: str) -> dict[str, list[str]]:
    rows = {f.prefix: f for f in response.context["inline_admin_formsets"][0].formset.forms}
    return dict(rows[prefix].errors)


def test_a_stale_revision_on_the_settings_alone_is_named_on_the_form_and_stores_nothing(
    admin: User, client: Client, draft: ProfileVersion, rep: User
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    loaded = draft.revision
    services.criterion_update(
        actor=rep,
        criterion=draft.criteria.get(attribute="crm"),
        revision=loaded,
        attribute="crm",
        operator="in",
        value=["Salesforce"],
        points=25,
        kind="fit",
    )
    data["threshold_a"] = "80"
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.non_field_errors() == [
        f"v1 changed after you loaded it (you had revision {loaded}, it is now {loaded + 1}): "
        f"{rep.get_full_name()} changed a criterion: CRM is one of Salesforce (value). "
        "Your input is kept below; check the current state and save again."
    ]
    assert (form["threshold_a"].value(), form["loaded_revision"].value()) == (
        "80",
        str(loaded + 1),
    )
    assert "Please correct the error below." in response.content.decode()
    assert snapshot() == before


def test_a_version_approved_after_the_form_was_loaded_refuses_the_save(
    admin: User,
    client: Client,
    in_review: ProfileVersion,
    rep: User,
    marketer: User,
    ops_manager: User,
) -> None:
    client.force_login(admin)
    url = change_url(in_review)
    data = form_data(client, url)
    crm = in_review.criteria.get(attribute="crm")
    data[f"{row_of(data, crm)}-points"] = "35"
    sign_all(in_review, rep, marketer, ops_manager)
    services.version_approve(actor=ops_manager, version=in_review)
    before = snapshot()
    assert client.post(url, data).status_code == 403
    assert snapshot() == before


def test_an_approval_landing_during_the_save_is_refused_by_the_services(
    admin: User,
    client: Client,
    in_review: ProfileVersion,
    rep: User,
    marketer: User,
    ops_manager: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The admin's own permission check passes on the version as the request
    read it; the approval lands before the first write, which the services
    refuse because the version is no longer open."""
    client.force_login(admin)
    url = change_url(in_review)
    data = form_data(client, url)
    crm = in_review.criteria.get(attribute="crm")
    data[f"{row_of(data, crm)}-points"] = "35"
    status = in_review.status
    sign_all(in_review, rep, marketer, ops_manager)
    services.version_approve(actor=ops_manager, version=in_review)
    read = ProfileVersionAdmin.get_object

    def as_read_before_the_approval(
        self: ProfileVersionAdmin, request: HttpRequest, object_id: str, from_field: Any = None
    ) -> ProfileVersion | None:
        version = read(self, request, object_id, from_field)
        assert version is not None
        version.status = status
        return version

    monkeypatch.setattr(ProfileVersionAdmin, "get_object", as_read_before_the_approval)
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert len(errors) == 1
    assert errors[0].startswith(
        "v1 is approved and can no longer change; start a new draft instead. "
        "It changed after you loaded it: "
    )
    assert snapshot() == before
    crm.refresh_from_db()
    assert crm.points == 25


@pytest.mark.parametrize(
    ("name", "typed", "error"),
    [
        ("points", "101", "Ensure this value is less than or equal to 100."),
        ("points", "ten", "Enter a whole number."),
        ("value", "[200, 2000", "Enter a valid JSON."),
        ("value", '"\\ud800"', "This text contains a lone surrogate (\\ud800) at position 0; "),
        ("rationale", "x" * 301, "Ensure this value has at most 300 characters (it has 301)."),
        ("kind", "bonus", "Select a valid choice. bonus is not one of the available choices."),
    ],
)
def test_a_bad_row_value_is_named_on_its_field_and_nothing_is_stored(
    admin: User, client: Client, draft: ProfileVersion, name: str, typed: str, error: str
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    row = row_of(data, draft.criteria.get(attribute="employees"))
    data[f"{row}-{name}"] = typed
    data["threshold_a"] = "80"
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200
    errors = row_errors(response, row)
    assert list(errors) == [name]
    assert errors[name][0].startswith(error)
    assert snapshot() == before


def test_a_new_row_the_services_refuse_is_named_on_its_field_and_nothing_is_stored(
    admin: User, client: Client, draft: ProfileVersion
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    crm = draft.criteria.get(attribute="crm")
    data[f"{row_of(data, crm)}-points"] = "35"
    added = new_row(
        data,
        draft,
        attribute="country",
        operator="in",
        value='["US", "\\ud800"]',
        points="0",
        kind="disqualifier",
    )
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200
    assert row_errors(response, added) == {
        "value": [
            "Country 'is one of': a value contains a lone surrogate (\\ud800) at position 0; "
            "send valid Unicode text."
        ]
    }
    assert row_errors(response, row_of(data, crm)) == {}
    assert snapshot() == before


def test_tier_thresholds_out_of_range_are_named_by_the_service_and_nothing_is_stored(
    admin: User, client: Client, draft: ProfileVersion
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    data["threshold_a"] = "0"
    data["threshold_b"] = "101"
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "threshold_a": ["Tier A starts at a whole number from 1 to 100."],
        "threshold_b": ["Tier B starts at a whole number from 0 to 100."],
    }
    assert snapshot() == before


def test_a_criterion_past_the_limit_is_refused_on_its_row(
    admin: User, client: Client, draft: ProfileVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("profiles.services.versions.MAX_CRITERIA", 5)
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    added = new_row(
        data, draft, attribute="country", operator="in", value='["KP"]', kind="disqualifier"
    )
    data[f"{added}-points"] = "0"
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200
    assert row_errors(response, added) == {"__all__": ["A version holds at most 5 criteria."]}
    assert snapshot() == before


def test_a_removal_after_a_refused_row_is_not_stored(
    admin: User, client: Client, draft: ProfileVersion
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    employees = draft.criteria.get(attribute="employees")
    data[f"{row_of(data, employees)}-value"] = "[5000, 10]"
    data[f"{row_of(data, draft.criteria.get(attribute='has_revops'))}-DELETE"] = "on"
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200
    assert list(row_errors(response, row_of(data, employees))) == ["value"]
    assert snapshot() == before
    assert draft.criteria.filter(attribute="has_revops").exists()
