"""Reconciling with the CRM: the accounts held, removals and merges, and the
removals reaching the scores feed as tombstones through an opaque cursor."""

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from profiles.models import Profile, ProfileVersion, User
from reviews import services as review_services
from reviews.models import Override
from scoring import services
from scoring.api_keys import api_key_create
from scoring.cursors import feed_cursor, feed_cursor_seq
from scoring.models import Account, AccountScore, AccountTombstone, Deal, ScoringRun, TierOverride
from scoring.policies import IMPORT_PERMISSION, REMOVE_PERMISSION
from scoring.selectors import changes_cursor
from scoring.tasks import prune_tombstones_task
from tests.drafting import approved_version
from tests.factories import AccountFactory, ProfileFactory, UserFactory
from tests.runs import run_all
from tests.snapshots import snapshot

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

pytestmark = pytest.mark.django_db

ACCOUNTS = "/api/v1/accounts/"
BULK_DELETE = "/api/v1/accounts/bulk-delete/"
MERGE = "/api/v1/accounts/merge/"
UPSERT = "/api/v1/accounts/bulk-upsert/"
SCORES = "/api/v1/scores/"


@pytest.fixture
def crm(db: None) -> User:
    """The CRM's integration account: it imports, removes and merges accounts."""
    return UserFactory.create(username="crm", permissions=[IMPORT_PERMISSION, REMOVE_PERMISSION])


def keyed(user: User, scope: str = "write") -> APIClient:
    client = APIClient()
    key = api_key_create(actor=None, name="CRM", user=user, scope=scope).plaintext
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def writer(crm: User) -> APIClient:
    return keyed(crm)


@pytest.fixture
def live(icp: Profile, v1: ProfileVersion, ops_manager: User) -> ScoringRun:
    run = run_all(services.run_create(profile=icp, version=v1, actor=ops_manager))
    assert run is not None
    return run


def push(client: APIClient, *rows: dict[str, Any]) -> "ApiResponse":
    response = client.post(UPSERT, {"accounts": list(rows)}, format="json")
    assert response.status_code == 200, response.json()
    return response


def account(external_id: str, **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": f"Company {external_id}", **fields}


def pull_all(
    client: APIClient, profile: Profile, **params: Any
) -> tuple[list[dict[str, Any]], str]:
    """Read the feed from its first page; every item and the last cursor."""
    return follow(client, client.get(SCORES, {"profile": profile.slug, **params}))


def follow(client: APIClient, response: "ApiResponse") -> tuple[list[dict[str, Any]], str]:
    """Follow the feed's `next` to the end; every item and the last cursor."""
    items: list[dict[str, Any]] = []
    while True:
        assert response.status_code == 200, response.json()
        body = response.json()
        items += body["results"]
        if body["next"] is None:
            return items, body["cursor"]
        response = client.get(body["next"])


def removed(items: list[dict[str, Any]]) -> list[str]:
    return sorted(i["external_id"] for i in items if i.get("deleted"))


def changed(items: list[dict[str, Any]]) -> list[str]:
    return sorted(i["external_id"] for i in items if not i.get("deleted"))


def list_all(client: APIClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get(ACCOUNTS, params)
    items: list[dict[str, Any]] = []
    while True:
        assert response.status_code == 200, response.json()
        body = response.json()
        items += body["results"]
        if body["next"] is None:
            return items
        response = client.get(body["next"])


# --- The accounts held ------------------------------------------------------------


def test_the_list_pages_newest_first_and_an_item_sent_back_changes_nothing(
    writer: APIClient, live: ScoringRun
) -> None:
    push(
        writer,
        account(
            "full",
            domain="full.example",
            employees=450,
            annual_revenue=52_000_000,
            industry="SaaS",
            tech_stack=["Salesforce", "Slack"],
            has_revops=True,
            deal_status="won",
            deal_closed_at="2025-05-31T09:30:00Z",
            deal_amount="48000.50",
            churned_at="2025-09-01",
        ),
        *(account(f"a{i}") for i in range(4)),
    )
    first = writer.get(ACCOUNTS, {"page_size": 2}).json()
    assert [a["external_id"] for a in first["results"]] == ["a3", "a2"]
    items = list_all(writer, page_size=2)
    assert [a["external_id"] for a in items] == ["a3", "a2", "a1", "a0", "full"]
    full = items[-1]
    assert full == {
        "external_id": "full",
        "name": "Company full",
        "domain": "full.example",
        "employees": 450,
        "annual_revenue": 52_000_000,
        "industry": "SaaS",
        "country": "",
        "funding_stage": "",
        "crm": "",
        "tech_stack": ["salesforce", "slack"],
        "has_revops": True,
        "lifecycle_stage": "",
        "opportunity_opened_at": None,
        "deal_status": "won",
        "deal_closed_at": "2025-05-31T09:30:00Z",
        "deal_amount": "48000.50",
        "churned_at": "2025-09-01T00:00:00Z",
        "traits": {},
    }
    again = writer.post(UPSERT, {"accounts": items}, format="json").json()
    assert [r["status"] for r in again["results"]] == ["unchanged"] * 5


def test_the_list_filters_by_change_time_ids_and_effective_tier(
    writer: APIClient, live: ScoringRun, icp: Profile, crm: User
) -> None:
    push(writer, account("fit", employees=450, has_revops=True), account("half", employees=450))
    push(writer, account("small", employees=10))
    Account.objects.update(updated_at=timezone.now() - timedelta(days=2))
    push(writer, account("small", employees=20))
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    assert [a["external_id"] for a in list_all(writer, updated_since=yesterday)] == ["small"]
    assert [a["external_id"] for a in list_all(writer, external_id__in="fit, small,nope")] == [
        "small",
        "fit",
    ]
    services.tier_override_set(
        profile=icp, account=Account.objects.get(external_id="small"), tier="A", actor=crm
    )
    tier_a = list_all(writer, tier="A", profile=icp.slug)
    assert [a["external_id"] for a in tier_a] == ["small", "fit"]
    assert [a["external_id"] for a in list_all(writer, tier=["B", "C"], profile=icp.slug)] == [
        "half"
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tier": "A"}, "profile"),
        ({"profile": "mid-market-saas"}, "tier"),
        ({"tier": "A", "profile": "nope"}, "profile"),
        ({"tier": "Z", "profile": "mid-market-saas"}, "tier"),
        ({"updated_since": "2026-11-30T10:00:00"}, "updated_since"),
        ({"updated_since": "2026-13-45T10:00:00Z"}, "updated_since"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"external_id__in": ",".join(f"c{i}" for i in range(1001))}, "external_id__in"),
        ({"external_id__in": " , "}, "external_id__in"),
        ({"cursor": "garbage"}, "cursor"),
        ({"page_size": "5000"}, "page_size"),
        ({"updated_sinse": "2026-11-30T10:00:00Z"}, "updated_sinse"),
    ],
)
def test_bad_list_queries_are_400_naming_the_parameter(
    writer: APIClient, icp: Profile, params: dict[str, str], field: str
) -> None:
    response = writer.get(ACCOUNTS, params)
    assert response.status_code == 400
    assert field in response.json()


def test_a_read_key_lists_but_may_not_remove(crm: User) -> None:
    AccountFactory.create(external_id="acme")
    reader = keyed(crm, scope="read")
    assert [a["external_id"] for a in list_all(reader)] == ["acme"]
    assert reader.delete(f"{ACCOUNTS}acme/").status_code == 403
    assert reader.post(BULK_DELETE, {"external_ids": ["acme"]}, format="json").status_code == 403
    assert Account.objects.filter(external_id="acme").exists()


# --- Removing ----------------------------------------------------------------------


def test_a_delete_removes_the_account_with_its_scores_and_a_second_is_a_404(
    writer: APIClient, live: ScoringRun, icp: Profile
) -> None:
    push(writer, account("gone/1", employees=450), account("kept"))
    gone = Account.objects.get(external_id="gone/1")
    Deal.objects.create(external_id="d-1", account=gone, status="won", closed_at=timezone.now())
    assert AccountScore.objects.filter(account_id=gone.pk).exists()
    response = writer.delete(f"{ACCOUNTS}gone%2F1/")
    assert response.status_code == 204
    assert list(Account.objects.values_list("external_id", flat=True)) == ["kept"]
    assert not AccountScore.objects.filter(account_id=gone.pk).exists()
    assert not Deal.objects.exists()
    [tombstone] = AccountTombstone.objects.all()
    assert (tombstone.profile_id, tombstone.external_id, tombstone.account_id) == (
        icp.pk,
        "gone/1",
        gone.pk,
    )
    again = writer.delete(f"{ACCOUNTS}gone%2F1/")
    assert again.status_code == 404
    assert again.json() == {"detail": "No account 'gone/1'."}
    assert AccountTombstone.objects.count() == 1


def test_a_bulk_delete_answers_each_id_and_a_repeat_removes_nothing_more(
    writer: APIClient, live: ScoringRun
) -> None:
    push(writer, account("a"), account("b"), account("c"))
    body = {"external_ids": ["a", "nope", " c "]}
    first = writer.post(BULK_DELETE, body, format="json")
    assert first.status_code == 200
    assert first.json() == {
        "deleted": 2,
        "not_found": 1,
        "results": [
            {"index": 0, "external_id": "a", "status": "deleted"},
            {"index": 1, "external_id": "nope", "status": "not_found"},
            {"index": 2, "external_id": "c", "status": "deleted"},
        ],
    }
    assert list(Account.objects.values_list("external_id", flat=True)) == ["b"]
    before = snapshot()
    again = writer.post(BULK_DELETE, body, format="json").json()
    assert (again["deleted"], again["not_found"]) == (0, 3)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"external_ids": []}, "external_ids"),
        ({"external_ids": [f"c{i}" for i in range(1001)]}, "external_ids"),
        ({"external_ids": [1]}, "external_ids"),
        ({"external_ids": [""]}, "external_ids"),
        ({"external_ids": ["x" * 65]}, "external_ids"),
        ({"external_ids": "a"}, "external_ids"),
        ({"external_ids": ["a"], "mode": "all"}, "mode"),
        ({}, "external_ids"),
    ],
)
def test_a_bad_bulk_delete_is_a_400_naming_the_field_and_removes_nothing(
    writer: APIClient, body: dict[str, Any], field: str
) -> None:
    AccountFactory.create(external_id="a")
    response = writer.post(BULK_DELETE, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Account.objects.count() == 1


def test_a_person_who_may_not_remove_is_refused_and_nothing_changes(
    rep: User, live: ScoringRun
) -> None:
    AccountFactory.create(external_id="a")
    AccountFactory.create(external_id="b")
    client = APIClient()
    client.force_login(rep)
    before = snapshot()
    assert client.delete(f"{ACCOUNTS}a/").status_code == 403
    assert client.post(BULK_DELETE, {"external_ids": ["a"]}, format="json").status_code == 403
    refused = client.post(MERGE, {"into": "a", "from": ["b"]}, format="json")
    assert refused.status_code == 403
    assert "remove or merge accounts" in refused.json()["detail"]
    assert snapshot() == before


def test_the_admin_removes_through_the_same_service(live: ScoringRun, icp: Profile) -> None:
    one, two, kept = AccountFactory.create_batch(3)
    services.accounts_score([one.pk, two.pk, kept.pk])
    client = Client()
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    url = reverse("admin:scoring_account_changelist")
    response = client.post(
        url,
        {"action": "delete_selected", "_selected_action": [one.pk, two.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert list(Account.objects.all()) == [kept]
    assert sorted(AccountTombstone.objects.values_list("external_id", flat=True)) == sorted(
        [one.external_id, two.external_id]
    )
    assert not AccountScore.objects.filter(account_id__in=[one.pk, two.pk]).exists()
    delete = reverse("admin:scoring_account_delete", args=[kept.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert AccountTombstone.objects.filter(profile=icp, external_id=kept.external_id).exists()


# --- Merging -----------------------------------------------------------------------


def test_a_merge_moves_deals_overrides_and_claims_and_removes_the_merged(
    writer: APIClient,
    live: ScoringRun,
    icp: Profile,
    crm: User,
    rep: User,
    manager: User,
) -> None:
    push(
        writer,
        account("keep", employees=450, has_revops=True),
        account("dup1", employees=5000),
        account("dup2", employees=5000),
    )
    keep, dup1, dup2 = (Account.objects.get(external_id=e) for e in ("keep", "dup1", "dup2"))
    now = timezone.now()
    Deal.objects.create(external_id="d-keep", account=keep, status="open")
    Deal.objects.create(external_id="d-1", account=dup1, status="won", closed_at=now)
    Deal.objects.create(external_id="d-2", account=dup2, status="lost", closed_at=now)
    seg = ProfileFactory.create(name="Segment", created_by=crm)
    seg_v1 = approved_version(seg, 1, [10, 20])
    run_all(services.run_create(profile=seg, version=seg_v1, actor=crm))
    services.tier_override_set(profile=icp, account=keep, tier="B", actor=crm)
    services.tier_override_set(profile=icp, account=dup1, tier="C", actor=crm)
    services.tier_override_set(profile=seg, account=dup2, tier="A", actor=crm)
    # Claims: the rep's pending one on keep stands against their pending one on
    # dup1; the manager's decided one on dup2 moves with the rest.
    kept_claim = review_services.override_create(
        actor=rep, account=keep, profile=icp, claimed_tier="B", reason="strategic"
    )
    dropped_claim = review_services.override_create(
        actor=rep, account=dup1, profile=icp, claimed_tier="B", reason="timing"
    )
    decided = review_services.override_create(
        actor=rep, account=dup2, profile=icp, claimed_tier="B", reason="data_wrong"
    )
    review_services.override_reject(actor=manager, override=decided, note="Data is right.")
    other_rep = review_services.override_create(
        actor=manager, account=dup2, profile=icp, claimed_tier="A", reason="strategic"
    )

    response = writer.post(MERGE, {"into": "keep", "from": ["dup1", "dup2"]}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "into": "keep",
        "merged": ["dup1", "dup2"],
        "deals_moved": 2,
        "tier_overrides_moved": 1,
    }
    assert list(Account.objects.values_list("external_id", flat=True)) == ["keep"]
    assert sorted(keep.deals.values_list("external_id", flat=True)) == ["d-1", "d-2", "d-keep"]
    assert sorted(
        TierOverride.objects.values_list("profile__slug", "account__external_id", "tier")
    ) == [(icp.slug, "keep", "B"), (seg.slug, "keep", "A")]
    assert sorted(Override.objects.filter(account=keep).values_list("pk", flat=True)) == sorted(
        [kept_claim.pk, decided.pk, other_rep.pk]
    )
    assert not Override.objects.filter(pk=dropped_claim.pk).exists()
    assert sorted(AccountTombstone.objects.values_list("profile__slug", "external_id")) == [
        (icp.slug, "dup1"),
        (icp.slug, "dup2"),
        (seg.slug, "dup1"),
        (seg.slug, "dup2"),
    ]


def test_a_merged_accounts_outcome_deal_becomes_an_ordinary_deal_of_the_survivor(
    writer: APIClient, live: ScoringRun
) -> None:
    won = {"deal_status": "won", "deal_closed_at": "2026-11-30T00:00:00Z"}
    push(writer, account("keep", **won), account("dup", **won))

    response = writer.post(MERGE, {"into": "keep", "from": ["dup"]}, format="json")

    assert response.status_code == 200, response.json()
    assert sorted(Deal.objects.values_list("external_id", "account__external_id")) == [
        ("merged:outcome:dup", "keep"),
        ("outcome:keep", "keep"),
    ]
    # A new account taking the merged id starts with an outcome deal of its own.
    push(writer, account("dup", deal_status="lost", deal_closed_at="2026-12-01T00:00:00Z"))
    assert Deal.objects.get(external_id="outcome:dup").account.external_id == "dup"
    assert Deal.objects.get(external_id="merged:outcome:dup").status == "won"


MERGE_ERRORS: dict[str, tuple[dict[str, Any], str, str]] = {
    "an unknown survivor": ({"into": "nope", "from": ["b"]}, "into", "No account 'nope'."),
    "an unknown merged account": ({"into": "a", "from": ["b", "x"]}, "from", "No account 'x'."),
    "the survivor in from": (
        {"into": "a", "from": ["a", "b"]},
        "from",
        "'a' is the survivor (`into`); it cannot be merged into itself.",
    ),
    "an id twice": ({"into": "a", "from": ["b", "b"]}, "from", "'b' is listed more than once."),
    "an empty from": ({"into": "a", "from": []}, "from", "at least 1"),
    "too many": ({"into": "a", "from": [f"c{i}" for i in range(1001)]}, "from", "no more than"),
    "no from": ({"into": "a"}, "from", "required"),
    "a number": ({"into": 1, "from": ["b"]}, "into", "valid string"),
    "an unknown field": ({"into": "a", "from": ["b"], "keep": "all"}, "keep", "Unknown field"),
}


@pytest.mark.parametrize("case", list(MERGE_ERRORS))
def test_a_bad_merge_is_a_400_naming_the_field_and_changes_nothing(
    writer: APIClient, live: ScoringRun, case: str
) -> None:
    push(writer, account("a"), account("b"))
    body, field, words = MERGE_ERRORS[case]
    before = snapshot()
    response = writer.post(MERGE, body, format="json")
    assert response.status_code == 400
    assert words in " ".join(response.json()[field])
    assert snapshot() == before


# --- Tombstones in the scores feed ----------------------------------------------------


def test_a_delete_and_a_merge_reach_changed_since_once_and_never_a_full_sync(
    writer: APIClient, live: ScoringRun, icp: Profile, crm: User
) -> None:
    push(writer, *(account(f"a{i}", employees=450, has_revops=True) for i in range(6)))
    _, cursor = pull_all(writer, icp)
    assert writer.delete(f"{ACCOUNTS}a1/").status_code == 204
    services.tier_override_set(
        profile=icp, account=Account.objects.get(external_id="a3"), tier="C", actor=crm
    )
    merged = writer.post(MERGE, {"into": "a2", "from": ["a3", "a4"]}, format="json")
    assert merged.status_code == 200
    # A sync after the removals sees each once; a2 took over a3's override.
    items, cursor = pull_all(writer, icp, changed_since=cursor, page_size=1)
    assert removed(items) == ["a1", "a3", "a4"]
    assert changed(items) == ["a2"]
    assert next(i for i in items if i["external_id"] == "a2")["effective_tier"] == "C"
    # Items come in account order, removals among the rows.
    assert [i["external_id"] for i in items] == ["a1", "a2", "a3", "a4"]
    # Seen once: the next sync has nothing.
    assert pull_all(writer, icp, changed_since=cursor) == ([], cursor)
    # A full sync lists what is held and reports no removals.
    everything, _ = pull_all(writer, icp)
    assert (changed(everything), removed(everything)) == (["a0", "a2", "a5"], [])


def test_a_removal_while_a_sync_pages_comes_once_in_the_next_sync(
    writer: APIClient, live: ScoringRun, icp: Profile
) -> None:
    push(writer, *(account(f"a{i}", employees=450) for i in range(4)))
    _, cursor = pull_all(writer, icp)
    push(writer, account("a0", employees=5000), account("a3", employees=5000))
    first = writer.get(SCORES, {"profile": icp.slug, "changed_since": cursor, "page_size": "1"})
    assert [i["external_id"] for i in first.json()["results"]] == ["a0"]
    # Removed while the sync pages (a3 with a change the sync had yet to
    # read): gone from its later pages, reported once in the next sync.
    writer.post(BULK_DELETE, {"external_ids": ["a2", "a3"]}, format="json")
    rest, pinned = follow(writer, writer.get(first.json()["next"]))
    assert rest == []
    assert pinned == first.json()["cursor"]
    later, cursor = pull_all(writer, icp, changed_since=pinned)
    assert (removed(later), changed(later)) == (["a2", "a3"], [])
    assert pull_all(writer, icp, changed_since=cursor)[0] == []


def test_each_profile_hears_of_a_removal_through_its_own_feed(
    writer: APIClient, live: ScoringRun, icp: Profile, crm: User
) -> None:
    seg = ProfileFactory.create(name="Segment", created_by=crm)
    run_all(services.run_create(profile=seg, version=approved_version(seg, 1, [1, 9]), actor=crm))
    push(writer, account("a"), account("b"))
    _, icp_cursor = pull_all(writer, icp)
    _, seg_cursor = pull_all(writer, seg)
    writer.delete(f"{ACCOUNTS}a/")
    assert removed(pull_all(writer, icp, changed_since=icp_cursor)[0]) == ["a"]
    assert removed(pull_all(writer, seg, changed_since=seg_cursor)[0]) == ["a"]


# --- The cursor -----------------------------------------------------------------------


def test_a_cursor_is_an_opaque_token_of_its_profiles_feed(
    writer: APIClient, live: ScoringRun, icp: Profile, crm: User
) -> None:
    seg = ProfileFactory.create(name="Segment", created_by=crm)
    push(writer, account("a"))
    _, cursor = pull_all(writer, icp)
    assert isinstance(cursor, str)
    assert not cursor.isdigit()
    assert feed_cursor_seq(cursor, profile_id=icp.pk) == changes_cursor(profile_id=icp.pk)
    refused = {
        "another profile's": writer.get(SCORES, {"profile": seg.slug, "changed_since": cursor}),
        "a tampered": writer.get(SCORES, {"profile": icp.slug, "changed_since": cursor[:-2]}),
        "a forged": writer.get(
            SCORES, {"profile": icp.slug, "changed_since": cursor.split(":")[0] + ":x"}
        ),
        "a bare number": writer.get(SCORES, {"profile": icp.slug, "changed_since": "1"}),
        "another profile's until": writer.get(
            SCORES, {"profile": seg.slug, "until": cursor, "after": "0"}
        ),
    }
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 400)
    messages = {name: r.json() for name, r in refused.items()}
    assert messages["another profile's"] == {
        "changed_since": [
            "This cursor belongs to another profile's feed; send a cursor from this profile's "
            "pages, or leave the parameter out to sync everything again."
        ]
    }
    assert messages["a tampered"]["changed_since"] == [
        "Not a cursor of this feed; send a page's `cursor` exactly as it came."
    ]
    assert "Cursors are tokens now" in messages["a bare number"]["changed_since"][0]
    assert "another profile's feed" in messages["another profile's until"]["until"][0]


def test_a_cursor_older_than_the_tombstones_kept_must_sync_again(
    writer: APIClient, live: ScoringRun, icp: Profile, settings: Settings
) -> None:
    settings.FEED_TOMBSTONE_RETENTION_DAYS = 30
    push(writer, account("a"), account("b"), account("c"))
    _, old = pull_all(writer, icp)
    writer.delete(f"{ACCOUNTS}a/")
    _, recent = pull_all(writer, icp)
    writer.delete(f"{ACCOUNTS}b/")
    AccountTombstone.objects.filter(external_id="a").update(
        removed_at=timezone.now() - timedelta(days=31)
    )
    assert services.tombstones_prune() == 1
    assert list(AccountTombstone.objects.values_list("external_id", flat=True)) == ["b"]
    response = writer.get(SCORES, {"profile": icp.slug, "changed_since": old})
    assert response.status_code == 400
    assert response.json()["changed_since"][0].startswith(
        "This cursor is older than the removals kept (30 days)"
    )
    assert removed(pull_all(writer, icp, changed_since=recent)[0]) == ["b"]
    assert services.tombstones_prune() == 0
    beat = settings.CELERY_BEAT_SCHEDULE["scoring-prune-tombstones"]
    assert beat["task"] == prune_tombstones_task.name == "scoring.prune_tombstones"


def test_an_override_on_an_account_removed_meanwhile_is_refused(
    live: ScoringRun, icp: Profile, crm: User
) -> None:
    stale = AccountFactory.create()
    services.accounts_remove(actor=crm, account_ids=[stale.pk])
    with pytest.raises(ValidationError) as refused:
        services.tier_override_set(profile=icp, account=stale, tier="A", actor=crm)
    assert refused.value.message_dict == {
        "account": [f"{stale.external_id!r} was removed meanwhile."]
    }
    assert not TierOverride.objects.exists()


def test_a_run_finished_webhook_carries_a_cursor_of_the_profiles_feed(
    live: ScoringRun, icp: Profile
) -> None:
    assert live.feed_seq is not None
    token = feed_cursor(profile_id=icp.pk, seq=live.feed_seq)
    assert feed_cursor_seq(token, profile_id=icp.pk) == live.feed_seq


def test_the_schema_documents_a_feed_item_as_a_score_row_or_a_removal(writer: APIClient) -> None:
    schema = writer.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    page = components["ScorePage"]["properties"]
    assert page["results"]["items"] == {"$ref": "#/components/schemas/ScoreFeedItem"}
    assert page["cursor"]["type"] == "string"
    assert components["ScoreFeedItem"] == {
        "oneOf": [
            {"$ref": "#/components/schemas/ScoreRow"},
            {"$ref": "#/components/schemas/RemovedRow"},
        ]
    }
    assert set(components["RemovedRow"]["properties"]) == {"external_id", "deleted"}
    for path in (ACCOUNTS, f"{ACCOUNTS}{{external_id}}/", BULK_DELETE, MERGE):
        assert path in schema["paths"]
