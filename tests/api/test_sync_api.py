"""The CRM sync API: accounts and outcomes in, scores out, changed since a cursor."""

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from profiles.models import Profile, ProfileVersion, User
from scoring import services
from scoring.api_keys import api_key_create
from scoring.cursors import feed_cursor_seq
from scoring.models import Account, AccountScore, Deal, ScoringRun
from scoring.policies import IMPORT_PERMISSION
from scoring.selectors import changes_cursor
from tests.drafting import approved_version
from tests.factories import AccountFactory, UserFactory
from tests.runs import run_all

if TYPE_CHECKING:
    # What the test client returns: a Response with json() and the request.
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

pytestmark = pytest.mark.django_db

UPSERT = "/api/v1/accounts/bulk-upsert/"
OUTCOMES = "/api/v1/accounts/outcomes/"
SCORES = "/api/v1/scores/"


@pytest.fixture
def staff() -> User:
    """The CRM's integration account: staff, with the permission to import."""
    return UserFactory.create(username="staff", is_staff=True, permissions=[IMPORT_PERMISSION])


@pytest.fixture
def writer(staff: User) -> APIClient:
    client = APIClient()
    key = api_key_create(actor=staff, name="CRM", user=staff, scope="write").plaintext
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def live(icp: Profile, v1: ProfileVersion, ops_manager: User) -> ScoringRun:
    run = run_all(services.run_create(profile=icp, version=v1, actor=ops_manager))
    assert run is not None
    return run


def row(external_id: str, **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": f"Company {external_id}", **fields}


def push(client: APIClient, rows: list[dict[str, Any]], **extra: Any) -> "ApiResponse":
    return client.post(UPSERT, {"accounts": rows, **extra}, format="json")


def pull(client: APIClient, icp: Profile, **params: Any) -> "ApiResponse":
    return client.get(SCORES, {"profile": icp.slug, **params})


def pull_all(client: APIClient, icp: Profile, **params: Any) -> tuple[list[dict[str, Any]], str]:
    """Follow `next` to the end; every row and the last cursor."""
    rows: list[dict[str, Any]] = []
    response = pull(client, icp, **params)
    while True:
        assert response.status_code == 200, response.json()
        body = response.json()
        rows += body["results"]
        if body["next"] is None:
            return rows, body["cursor"]
        response = client.get(body["next"])


def stored() -> list[tuple[Any, ...]]:
    return list(
        Account.objects.order_by("external_id").values_list("external_id", "name", "employees")
    )


# --- Accounts in ------------------------------------------------------------


def test_an_upsert_creates_then_reports_repeats_unchanged_and_changes_updated(
    writer: APIClient, live: ScoringRun, icp: Profile
) -> None:
    rows = [row("crm-1", employees=450, has_revops=True), row("crm-2", employees=5000)]
    first = push(writer, rows)
    assert first.status_code == 200
    assert first.json() == {
        "written": True,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "invalid": 0,
        "results": [
            {"index": 0, "external_id": "crm-1", "status": "created"},
            {"index": 1, "external_id": "crm-2", "status": "created"},
        ],
    }
    again = push(writer, rows)
    assert [r["status"] for r in again.json()["results"]] == ["unchanged", "unchanged"]
    changed = push(writer, [row("crm-2", employees=300)])
    assert changed.json()["results"] == [{"index": 0, "external_id": "crm-2", "status": "updated"}]
    scores = {r["external_id"]: (r["score"], r["tier"]) for r in pull_all(writer, icp)[0]}
    assert scores == {"crm-1": (100, "A"), "crm-2": (60, "B")}


def test_one_bad_row_stores_nothing_and_every_row_says_why(writer: APIClient, db: None) -> None:
    AccountFactory.create(external_id="crm-1", name="Acme", employees=10)
    before = stored()
    response = push(writer, [row("crm-1", employees=20), row("crm-2", employees="many")])
    assert response.status_code == 400
    assert response.json() == {
        "written": False,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "invalid": 1,
        "results": [
            {"index": 0, "external_id": "crm-1", "status": "not_written"},
            {
                "index": 1,
                "external_id": "crm-2",
                "status": "invalid",
                "errors": {"employees": ["'many' is a string; send a whole number or null"]},
            },
        ],
    }
    assert stored() == before


def test_valid_only_stores_the_good_rows_and_reports_the_bad(writer: APIClient, db: None) -> None:
    response = push(writer, [row("crm-1"), row("crm-2", has_revops="yes")], mode="valid_only")
    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["created", "invalid"]
    assert body["results"][1]["errors"] == {
        "has_revops": ["'yes' is a string; send true or false or null"]
    }
    assert [a[0] for a in stored()] == ["crm-1"]


BAD_ROWS: dict[str, tuple[list[dict[str, Any]], str]] = {
    "a number in quotes": ([row("a", employees="450")], "employees"),
    "an unknown field": ([row("a", colour="red")], "columns"),
    "a NUL byte": ([row("a", industry="Saa\x00S")], "industry"),
    "a huge string": ([row("a", name="x" * 100_000)], "name"),
    "a negative number": ([row("a", employees=-1)], "employees"),
    "a list that is text": ([row("a", tech_stack="slack")], "tech_stack"),
    "an undeclared trait": ([row("a", traits={"seats": 3})], "traits.seats"),
    "no name": ([{"external_id": "a"}], "name"),
    "an empty row": ([{}], "external_id"),
    "a date without zone": ([row("a", churned_at="2025-01-01T10:00:00")], "churned_at"),
    "a duplicate external_id": ([row("a"), row("a")], "external_id"),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_each_bad_row_is_a_400_naming_the_field_and_stores_nothing(
    writer: APIClient, db: None, case: str
) -> None:
    rows, field = BAD_ROWS[case]
    response = push(writer, rows)
    assert response.status_code == 400
    invalid = [r for r in response.json()["results"] if r["status"] == "invalid"]
    assert invalid
    assert all(field in r["errors"] for r in invalid)
    assert Account.objects.count() == 0


BAD_BODIES = {
    "malformed JSON": ('{"accounts": [', 400, "The body is not valid JSON"),
    "a duplicate key": (
        '{"accounts": [{"external_id": "a", "name": "A", "name": "B"}]}',
        400,
        "the key 'name' appears twice in one object",
    ),
    "NaN": ('{"accounts": [{"external_id": "a", "name": "A", "employees": NaN}]}', 400, "NaN"),
    "a list body": ('[{"external_id": "a"}]', 400, "Send a JSON object"),
    "no rows": ('{"accounts": []}', 400, "accounts"),
    "a row that is not an object": ('{"accounts": [1]}', 400, "accounts"),
    "an unknown envelope field": ('{"accounts": [{}], "dry_run": true}', 400, "dry_run"),
    "a bad mode": ('{"accounts": [{}], "mode": "some"}', 400, "mode"),
    "too many rows": (
        json.dumps({"accounts": [row(f"a{i}") for i in range(1001)]}),
        400,
        "no more than 1000",
    ),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_each_bad_body_is_a_4xx_naming_the_problem(writer: APIClient, db: None, case: str) -> None:
    body, code, words = BAD_BODIES[case]
    response = writer.post(UPSERT, body, content_type="application/json")
    assert response.status_code == code
    assert words in json.dumps(response.json())
    assert Account.objects.count() == 0


def test_a_body_over_the_limit_is_413_and_a_form_is_415(writer: APIClient, db: None) -> None:
    big = json.dumps({"accounts": [row("a", domain="x" * 9_000_000)]})
    assert writer.post(UPSERT, big, content_type="application/json").status_code == 413
    form = writer.post(UPSERT, {"accounts": "a"})
    assert form.status_code == 415
    assert Account.objects.count() == 0


def test_a_person_who_may_not_import_is_refused(rep: User) -> None:
    client = APIClient()
    client.force_login(rep)
    response = push(client, [row("a")])
    assert response.status_code == 403
    assert Account.objects.count() == 0


def test_outcomes_update_accounts_held_and_name_the_unknown(writer: APIClient, db: None) -> None:
    AccountFactory.create(external_id="crm-1", name="Acme")
    outcome = {
        "external_id": "crm-1",
        "deal_status": "won",
        "deal_closed_at": "2025-05-31T09:30:00Z",
        "deal_amount": "48000.00",
    }
    refused = writer.post(
        OUTCOMES,
        {"outcomes": [outcome, {"external_id": "crm-9", "churned_at": "2025-06-01"}]},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["results"][1]["errors"] == {
        "external_id": ["no account 'crm-9'; send the account itself first"]
    }
    assert not Deal.objects.exists()
    not_outcome = writer.post(
        OUTCOMES, {"outcomes": [{"external_id": "crm-1", "name": "X"}]}, format="json"
    )
    assert "unknown column 'name'" in not_outcome.json()["results"][0]["errors"]["columns"][0]
    done = writer.post(OUTCOMES, {"outcomes": [outcome]}, format="json")
    assert done.json()["results"] == [{"index": 0, "external_id": "crm-1", "status": "updated"}]
    deal = Deal.objects.get()
    assert (deal.account.name, deal.status, str(deal.amount)) == ("Acme", "won", "48000.00")
    again = writer.post(OUTCOMES, {"outcomes": [outcome]}, format="json")
    assert again.json()["results"][0]["status"] == "unchanged"


# --- One account -------------------------------------------------------------


def test_an_account_reads_with_the_math_the_effective_tier_and_its_history(
    writer: APIClient, live: ScoringRun, icp: Profile, staff: User, ops_manager: User
) -> None:
    push(writer, [row("half/1", employees=450)])  # RevOps unknown: 60 of 100, tier B
    account = Account.objects.get(external_id="half/1")
    services.tier_override_set(profile=icp, account=account, tier="A", actor=staff)
    ProfileVersion.objects.filter(pk=live.version_id).update(status="superseded")
    v2 = approved_version(icp, 2, [500, 2000])
    run_all(services.run_create(profile=icp, version=v2, actor=ops_manager))

    response = writer.get("/api/v1/accounts/half%2F1/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["external_id"], body["employees"], body["has_revops"]) == ("half/1", 450, None)
    [score] = body["scores"]
    # v2 wants 500-2,000 employees: 450 misses it, RevOps is unknown, so 0 and C;
    # the override was set under v1 and no longer applies.
    assert {k: score[k] for k in ("profile", "version", "score", "tier", "effective_tier")} == {
        "profile": icp.slug,
        "version": 2,
        "score": 0,
        "tier": "C",
        "effective_tier": "C",
    }
    assert (score["overridden"], score["rescore_pending"], score["disqualified_by"]) == (
        False,
        False,
        [],
    )
    assert [(c["text"], c["kind"], c["outcome"], c["points"], c["points_possible"])
            for c in score["criteria"]] == [
        ("Employees is between 500 and 2,000", "fit", "not_matched", 0, 60),
        ("Has RevOps is true", "fit", "unknown", 0, 40),
        ("Country is one of KP", "disqualifier", "unknown", 0, 0),
    ]  # fmt: skip
    assert [(h["version"], h["score"], h["tier"]) for h in body["history"]] == [
        (2, 0, "C"),
        (1, 60, "B"),
    ]


def test_an_override_under_the_live_version_shows_as_the_effective_tier(
    writer: APIClient, live: ScoringRun, icp: Profile, staff: User
) -> None:
    push(writer, [row("fit", employees=450, has_revops=True, country="KP")])
    account = Account.objects.get(external_id="fit")
    services.tier_override_set(profile=icp, account=account, tier="B", actor=staff)
    [score] = writer.get("/api/v1/accounts/fit/").json()["scores"]
    assert (score["tier"], score["effective_tier"], score["overridden"]) == ("DQ", "B", True)
    assert score["disqualified_by"] == ["Country is one of KP"]


def test_an_unknown_or_malformed_external_id_is_a_json_404(writer: APIClient) -> None:
    for path in ("nobody", "nul%00byte", "%0A", "line%0Abreak"):
        response = writer.get(f"/api/v1/accounts/{path}/")
        assert response.status_code == 404
        assert response.json()["detail"].startswith("No account")


def test_an_address_under_the_api_that_no_route_takes_is_a_json_404(writer: APIClient) -> None:
    response = writer.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


# --- Scores out -------------------------------------------------------------


def test_a_score_row_has_tiers_version_and_top_reasons_from_the_mask(
    writer: APIClient, live: ScoringRun, icp: Profile, staff: User
) -> None:
    push(writer, [row("fit", employees=450, has_revops=True), row("dq", country="KP")])
    account = Account.objects.get(external_id="fit")
    services.tier_override_set(profile=icp, account=account, tier="B", actor=staff)
    rows, _ = pull_all(writer, icp)
    by_id = {r["external_id"]: r for r in rows}
    assert {k: v for k, v in by_id["fit"].items() if k not in ("changed_at", "seq")} == {
        "external_id": "fit",
        "score": 100,
        "tier": "A",
        "effective_tier": "B",
        "overridden": True,
        "version": 1,
        "top_reasons": [
            "Employees is between 200 and 2,000 (+60)",
            "Has RevOps is true (+40)",
        ],
    }
    assert by_id["dq"]["tier"] == "DQ"
    assert by_id["dq"]["top_reasons"] == ["Disqualified: Country is one of KP"]
    change = AccountScore.objects.get(run__profile=icp, run__is_current=True, account=account)
    assert by_id["fit"]["seq"] == change.changed_seq == changes_cursor(profile_id=icp.pk)
    assert change.changed_at is not None
    assert by_id["fit"]["changed_at"] == DateTimeField().to_representation(change.changed_at)


def test_the_feed_pages_by_cursor_and_filters(
    writer: APIClient, live: ScoringRun, icp: Profile
) -> None:
    push(writer, [row(f"a{i}", employees=450, has_revops=i % 2 == 0) for i in range(7)])
    first = pull(writer, icp, page_size=3).json()
    assert len(first["results"]) == 3
    assert first["next"] is not None
    rows, cursor = pull_all(writer, icp, page_size=3)
    assert sorted(r["external_id"] for r in rows) == [f"a{i}" for i in range(7)]
    assert feed_cursor_seq(cursor, profile_id=icp.pk) == max(r["seq"] for r in rows)
    tier_a = pull_all(writer, icp, tier="A", page_size=2)[0]
    assert sorted(r["external_id"] for r in tier_a) == ["a0", "a2", "a4", "a6"]
    b_only = pull_all(writer, icp, score_max=60, score_min=50)[0]
    assert sorted(r["external_id"] for r in b_only) == ["a1", "a3", "a5"]
    assert pull_all(writer, icp, version=2)[0] == []
    assert len(pull_all(writer, icp, version=1)[0]) == 7
    assert pull(writer, icp, changed_since=cursor).json() == {
        "results": [],
        "next": None,
        "cursor": cursor,
        "run": live.pk,
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "profile"),
        ({"profile": "nope"}, "profile"),
        ({"profile": "mid-market-saas", "tier": "Z"}, "tier"),
        ({"profile": "mid-market-saas", "changed_since": "x"}, "changed_since"),
        ({"profile": "mid-market-saas", "page_size": "0"}, "page_size"),
        ({"profile": "mid-market-saas", "score_min": "lots"}, "score_min"),
    ],
)
def test_bad_feed_queries_are_400_naming_the_parameter(
    writer: APIClient, icp: Profile, params: dict[str, str], field: str
) -> None:
    response = writer.get(SCORES, params)
    assert response.status_code == 400
    assert field in response.json()


def test_a_feed_page_costs_the_same_queries_however_long(
    writer: APIClient, live: ScoringRun, icp: Profile
) -> None:
    push(writer, [row("a0")])
    with CaptureQueriesContext(connection) as small:
        pull(writer, icp)
    push(writer, [row(f"b{i}", employees=300 + i) for i in range(30)])
    with CaptureQueriesContext(connection) as large:
        pull(writer, icp)
    assert len(large) == len(small)


def test_changed_since_returns_exactly_what_changed_across_runs_ingest_and_overrides(
    writer: APIClient, live: ScoringRun, icp: Profile, v1: ProfileVersion, staff: User
) -> None:
    """Runs, ingest and overrides interleaved: each pull returns each changed
    account once, nothing unchanged, and nothing is missed."""
    push(writer, [row(f"a{i}", employees=450, has_revops=True) for i in range(5)])
    push(writer, [row("a5", employees=300, has_revops=True)])
    everything, cursor = pull_all(writer, icp, page_size=4)
    assert sorted(r["external_id"] for r in everything) == [f"a{i}" for i in range(6)]

    def changed() -> list[str]:
        nonlocal cursor
        rows, cursor = pull_all(writer, icp, changed_since=cursor, page_size=2)
        ids = [r["external_id"] for r in rows]
        assert len(ids) == len(set(ids))
        return sorted(ids)

    assert changed() == []
    # Ingest: a0 changes score, a1 is pushed again unchanged, a new account arrives.
    push(writer, [row("a0", employees=5000), row("a1", employees=450, has_revops=True)])
    push(writer, [row("n1", employees=450)])
    assert changed() == ["a0", "n1"]
    # A run of the same version changes nothing.
    run_all(services.run_create(profile=icp, version=v1, actor=staff))
    assert changed() == []
    # v2 counts 400 to 500 employees only. An override under v2 waits for its run.
    v1.status = "superseded"
    v1.save()
    v2 = approved_version(icp, 2, [400, 500])
    a3 = Account.objects.get(external_id="a3")
    services.tier_override_set(profile=icp, account=a3, tier="C", actor=staff)
    assert changed() == []
    # Ingest during the run: a2 drops to 40 under v1 at once.
    run = services.run_create(profile=icp, version=v2, actor=staff)
    chunks = services.run_plan(run.pk, 2)
    services.run_score_chunk(run.pk, *chunks[0])
    push(writer, [row("a2", employees=3000)])
    assert changed() == ["a2"]
    for low, high in chunks[1:]:
        services.run_score_chunk(run.pk, low, high)
    services.run_finish(run.pk)
    # The flip: a5 (300 employees) falls from 100 to 40; a3's override now
    # applies; a0 and a2 keep 40 and the rest 100 or 60, with the same criteria.
    assert changed() == ["a3", "a5"]
    assert [r["effective_tier"] for r in pull_all(writer, icp, overridden=True)[0]] == ["C"]
    # Overrides: set and clear each show once.
    a4 = Account.objects.get(external_id="a4")
    services.tier_override_set(profile=icp, account=a4, tier="C", actor=staff)
    services.tier_override_set(profile=icp, account=a4, tier="C", actor=staff)
    assert changed() == ["a4"]
    services.tier_override_clear(profile=icp, account=a4)
    assert changed() == ["a4"]
    assert changed() == []


def test_overrides_changed_during_a_run_reach_a_sync_after_its_flip(
    writer: APIClient, live: ScoringRun, icp: Profile, v1: ProfileVersion, staff: User
) -> None:
    """A run's chunks copy the current run's change numbers; an override set
    or cleared after a chunk ran must still count as a change once the run
    is current, for a client that only syncs after the flip."""
    push(writer, [row(f"a{i}", employees=450, has_revops=True) for i in range(3)])
    a0, a1 = Account.objects.get(external_id="a0"), Account.objects.get(external_id="a1")
    services.tier_override_set(profile=icp, account=a0, tier="C", actor=staff)
    _, cursor = pull_all(writer, icp)
    run = services.run_create(profile=icp, version=v1, actor=staff)
    for low, high in services.run_plan(run.pk, 2):
        services.run_score_chunk(run.pk, low, high)
    services.tier_override_clear(profile=icp, account=a0)
    services.tier_override_set(profile=icp, account=a1, tier="B", actor=staff)
    services.run_finish(run.pk)
    rows, _ = pull_all(writer, icp, changed_since=cursor)
    assert {r["external_id"]: r["effective_tier"] for r in rows} == {"a0": "A", "a1": "B"}


def test_a_paged_sync_is_pinned_to_its_first_page(
    writer: APIClient, live: ScoringRun, icp: Profile
) -> None:
    """An account that changes while a sync pages through comes in the next
    sync, once, with its new score; nothing is read twice or skipped."""
    push(writer, [row(f"a{i}", employees=450, has_revops=True) for i in range(4)])
    _, cursor = pull_all(writer, icp)
    push(writer, [row("a0", employees=5000), row("a3", employees=5000)])
    first = pull(writer, icp, changed_since=cursor, page_size=1).json()
    assert [r["external_id"] for r in first["results"]] == ["a0"]
    # a1 changes (and a3 again) before the next page is read.
    push(writer, [row("a1", employees=5000), row("a3", employees=300, has_revops=True)])
    rest, pinned = pull_all(writer, icp, **dict(parse_qsl(urlsplit(first["next"]).query)))
    assert rest == []
    assert pinned == first["cursor"]
    later, _ = pull_all(writer, icp, changed_since=pinned)
    assert {r["external_id"]: r["score"] for r in later} == {"a1": 40, "a3": 100}


def test_the_schema_documents_a_scores_page_as_one_object(writer: APIClient) -> None:
    schema = writer.get("/api/schema/", {"format": "json"}).json()
    ok = schema["paths"][SCORES]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"] == {"$ref": "#/components/schemas/ScorePage"}
