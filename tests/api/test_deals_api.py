"""The deals API: many opportunities per account in, listed and removed;
the accounts' outcome fields as a shortcut to their outcome deal."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from profiles.models import User
from scoring.api_keys import api_key_create
from scoring.models import Account, Deal
from scoring.policies import IMPORT_PERMISSION
from tests.factories import AccountFactory, DealFactory, UserFactory

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as ApiResponse

pytestmark = pytest.mark.django_db

DEALS = "/api/v1/deals/"
UPSERT = "/api/v1/deals/bulk-upsert/"
OUTCOMES = "/api/v1/accounts/outcomes/"


@pytest.fixture
def crm() -> User:
    """The CRM's integration account, with the permission to import."""
    return UserFactory.create(username="crm", permissions=[IMPORT_PERMISSION])


def keyed(user: User, scope: str) -> APIClient:
    client = APIClient()
    key = api_key_create(actor=None, name=scope, user=user, scope=scope).plaintext
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def writer(crm: User) -> APIClient:
    return keyed(crm, "write")


@pytest.fixture
def reader(crm: User) -> APIClient:
    return keyed(crm, "read")


@pytest.fixture
def accounts(db: None) -> list[Account]:
    return [
        AccountFactory.create(external_id="acme", name="Acme"),
        AccountFactory.create(external_id="beta", name="Beta"),
    ]


def push(client: APIClient, rows: list[dict[str, Any]], **extra: Any) -> "ApiResponse":
    return client.post(UPSERT, {"deals": rows, **extra}, format="json")


def deal(external_id: str, account: str = "acme", **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "account": account, **fields}


WON = {"status": "won", "closed_at": "2026-05-29T16:00:00+02:00", "amount": "48000.00"}


def stored() -> list[tuple[Any, ...]]:
    return list(
        Deal.objects.order_by("external_id").values_list(
            "external_id", "account__external_id", "status", "amount"
        )
    )


# --- Deals in -----------------------------------------------------------------


def test_an_upsert_creates_then_reports_repeats_unchanged_and_changes_updated(
    writer: APIClient, accounts: list[Account]
) -> None:
    rows = [deal("opp-1", **WON), deal("opp-2", "beta", stage="Proposal", type="expansion")]
    first = push(writer, rows)
    assert (first.status_code, first.json()) == (
        200,
        {
            "written": True,
            "created": 2,
            "updated": 0,
            "unchanged": 0,
            "invalid": 0,
            "results": [
                {"index": 0, "external_id": "opp-1", "status": "created"},
                {"index": 1, "external_id": "opp-2", "status": "created"},
            ],
        },
    )
    assert stored() == [
        ("opp-1", "acme", "won", Decimal("48000.00")),
        ("opp-2", "beta", "open", None),
    ]
    again = push(writer, rows)
    assert [r["status"] for r in again.json()["results"]] == ["unchanged", "unchanged"]
    partial = push(
        writer, [{"external_id": "opp-2", "stage": "Closed Won", "closed_at": "2026-11-02"}]
    )
    assert partial.json()["results"] == [{"index": 0, "external_id": "opp-2", "status": "updated"}]
    opp2 = Deal.objects.get(external_id="opp-2")
    assert (opp2.status, opp2.type, opp2.account.external_id) == ("won", "expansion", "beta")


def test_one_bad_row_stores_nothing_and_every_row_says_why(
    writer: APIClient, accounts: list[Account]
) -> None:
    response = push(
        writer,
        [
            deal("opp-1", **WON),
            deal("opp-2", "nope"),
            deal("opp-3", status="lost"),
            {"external_id": "opp-4", "amount": "12", "colour": "red"},
        ],
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["written"], body["invalid"]) == (False, 3)
    assert [(r["status"], r.get("errors")) for r in body["results"]] == [
        ("not_written", None),
        ("invalid", {"account": ["no account 'nope'; send the account itself first"]}),
        ("invalid", {"closed_at": ["missing; a lost deal needs the date it closed"]}),
        (
            "invalid",
            {
                "columns": [
                    "unknown column 'colour'; accepted: external_id, account, name, stage, "
                    "status, type, amount, currency, opened_at, closed_at"
                ]
            },
        ),
    ]
    assert stored() == []


def test_valid_only_stores_the_good_rows_and_reports_the_bad(
    writer: APIClient, accounts: list[Account]
) -> None:
    response = push(
        writer,
        [deal("opp-1", **WON), deal("opp-2", amount="1,200"), deal("opp-3", closed=True)],
        mode="valid_only",
    )
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["created", "invalid", "invalid"]
    assert stored() == [("opp-1", "acme", "won", Decimal("48000.00"))]


def test_a_json_client_is_held_to_json_types(writer: APIClient, accounts: list[Account]) -> None:
    response = push(writer, [deal("opp-1", amount=True, opened_at=20260101, name=["x"])])
    errors = response.json()["results"][0]["errors"]
    assert errors == {
        "name": ["['x'] is an array; send a string or null"],
        "amount": ["True is true or false; send a whole number or a number or a string or null"],
        "opened_at": ["20260101 is a whole number; send a string or null"],
    }
    assert stored() == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"deals": []}, "Ensure this field has at least 1 elements."),
        ({"deals": [{}] * 1001}, "Ensure this field has no more than 1000 elements."),
        ({"deals": [], "accounts": []}, "Unknown field; this endpoint takes deals, mode."),
        ({"deals": [deal("x")], "mode": "best_effort"}, "is not a valid choice"),
        ([deal("x")], "Send a JSON object"),
    ],
)
def test_a_bad_envelope_is_a_400_naming_the_field(
    writer: APIClient, accounts: list[Account], body: Any, words: str
) -> None:
    response = writer.post(UPSERT, body, format="json")
    assert response.status_code == 400
    assert words in str(response.json())
    assert stored() == []


def test_a_read_key_and_a_person_who_may_not_import_are_refused(
    reader: APIClient, rep: User, accounts: list[Account]
) -> None:
    assert push(reader, [deal("opp-1")]).status_code == 403
    person = APIClient()
    person.force_login(rep)
    refused = push(person, [deal("opp-1")])
    assert refused.status_code == 403
    assert "import accounts" in refused.json()["detail"]
    assert stored() == []


def test_a_thousand_deals_take_as_many_statements_as_three(
    writer: APIClient, accounts: list[Account]
) -> None:
    """A request is a statement per batch, whatever its size (about 0.3 s for
    1,000 new or changed deals on PostgreSQL)."""

    def send(prefix: str, count: int, amount: int) -> int:
        rows = [
            deal(f"{prefix}-{n}", "acme" if n % 2 else "beta", name=f"Deal {n}", amount=amount + n,
                 **({"status": "won", "closed_at": "2026-01-02"} if n % 3 == 0 else {}))
            for n in range(count)
        ]  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            response = push(writer, rows)
        assert response.status_code == 200, response.json()
        return len(queries)

    if connection.vendor != "postgresql":
        pytest.skip("SQLite splits a long statement on its own")
    writer.get(DEALS)  # the key's first use stamps it
    created, updated = send("few", 3, 1), send("few", 3, 2)
    assert (send("many", 1000, 1), send("many", 1000, 2)) == (created, updated)
    assert Deal.objects.filter(external_id__startswith="many-", amount__gte=2).count() == 1000


# --- Deals out -----------------------------------------------------------------


def test_the_list_pages_newest_first_and_filters(
    reader: APIClient, accounts: list[Account]
) -> None:
    acme, beta = accounts
    made = [
        DealFactory.create(external_id="a-open", account=acme),
        DealFactory.create(
            external_id="a-won",
            account=acme,
            status="won",
            closed_at=datetime(2026, 1, 2, tzinfo=UTC),
        ),
        DealFactory.create(
            external_id="b-open", account=beta, amount=Decimal("12.50"), currency="EUR"
        ),
    ]
    Deal.objects.filter(pk=made[0].pk).update(updated_at=datetime(2025, 1, 1, tzinfo=UTC))
    first = reader.get(DEALS, {"page_size": 2})
    assert first.status_code == 200, first.json()
    body = first.json()
    assert [d["external_id"] for d in body["results"]] == ["b-open", "a-won"]
    assert body["results"][0] == {
        "external_id": "b-open",
        "account": "beta",
        "name": made[2].name,
        "stage": "Qualification",
        "status": "open",
        "type": "new",
        "amount": "12.50",
        "currency": "EUR",
        "opened_at": None,
        "closed_at": None,
        "created_at": body["results"][0]["created_at"],
        "updated_at": body["results"][0]["updated_at"],
    }
    rest = reader.get(body["next"]).json()
    assert ([d["external_id"] for d in rest["results"]], rest["next"]) == (["a-open"], None)

    def ids(**params: str) -> list[str]:
        response = reader.get(DEALS, params)
        assert response.status_code == 200, response.json()
        return [d["external_id"] for d in response.json()["results"]]

    assert ids(account="acme") == ["a-won", "a-open"]
    assert ids(status="won") == ["a-won"]
    assert ids(updated_since="2025-06-01T00:00:00Z") == ["b-open", "a-won"]
    assert ids(account="nobody") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "pending"}, "status"),
        ({"updated_since": "last week"}, "updated_since"),
        ({"acount": "acme"}, "acount"),
        ({"cursor": "nonsense"}, "cursor"),
        ({"page_size": "0"}, "page_size"),
        ({"account": "a\x00b"}, "account"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(
    reader: APIClient, accounts: list[Account], params: dict[str, str], field: str
) -> None:
    response = reader.get(DEALS, params)
    assert response.status_code == 400
    assert field in response.json()


def test_a_deal_is_removed_by_its_external_id(
    writer: APIClient, reader: APIClient, rep: User, accounts: list[Account]
) -> None:
    DealFactory.create(external_id="opp/1", account=accounts[0])
    assert reader.delete(f"{DEALS}opp%2F1/").status_code == 403
    person = APIClient()
    person.force_login(rep)
    assert person.delete(f"{DEALS}opp%2F1/").status_code == 403
    assert Deal.objects.count() == 1
    assert writer.delete(f"{DEALS}opp%2F1/").status_code == 204
    missing = writer.delete(f"{DEALS}opp%2F1/")
    assert (missing.status_code, missing.json()) == (404, {"detail": "No deal 'opp/1'."})
    assert Deal.objects.count() == 0


# --- The outcome shortcut -------------------------------------------------------


def test_the_outcomes_endpoint_writes_the_outcome_deal_the_deals_list_shows(
    writer: APIClient, accounts: list[Account]
) -> None:
    DealFactory.create(external_id="opp-1", account=accounts[0])
    response = writer.post(
        OUTCOMES,
        {
            "outcomes": [
                {
                    "external_id": "acme",
                    "deal_status": "won",
                    "deal_closed_at": "2026-05-29",
                    "deal_amount": "48000.00",
                }
            ]
        },
        format="json",
    )
    assert response.json()["results"] == [{"index": 0, "external_id": "acme", "status": "updated"}]
    listed = writer.get(DEALS, {"account": "acme"}).json()["results"]
    assert [(d["external_id"], d["status"], d["amount"], d["closed_at"]) for d in listed] == [
        ("outcome:acme", "won", "48000.00", "2026-05-29T00:00:00Z"),
        ("opp-1", "open", None, None),
    ]
    detail = writer.get("/api/v1/accounts/acme/").json()
    assert (detail["deal_status"], detail["deal_amount"], detail["deal_closed_at"]) == (
        "won",
        "48000.00",
        "2026-05-29T00:00:00Z",
    )


def test_an_outcome_without_its_close_date_is_the_rows_error(
    writer: APIClient, accounts: list[Account]
) -> None:
    response = writer.post(
        "/api/v1/accounts/bulk-upsert/",
        {"accounts": [{"external_id": "gamma", "name": "Gamma", "deal_status": "lost"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["results"][0]["errors"] == {
        "deal_closed_at": ["missing; a lost deal needs the date it closed"]
    }
    assert not Account.objects.filter(external_id="gamma").exists()


def test_the_outcome_deal_is_kept_for_the_shortcut(
    writer: APIClient, accounts: list[Account]
) -> None:
    response = push(writer, [deal("outcome:acme", **WON)])
    assert response.status_code == 400
    assert "are the accounts' outcome deals" in str(response.json()["results"][0]["errors"])
    assert stored() == []


def test_the_schema_documents_the_deals_endpoints_with_examples(writer: APIClient) -> None:
    schema = writer.get("/api/schema/", {"format": "json"}).json()
    upsert = schema["paths"][UPSERT]["post"]
    assert upsert["tags"] == ["deals"]
    examples = upsert["requestBody"]["content"]["application/json"]["examples"]
    assert "AStageChangeOnADealHeld" in examples
    assert set(upsert["responses"]) >= {"200", "400", "403", "409", "413", "415"}
    listing = schema["paths"][DEALS]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "account",
        "status",
        "updated_since",
        "cursor",
        "page_size",
    }
    assert "delete" in schema["paths"][f"{DEALS}{{external_id}}/"]
    outcomes = schema["paths"][OUTCOMES]["post"]["description"]
    assert "outcome:<external_id>" in outcomes
