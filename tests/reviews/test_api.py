"""The reviews API: the CRM logs overrides by external id and rep email;
managers accept or reject; check-ins, the queue and validation figures."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from profiles.models import Profile, ProfileVersion, Team, User
from reviews import services
from reviews.models import CheckIn, Override, OverrideStatus
from scoring.models import Account, ScoringRun, TierOverride
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

OVERRIDES = "/api/v1/reviews/overrides/"


def as_user(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def crm_override(icp: Profile, rep: User, **fields: str) -> dict[str, str]:
    """An override as a CRM sends it: Tiny claimed for tier A in the rep's name."""
    return {
        "profile": icp.slug,
        "account": "tiny",
        "rep": rep.email,
        "claimed_tier": "A",
        "reason": "strategic",
        **fields,
    }


def test_the_crm_logs_an_override_by_external_id_and_rep_email(
    client: Client, rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    body = crm_override(icp, rep, note="Board-level sponsor")
    response = as_user(client, manager).post(OVERRIDES, body, content_type="application/json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["account"], data["rep"], data["machine_tier"], data["status"]) == (
        "tiny",
        rep.email,
        "B",
        "pending",
    )
    again = client.post(OVERRIDES, body, content_type="application/json")
    assert again.status_code == 400
    assert "already has an open override" in again.json()["non_field_errors"][0]


def test_bad_input_names_the_field(
    client: Client, rep: User, icp: Profile, live_run: ScoringRun
) -> None:
    response = as_user(client, rep).post(
        OVERRIDES,
        {
            "profile": icp.slug,
            "account": "nope",
            "rep": "who@x.test",
            "claimed_tier": "Z",
            "reason": "other",
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"account", "rep", "claimed_tier"}


def test_accept_and_reject_follow_the_same_permissions(
    client: Client,
    rep: User,
    manager: User,
    marketer: User,
    icp: Profile,
    tiny: Account,
    live_run: ScoringRun,
) -> None:
    override = services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    url = f"{OVERRIDES}{override.pk}/accept/"
    denied = as_user(client, marketer).post(url, {}, content_type="application/json")
    assert denied.status_code == 403
    assert "Only managers of Sales" in denied.json()["detail"]
    assert Override.objects.get().status == OverrideStatus.PENDING
    ok = as_user(client, manager).post(url, {"note": "ok"}, content_type="application/json")
    assert ok.status_code == 200
    assert (ok.json()["status"], ok.json()["sets_tier"]) == ("accepted", "A")
    assert TierOverride.objects.get(account=tiny).tier == "A"
    listed = client.get(OVERRIDES, {"status": "accepted", "account": "tiny"}).json()
    assert [o["id"] for o in listed["results"]] == [override.pk]


def test_the_override_list_pages_to_the_end_with_nothing_twice(
    client: Client, manager: User, sales: Team, icp: Profile, live_run: ScoringRun
) -> None:
    reps = [MembershipFactory.create(user__username=f"rep{i}", team=sales).user for i in range(5)]
    made = [
        services.override_create(
            actor=rep, account=account, profile=icp, claimed_tier="C", reason="timing"
        ).pk
        for rep in reps
        for account in Account.objects.filter(external_id__in=["acme", "tiny"])
    ]
    as_user(client, manager)
    seen: list[int] = []
    url: str | None = f"{OVERRIDES}?page_size=3"
    pages = 0
    while url:
        page = client.get(url).json()
        seen += [o["id"] for o in page["results"]]
        url, pages = page["next"], pages + 1
    assert pages == 4
    assert seen == sorted(made, reverse=True)


def test_check_ins_are_read_and_closed_through_the_api(
    client: Client, ops_manager: User, icp: Profile, v1: ProfileVersion, live_run: ScoringRun
) -> None:
    ProfileVersion.objects.filter(pk=v1.pk).update(approved_at=timezone.now() - timedelta(days=100))
    [checkin] = services.checkins_schedule()
    as_user(client, ops_manager)
    listed = client.get("/api/v1/reviews/checkins/").json()
    assert [c["id"] for c in listed["results"]] == [checkin.pk]
    assert listed["count"] == 1
    read = client.get(f"/api/v1/reviews/checkins/{checkin.pk}/").json()
    assert read["agenda"]["live_version"] == 1
    closed = client.post(
        f"/api/v1/reviews/checkins/{checkin.pk}/outcome/",
        {"outcome": "start_revision", "note": "Time to revise"},
        content_type="application/json",
    )
    assert closed.status_code == 200
    assert closed.json()["draft"] == 2
    assert not CheckIn.objects.get().is_open


def test_the_queue_and_validation_figures(
    client: Client, rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    queue = as_user(client, manager).get("/api/v1/reviews/queue/").json()
    assert queue["overrides"]["count"] == 1
    assert queue["headline"] == "1 pending override"
    figures = client.get(f"/api/v1/reviews/validation/{icp.slug}/").json()
    assert figures["live_version"] == 1
    assert figures["live"]["tiers"]["A"]["accounts"] == 1
    assert figures["live"]["tiers"]["B"]["accounts"] == 1
    assert client.get("/api/v1/reviews/validation/nope/").status_code == 404


def test_a_draft_number_that_is_not_a_number_is_refused_naming_it(
    client: Client, rep: User, icp: Profile, live_run: ScoringRun
) -> None:
    url = f"/api/v1/reviews/validation/{icp.slug}/"
    as_user(client, rep)
    response = client.get(url, {"draft": "null"})
    assert response.status_code == 400
    assert list(response.json()) == ["draft"]
    missing = client.get(url, {"draft": 9})
    assert missing.status_code == 400
    assert missing.json() == {"draft": ["Mid-market SaaS has no such version."]}
    assert client.get(url, {"draft": 1}).json()["draft_version"] == 1


def test_a_malformed_id_or_slug_is_a_json_404(
    client: Client, rep: User, icp: Profile, live_run: ScoringRun
) -> None:
    as_user(client, rep)
    for url in [
        f"{OVERRIDES}null,null/",
        f"{OVERRIDES}99999999999999999999/accept/",
        "/api/v1/reviews/checkins/1.5/",
        "/api/v1/reviews/validation/m%C3%BC%00ll/",
    ]:
        response = client.get(url) if "accept" not in url else client.post(url)
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json", url
        assert list(response.json()) == ["detail"], url


def test_list_parameters_are_checked_and_named(
    client: Client, manager: User, icp: Profile, live_run: ScoringRun
) -> None:
    as_user(client, manager)
    for url, name in [
        (f"{OVERRIDES}?status=open", "status"),
        (f"{OVERRIDES}?page_size=null", "page_size"),
        (f"{OVERRIDES}?cursor=garbage", "cursor"),
        (f"{OVERRIDES}?account=", "account"),
        ("/api/v1/reviews/checkins/?page=false", "page"),
        ("/api/v1/reviews/checkins/?page_size=0", "page_size"),
    ]:
        response = client.get(url)
        assert response.status_code == 400, url
        assert list(response.json()) == [name], url
    assert client.get("/api/v1/reviews/checkins/?page=2").status_code == 404


def crm_account() -> User:
    """The CRM's integration account: in no team, allowed to log for anyone."""
    crm = UserFactory.create(username="crm")
    crm.user_permissions.add(Permission.objects.get(codename="add_override"))
    return crm


def test_staff_without_the_permission_cannot_log_in_a_reps_name(
    client: Client, rep: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    staff = UserFactory.create(username="staff", is_staff=True)
    response = as_user(client, staff).post(
        OVERRIDES, crm_override(icp, rep), content_type="application/json"
    )
    assert response.status_code == 403
    assert not Override.objects.exists()


def test_an_integration_account_in_no_team_logs_an_override_in_a_reps_name(
    client: Client, rep: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    crm = crm_account()
    body = crm_override(icp, rep)
    response = as_user(client, crm).post(OVERRIDES, body, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert (response.json()["rep"], response.json()["team"]) == (rep.email, "sales")
    for_itself = client.post(OVERRIDES, {**body, "rep": crm.email}, content_type="application/json")
    assert for_itself.status_code == 403
    assert for_itself.json() == {
        "detail": "You are in no team, so you can read but not change anything."
    }
    assert Override.objects.count() == 1


def test_a_manager_who_logs_a_claim_in_a_reps_name_cannot_accept_it_but_another_can(
    client: Client, rep: User, manager: User, sales: Team, icp: Profile, live_run: ScoringRun
) -> None:
    logged = as_user(client, manager).post(
        OVERRIDES, crm_override(icp, rep), content_type="application/json"
    )
    assert logged.status_code == 201, logged.json()
    assert (logged.json()["rep"], logged.json()["logged_by"]) == (rep.email, manager.email)
    url = f"{OVERRIDES}{logged.json()['id']}/accept/"
    refused = client.post(url, {}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "You logged this claim, so another manager decides it."}
    assert Override.objects.get().status == OverrideStatus.PENDING
    assert not TierOverride.objects.exists()
    other = MembershipFactory.create(user__username="manager2", team=sales, role="manager").user
    accepted = as_user(client, other).post(url, {}, content_type="application/json")
    assert accepted.status_code == 200
    assert (accepted.json()["status"], accepted.json()["reviewed_by"]) == ("accepted", other.email)


def test_a_claim_sent_with_an_api_key_is_logged_by_the_keys_user(
    rep: User, manager: User, icp: Profile, live_run: ScoringRun
) -> None:
    from rest_framework.test import APIClient

    from scoring.api_keys import api_key_create

    crm = crm_account()
    key = api_key_create(actor=None, name="CRM", user=crm, scope="write").plaintext
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    logged = api.post(OVERRIDES, crm_override(icp, rep), format="json")
    assert logged.status_code == 201, logged.json()
    assert (logged.json()["rep"], logged.json()["logged_by"]) == (rep.email, crm.email)
    assert Override.objects.get().logged_by == crm


def test_a_rep_cannot_log_a_claim_in_another_reps_name_through_the_api(
    client: Client, rep: User, sales: Team, icp: Profile, live_run: ScoringRun
) -> None:
    peer = MembershipFactory.create(user__username="peer", team=sales).user
    refused = as_user(client, peer).post(
        OVERRIDES, crm_override(icp, rep), content_type="application/json"
    )
    assert refused.status_code == 403
    assert "their managers" in refused.json()["detail"]
    assert not Override.objects.exists()


def test_the_rep_cannot_decide_a_claim_logged_in_their_name_through_the_api(
    client: Client, rep: User, manager: User, icp: Profile, tiny: Account, live_run: ScoringRun
) -> None:
    override = services.override_create(
        actor=manager, rep=rep, account=tiny, profile=icp, claimed_tier="A", reason="strategic"
    )
    refused = as_user(client, rep).post(
        f"{OVERRIDES}{override.pk}/reject/", {"note": "no"}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "This claim is in your name, so another manager decides it."
    }
    assert Override.objects.get().status == OverrideStatus.PENDING


def test_the_schema_describes_who_logged_an_override(client: Client, rep: User) -> None:
    schema = as_user(client, rep).get("/api/schema/", {"format": "json"}).json()
    fields = schema["components"]["schemas"]["Override"]["properties"]
    assert fields["logged_by"]["readOnly"] is True
    assert "logged the claim" in fields["logged_by"]["description"]
