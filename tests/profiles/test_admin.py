"""The admin for profiles and versions: drafts saved through the services,
frozen versions read-only, the start-draft and approve actions."""

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from profiles import services
from profiles.models import (
    Criterion,
    Membership,
    Profile,
    ProfileVersion,
    Team,
    Trait,
    User,
    VersionEvent,
)
from scoring.models import ScoringRun
from tests.drafting import sign_all
from tests.factories import MembershipFactory
from tests.snapshots import snapshot


@pytest.fixture
def admin(admin_user: User, revops: Team) -> User:
    """The superuser, a RevOps manager like the demo's administrator."""
    MembershipFactory.create(user=admin_user, team=revops, role=Membership.Role.MANAGER)
    return admin_user


def change_url(version: ProfileVersion) -> str:
    return reverse("admin:profiles_profileversion_change", args=[version.pk])


def changelist_url() -> str:
    return reverse("admin:profiles_profileversion_changelist")


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


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Traits and profiles ----------------------------------------------------------


def test_a_trait_is_added_and_its_key_is_fixed_afterwards(admin: User, client: Client) -> None:
    client.force_login(admin)
    response = client.post(
        reverse("admin:profiles_trait_add"),
        {"key": "seats", "label": "Seats", "type": "number", "category": "firmographic"},
    )
    assert response.status_code == 302
    trait = Trait.objects.get()
    client.post(
        reverse("admin:profiles_trait_change", args=[trait.pk]),
        {
            "key": "licences",
            "label": "Licensed seats",
            "type": "number",
            "category": "behavioral",
        },
    )
    trait.refresh_from_db()
    assert (trait.key, trait.label, trait.category) == ("seats", "Licensed seats", "behavioral")


def test_a_profile_is_created_with_its_teams_admins_and_cadence(
    admin: User, client: Client, sales: Team, marketing: Team, revops: Team
) -> None:
    client.force_login(admin)
    response = client.post(
        reverse("admin:profiles_profile_add"),
        {
            "name": "Enterprise",
            "slug": "enterprise",
            "description": "Companies above 2,000 people.",
            "required_teams": [sales.pk, marketing.pk],
            "approving_teams": [revops.pk],
            "admins": [admin.pk],
            "checkin_cadence": Profile.Cadence.HALF_YEARLY,
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    profile = Profile.objects.get(slug="enterprise")
    assert profile.created_by == admin
    assert sorted(profile.required_teams.values_list("slug", flat=True)) == ["marketing", "sales"]
    assert list(profile.approving_teams.values_list("slug", flat=True)) == ["revops"]
    assert list(profile.admins.all()) == [admin]
    assert profile.checkin_cadence == 6


def test_a_profile_needs_a_team_whose_sign_off_counts(admin: User, client: Client) -> None:
    client.force_login(admin)
    response = client.post(
        reverse("admin:profiles_profile_add"),
        {
            "name": "Enterprise",
            "slug": "enterprise",
            "checkin_cadence": 3,
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["required_teams"] == [
        "This field is required."
    ]
    assert not Profile.objects.exists()


def test_a_profile_with_versions_is_not_deleted_with_them(
    admin: User, client: Client, approved: ProfileVersion
) -> None:
    client.force_login(admin)
    profile = approved.profile
    response = client.post(
        reverse("admin:profiles_profile_delete", args=[profile.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert ProfileVersion.objects.filter(profile=profile).count() == 1


# --- Versions: no raw add, frozen ones read-only ----------------------------------


def test_versions_are_not_added_through_the_raw_form(admin: User, client: Client) -> None:
    client.force_login(admin)
    assert client.get(reverse("admin:profiles_profileversion_add")).status_code == 403
    assert not ProfileVersion.objects.exists()


def test_an_approved_version_is_shown_read_only_with_its_activity(
    admin: User, client: Client, approved: ProfileVersion
) -> None:
    client.force_login(admin)
    response = client.get(change_url(approved))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="_save"' not in content
    assert 'name="threshold_a"' not in content
    assert 'name="criteria-0-points"' not in content
    assert 'name="criteria-0-DELETE"' not in content
    assert f"Approved v1 at revision {approved.revision}; it is now live." in content
    for inline in response.context["inline_admin_formsets"]:
        assert not inline.has_add_permission
        assert not inline.has_change_permission
        assert not inline.has_delete_permission


@pytest.mark.parametrize("frozen", ["approved", "superseded"])
def test_a_post_to_a_frozen_version_changes_nothing(
    admin: User,
    client: Client,
    approved: ProfileVersion,
    rep: User,
    marketer: User,
    frozen: str,
) -> None:
    client.force_login(admin)
    if frozen == "superseded":
        v2 = services.version_start_draft(actor=rep, profile=approved.profile)
        services.version_submit(actor=rep, version=v2)
        sign_all(v2, rep, marketer, admin)
        services.version_approve(actor=admin, version=v2)
    version = ProfileVersion.objects.get(pk=approved.pk)
    assert version.status == frozen
    draft_like = {
        "rationale": "Changed behind everyone's back",
        "threshold_a": "90",
        "threshold_b": "10",
        "loaded_revision": str(version.revision),
        "criteria-TOTAL_FORMS": "6",
        "criteria-INITIAL_FORMS": "5",
        "criteria-0-id": str(version.criteria.get(attribute="employees").pk),
        "criteria-0-version": str(version.pk),
        "criteria-0-attribute": "employees",
        "criteria-0-operator": "between",
        "criteria-0-value": "[1, 5]",
        "criteria-0-points": "30",
        "criteria-0-kind": "fit",
        "criteria-1-id": str(version.criteria.get(attribute="crm").pk),
        "criteria-1-version": str(version.pk),
        "criteria-1-DELETE": "on",
        "criteria-5-version": str(version.pk),
        "criteria-5-attribute": "country",
        "criteria-5-operator": "in",
        "criteria-5-value": '["US"]',
        "criteria-5-kind": "disqualifier",
        "criteria-5-points": "0",
    }
    before = snapshot()
    assert client.post(change_url(version), draft_like).status_code == 403
    assert (
        client.post(
            reverse("admin:profiles_profileversion_delete", args=[version.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert snapshot() == before
    assert ProfileVersion.objects.filter(pk=version.pk).exists()


def test_no_version_can_be_deleted(admin: User, client: Client, draft: ProfileVersion) -> None:
    client.force_login(admin)
    response = client.post(
        reverse("admin:profiles_profileversion_delete", args=[draft.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert ProfileVersion.objects.filter(pk=draft.pk).exists()


# --- Drafts: every write through the services ---------------------------------------


def test_a_criterion_edited_in_the_admin_takes_the_next_revision_and_is_logged(
    admin: User, client: Client, draft: ProfileVersion
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    employees = draft.criteria.get(attribute="employees")
    data[f"{row_of(data, employees)}-value"] = "[150, 2000]"
    revision = draft.revision
    response = client.post(url, data)
    assert response.status_code == 302
    employees.refresh_from_db()
    draft.refresh_from_db()
    assert employees.value == [150, 2000]
    assert draft.revision == revision + 1
    event = draft.events.first()
    assert event is not None
    assert (event.verb, event.actor, event.revision) == (
        VersionEvent.Verb.CRITERION_CHANGED,
        admin,
        revision + 1,
    )
    assert event.summary == "Employees is between 150 and 2,000 (value)"
    assert event.before is not None
    assert event.before["value"] == [200, 2000]


def test_adding_changing_and_removing_in_one_save_take_a_revision_each(
    admin: User, client: Client, draft: ProfileVersion
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    crm = draft.criteria.get(attribute="crm")
    has_revops = draft.criteria.get(attribute="has_revops")
    data[f"{row_of(data, crm)}-points"] = "35"
    data[f"{row_of(data, has_revops)}-DELETE"] = "on"
    total = int(data["criteria-TOTAL_FORMS"])
    data.update(
        {
            "criteria-TOTAL_FORMS": str(total + 1),
            f"criteria-{total}-version": str(draft.pk),
            f"criteria-{total}-attribute": "country",
            f"criteria-{total}-operator": "in",
            f"criteria-{total}-value": '["KP", "IR"]',
            f"criteria-{total}-points": "0",
            f"criteria-{total}-kind": "disqualifier",
            f"criteria-{total}-category": "",
            f"criteria-{total}-rationale": "Embargoed countries.",
        }
    )
    revision = draft.revision
    assert client.post(url, data).status_code == 302
    draft.refresh_from_db()
    assert draft.revision == revision + 3
    assert sorted(draft.criteria.values_list("attribute", "points", "kind")) == [
        ("country", 0, "disqualifier"),
        ("crm", 35, "fit"),
        ("employees", 30, "fit"),
        ("funding_stage", 15, "fit"),
        ("industry", 20, "fit"),
    ]
    country = draft.criteria.get(attribute="country")
    assert (country.category, country.value, country.rationale) == (
        "firmographic",
        ["KP", "IR"],
        "Embargoed countries.",
    )
    latest = list(draft.events.values_list("verb", "revision", "actor__username")[:3])
    assert sorted(latest, key=lambda e: e[1]) == [
        (VersionEvent.Verb.CRITERION_CHANGED, revision + 1, "admin"),
        (VersionEvent.Verb.CRITERION_REMOVED, revision + 2, "admin"),
        (VersionEvent.Verb.CRITERION_ADDED, revision + 3, "admin"),
    ]


def test_a_bad_value_is_named_on_its_row_and_nothing_of_the_save_is_stored(
    admin: User, client: Client, draft: ProfileVersion
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    crm = draft.criteria.get(attribute="crm")
    employees = draft.criteria.get(attribute="employees")
    data[f"{row_of(data, crm)}-points"] = "35"
    data[f"{row_of(data, employees)}-value"] = "[5000, 10]"
    data["threshold_a"] = "80"
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200
    rows = {f.prefix: f for f in response.context["inline_admin_formsets"][0].formset.forms}
    assert rows[row_of(data, employees)].errors == {
        "value": [
            "Employees 'is between' needs two numbers [low, high] with low <= high, each "
            "between -1,000,000,000,000,000 and 1,000,000,000,000,000."
        ]
    }
    assert rows[row_of(data, crm)].errors == {}
    assert "Please correct the error below." in response.content.decode()
    assert snapshot() == before


def test_a_bad_attribute_operator_pair_names_the_operator(
    admin: User, client: Client, draft: ProfileVersion
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    employees = draft.criteria.get(attribute="employees")
    data[f"{row_of(data, employees)}-operator"] = "is_true"
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200
    rows = {f.prefix: f for f in response.context["inline_admin_formsets"][0].formset.forms}
    assert rows[row_of(data, employees)].errors == {
        "operator": ["Employees takes one of: is between, is at least, is at most, is."]
    }
    assert snapshot() == before


def test_thresholds_are_saved_through_version_update(
    admin: User, client: Client, draft: ProfileVersion
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    data["threshold_a"] = "75"
    revision = draft.revision
    assert client.post(url, data).status_code == 302
    draft.refresh_from_db()
    assert (draft.threshold_a, draft.threshold_b, draft.revision) == (75, 40, revision + 1)
    event = draft.events.first()
    assert event is not None
    assert (event.verb, event.summary, event.actor) == (
        VersionEvent.Verb.EDITED,
        "Changed tier A from 70 to 75.",
        admin,
    )


def test_thresholds_out_of_order_are_named_and_nothing_is_stored(
    admin: User, client: Client, draft: ProfileVersion
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    data["threshold_a"] = "50"
    data["threshold_b"] = "60"
    crm = draft.criteria.get(attribute="crm")
    data[f"{row_of(data, crm)}-points"] = "35"
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "threshold_b": ["Tier B must start below tier A (50)."]
    }
    assert snapshot() == before


def test_a_save_based_on_a_stale_revision_says_who_changed_what_and_stores_nothing(
    admin: User, client: Client, draft: ProfileVersion, rep: User
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    crm = draft.criteria.get(attribute="crm")
    services.criterion_update(
        actor=rep,
        criterion=crm,
        revision=draft.revision,
        attribute="crm",
        operator="in",
        value=["Salesforce"],
        points=25,
        kind="fit",
    )
    data[f"{row_of(data, crm)}-points"] = "35"
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert len(errors) == 1
    assert errors[0].startswith(
        f"v1 changed after you loaded it (you had revision {draft.revision - 1}, "
        f"it is now {draft.revision}): {rep.get_full_name()} changed a criterion: "
        "CRM is one of Salesforce (value)."
    )
    assert snapshot() == before
    crm.refresh_from_db()
    assert (crm.value, crm.points) == (["Salesforce"], 25)


def test_after_a_stale_refusal_the_kept_input_saves_on_the_current_revision(
    admin: User, client: Client, draft: ProfileVersion, rep: User
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    data = form_data(client, url)
    industry = draft.criteria.get(attribute="industry")
    services.version_update(
        actor=rep,
        version=draft,
        revision=draft.revision,
        rationale="Sharper segment",
        threshold_a=70,
        threshold_b=40,
    )
    data[f"{row_of(data, industry)}-value"] = '["SaaS", "Software", "Fintech"]'
    data["rationale"] = "Sharper segment"
    refused = client.post(url, data)
    assert refused.status_code == 200
    kept = refused.context["adminform"].form
    assert kept["loaded_revision"].value() == str(draft.revision)
    assert kept["rationale"].value() == "Sharper segment"
    data["loaded_revision"] = kept["loaded_revision"].value()
    assert client.post(url, data).status_code == 302
    industry.refresh_from_db()
    draft.refresh_from_db()
    assert industry.value == ["SaaS", "Software", "Fintech"]
    assert (draft.rationale, draft.revision) == (
        "Sharper segment",
        int(data["loaded_revision"]) + 1,
    )


def test_an_administrator_in_no_team_is_refused_by_the_same_rules(
    admin_user: User, client: Client, draft: ProfileVersion
) -> None:
    client.force_login(admin_user)
    url = change_url(draft)
    data = form_data(client, url)
    crm = draft.criteria.get(attribute="crm")
    data[f"{row_of(data, crm)}-points"] = "35"
    before = snapshot()
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "You are in no team, so you can read but not change anything."
    ]
    assert snapshot() == before


def test_a_save_with_no_changes_writes_nothing(
    admin: User, client: Client, draft: ProfileVersion
) -> None:
    client.force_login(admin)
    url = change_url(draft)
    before = snapshot()
    assert client.post(url, form_data(client, url)).status_code == 302
    assert snapshot() == before


def test_sign_offs_and_comments_are_shown_but_not_editable_on_a_draft(
    admin: User, client: Client, in_review: ProfileVersion, rep: User, sales: Team
) -> None:
    services.signoff_give(actor=rep, version=in_review, team=sales, decision="approve")
    services.comment_create(actor=rep, version=in_review, team=sales, body="Looks right to us.")
    client.force_login(admin)
    response = client.get(change_url(in_review))
    content = response.content.decode()
    assert "Looks right to us." in content
    assert "Current revision" in content
    assert 'name="comments-0-body"' not in content
    assert 'name="signoffs-0-decision"' not in content
    assert 'name="criteria-0-points"' in content
    editable = {
        inline.formset.prefix: inline.has_change_permission
        for inline in response.context["inline_admin_formsets"]
    }
    assert editable == {"criteria": True, "signoffs": False, "comments": False, "events": False}


# --- Actions -------------------------------------------------------------------------


def test_start_draft_copies_the_chosen_version(
    admin: User, client: Client, approved: ProfileVersion
) -> None:
    client.force_login(admin)
    response = client.post(
        changelist_url(), {"action": "start_draft_from", "_selected_action": [approved.pk]}
    )
    assert response.status_code == 302
    v2 = ProfileVersion.objects.get(profile=approved.profile, number=2)
    assert (v2.status, v2.parent, v2.created_by) == ("draft", approved, admin)
    assert sorted(v2.criteria.values_list("lineage", "attribute", "points")) == sorted(
        approved.criteria.values_list("lineage", "attribute", "points")
    )
    assert messages_of(response) == ["Started Mid-market SaaS v2 as a draft copied from v1."]


def test_start_draft_is_refused_while_a_version_is_open(
    admin: User, client: Client, approved: ProfileVersion, rep: User
) -> None:
    services.version_start_draft(actor=rep, profile=approved.profile)
    client.force_login(admin)
    response = client.post(
        changelist_url(), {"action": "start_draft_from", "_selected_action": [approved.pk]}
    )
    assert messages_of(response) == [
        "Mid-market SaaS v1: v2 is already open (Draft); work on it, or withdraw it first."
    ]
    assert ProfileVersion.objects.filter(profile=approved.profile).count() == 2


def test_approve_makes_a_ready_version_live_and_queues_a_rescoring(
    admin: User, client: Client, approved: ProfileVersion, rep: User, marketer: User
) -> None:
    v2 = services.version_submit(
        actor=rep, version=services.version_start_draft(actor=rep, profile=approved.profile)
    )
    sign_all(v2, rep, marketer, admin)
    client.force_login(admin)
    response = client.post(changelist_url(), {"action": "approve", "_selected_action": [v2.pk]})
    assert messages_of(response) == ["Approved Mid-market SaaS v2; it is now live."]
    v2.refresh_from_db()
    approved.refresh_from_db()
    assert (v2.status, v2.approved_by) == ("approved", admin)
    assert approved.status == "superseded"
    assert list(ScoringRun.objects.filter(version=v2).values_list("requested_by", flat=True)) == [
        admin.pk
    ]


def test_approve_shows_each_problem_and_changes_nothing(
    admin: User, client: Client, in_review: ProfileVersion, rep: User, sales: Team
) -> None:
    services.signoff_give(actor=rep, version=in_review, team=sales, decision="approve")
    crm = in_review.criteria.get(attribute="crm")
    services.criterion_update(
        actor=rep,
        criterion=crm,
        revision=in_review.revision,
        attribute="crm",
        operator="in",
        value=["Salesforce", "HubSpot"],
        points=20,
        kind="fit",
    )
    before = snapshot()
    client.force_login(admin)
    response = client.post(
        changelist_url(), {"action": "approve", "_selected_action": [in_review.pk]}
    )
    revision = in_review.revision
    assert messages_of(response) == [
        "Mid-market SaaS v1: Fit points add up to 95; they must add up to exactly 100.",
        "Mid-market SaaS v1: Marketing has not signed off.",
        "Mid-market SaaS v1: RevOps has not signed off.",
        f"Mid-market SaaS v1: Sales signed off on revision {revision - 1}; the version has "
        f"changed since (now revision {revision}). Sales must sign again.",
    ]
    assert snapshot() == before
    assert not ScoringRun.objects.exists()


def test_approve_is_refused_to_someone_who_does_not_approve(
    admin_user: User, client: Client, in_review: ProfileVersion
) -> None:
    client.force_login(admin_user)
    before = snapshot()
    response = client.post(
        changelist_url(), {"action": "approve", "_selected_action": [in_review.pk]}
    )
    assert messages_of(response) == [
        "Mid-market SaaS v1: Only this profile's admins and the managers of its approving "
        "teams approve versions."
    ]
    assert snapshot() == before
