"""Deals in: rows read field by field (a CRM's stage and type words
included), upserted by external_id all or nothing, checked against the
accounts and deals held before anything is written; the outcome shortcut
writes the account's outcome deal."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles.models import Profile, User
from scoring import services
from scoring.ingest.deal_rows import DealInvalidError, deal_clean, stage_status
from scoring.ingest.deals import deal_delete, deals_import, deals_write
from scoring.ingest.importer import ImportFileError, ImportReport, accounts_import, write_batch
from scoring.models import Account, Deal
from tests.drafting import approved_version
from tests.factories import AccountFactory, DealFactory
from tests.runs import run_all

pytestmark = pytest.mark.django_db


def stored() -> list[tuple[Any, ...]]:
    return list(
        Deal.objects.order_by("external_id").values_list(
            "external_id", "account__external_id", "status", "amount", "closed_at"
        )
    )


def errors_of(report: ImportReport) -> list[str]:
    return [str(e) for e in report.errors]


@pytest.fixture
def acme(db: None) -> Account:
    return AccountFactory.create(external_id="acme", name="Acme")


# --- One row -------------------------------------------------------------------


def test_a_clean_deal_row_comes_back_in_stored_form() -> None:
    clean = deal_clean(
        {
            "external_id": " opp-1 ",
            "account": "acme",
            "name": " Acme renewal ",
            "stage": "Closed Won",
            "type": "Existing Customer - Upgrade",
            "amount": "48000.5",
            "currency": "eur",
            "opened_at": "2026-03-02",
            "closed_at": "2026-05-29T16:00:00+02:00",
        }
    )
    assert clean == {
        "external_id": "opp-1",
        "account": "acme",
        "name": "Acme renewal",
        "stage": "Closed Won",
        "status": "won",
        "type": "expansion",
        "amount": Decimal("48000.50"),
        "currency": "EUR",
        "opened_at": datetime(2026, 3, 2, tzinfo=UTC),
        "closed_at": datetime(2026, 5, 29, 14, 0, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    ("stage", "status"),
    [
        ("Closed Won", "won"),
        ("closedwon", "won"),
        ("Won", "won"),
        ("Closed - Won", "won"),
        ("Closed Lost", "lost"),
        ("closedlost", "lost"),
        ("Lost - no budget", "lost"),
        ("Negotiation/Review", "open"),
        ("Contract Sent", "open"),
        ("Won't proceed yet", "open"),
    ],
)
def test_a_crms_stage_names_say_whether_a_deal_is_won_lost_or_open(stage: str, status: str) -> None:
    assert stage_status(stage) == status


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("New Business", "new"),
        ("newbusiness", "new"),
        ("New Customer", "new"),
        ("Existing Business", "expansion"),
        ("Existing Customer - Replacement", "expansion"),
        ("Upsell", "expansion"),
        ("Renewal", "renewal"),
        ("renewal", "renewal"),
    ],
)
def test_a_crms_deal_types_are_read_as_new_expansion_or_renewal(words: str, kind: str) -> None:
    assert deal_clean({"external_id": "d", "type": words})["type"] == kind


def test_the_closed_and_won_flags_of_an_export_set_the_status_over_its_stage() -> None:
    def status(**cells: str) -> str | None:
        return deal_clean({"external_id": "d", **cells}).get("status")

    assert status(stage="Signed", closed="1", won="1") == "won"
    assert status(stage="Signed", closed="true", won="false") == "lost"
    assert status(stage="Closed Won", closed="0", won="0") == "open"
    assert status(stage="Closed Lost", closed="1") == "lost"
    assert status(stage="Closed Won", status="open") == "open"
    assert status(name="No stage, no flags") is None
    with pytest.raises(DealInvalidError) as caught:
        deal_clean({"external_id": "d", "stage": "Signed", "closed": "yes"})
    assert list(caught.value.errors) == ["closed"]


def test_bad_deal_values_are_named_field_by_field() -> None:
    with pytest.raises(DealInvalidError) as caught:
        deal_clean(
            {
                "external_id": "outcome:acme",
                "account": "",
                "status": "pending",
                "type": "barter",
                "amount": "-5",
                "currency": "euro",
                "opened_at": "2026-03-02T09:30:00",
                "closed_at": "0999-01-01",
                "owner": "Dana",
            }
        )
    assert caught.value.errors == {
        "columns": [
            "unknown column 'owner'; accepted: external_id, account, name, stage, status, "
            "type, amount, currency, opened_at, closed_at, closed, won"
        ],
        "account": ["empty; a deal's account cannot be cleared (leave the field out to keep it)"],
        "status": ["'pending' is not one of open, won, lost"],
        "type": [
            "'barter' is not one of new, expansion, renewal (or a CRM's words for them, such as "
            "New Business, Existing Business, Renewal)"
        ],
        "amount": ["-5 is negative; enter 0 or more"],
        "currency": ["'euro' is not a 3-letter currency code such as EUR or USD"],
        "opened_at": ["'2026-03-02T09:30:00' has no time zone; add an offset such as Z or +02:00"],
        "closed_at": ["'0999-01-01' is outside the years 1900 to 2999"],
    }


def test_a_status_sent_empty_is_named_not_cleared() -> None:
    with pytest.raises(DealInvalidError) as caught:
        deal_clean({"external_id": "d", "status": None, "type": None}, strict=True)
    assert caught.value.errors == {
        "status": ["empty; a deal is open, won or lost (leave the field out to keep its status)"]
    }
    assert deal_clean({"external_id": "d", "type": None}, strict=True) == {"external_id": "d"}


def test_an_outcome_deals_id_is_kept_for_the_outcome_shortcut() -> None:
    with pytest.raises(DealInvalidError) as caught:
        deal_clean({"external_id": "outcome:acme", "account": "acme"})
    assert "are the accounts' outcome deals" in caught.value.errors["external_id"][0]


def test_a_json_client_sends_each_field_as_its_own_type() -> None:
    with pytest.raises(DealInvalidError) as caught:
        deal_clean(
            {"external_id": "d", "account": 42, "amount": True, "closed": True},
            strict=True,
            columns=("external_id", "account", "amount"),
        )
    assert caught.value.errors == {
        "columns": ["unknown column 'closed'; accepted: external_id, account, amount"],
        "account": ["42 is a whole number; send a string or null"],
        "amount": ["True is true or false; send a whole number or a number or a string or null"],
    }


# --- Many rows -------------------------------------------------------------------


def test_deals_are_created_then_reported_unchanged_then_updated(
    manager: User, acme: Account
) -> None:
    rows = [
        {"external_id": "opp-1", "account": "acme", "status": "won", "closed_at": "2026-05-29"},
        {"external_id": "opp-2", "account": "acme", "stage": "Proposal", "amount": "1200"},
    ]
    first = deals_import(actor=manager, rows=rows)
    assert (first.created, first.updated, first.unchanged, first.errors) == (2, 0, 0, [])
    assert first.outcomes == {1: "created", 2: "created"}
    opp2 = Deal.objects.get(external_id="opp-2")
    assert (opp2.status, opp2.type, opp2.amount, opp2.account_id) == (
        "open",
        "new",
        Decimal("1200.00"),
        acme.pk,
    )
    stamp = opp2.updated_at
    again = deals_import(actor=manager, rows=rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    opp2.refresh_from_db()
    assert opp2.updated_at == stamp
    lost = {"external_id": "opp-2", "stage": "Closed Lost", "closed_at": "2026-06-01"}
    changed = deals_import(actor=manager, rows=[lost])
    assert changed.outcomes == {1: "updated"}
    opp2.refresh_from_db()
    assert (opp2.status, opp2.stage, opp2.amount) == ("lost", "Closed Lost", Decimal("1200.00"))
    assert opp2.updated_at > stamp


def test_a_partial_row_changes_only_what_it_sends_and_may_move_the_deal(
    manager: User, acme: Account
) -> None:
    beta = AccountFactory.create(external_id="beta")
    DealFactory.create(
        external_id="opp-1", account=acme, name="Acme", amount=Decimal(5), currency="EUR"
    )
    report = deals_import(actor=manager, rows=[{"external_id": "opp-1", "currency": ""}])
    assert report.updated == 1
    deal = Deal.objects.get()
    assert (deal.name, deal.amount, deal.currency, deal.account_id) == ("Acme", 5, "", acme.pk)
    deals_import(actor=manager, rows=[{"external_id": "opp-1", "account": "beta"}])
    assert Deal.objects.get().account_id == beta.pk


def test_an_unknown_account_or_a_new_deal_without_one_is_the_rows_error(
    manager: User, acme: Account
) -> None:
    report = deals_import(
        actor=manager,
        rows=[
            {"external_id": "opp-1", "account": "acme"},
            {"external_id": "opp-2", "account": "nope"},
            {"external_id": "opp-3", "name": "Whose?"},
        ],
    )
    assert errors_of(report) == [
        "row 2 (opp-2): account: no account 'nope'; send the account itself first",
        "row 3 (opp-3): account: missing; 'opp-3' is a new deal, so its row needs its account",
    ]
    assert (report.written, stored()) == (False, [])


def test_a_won_or_lost_deal_without_its_close_date_is_refused_before_the_database_is_asked(
    manager: User, acme: Account
) -> None:
    DealFactory.create(
        external_id="held-won",
        account=acme,
        status="won",
        closed_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    DealFactory.create(external_id="held-open", account=acme)
    before = stored()
    report = deals_import(
        actor=manager,
        rows=[
            {"external_id": "new-won", "account": "acme", "status": "won"},
            {"external_id": "new-lost", "account": "acme", "stage": "Closed Lost"},
            {"external_id": "held-won", "closed_at": ""},
            {"external_id": "held-open", "status": "lost"},
            {"external_id": "held-won2", "account": "acme", "status": "won", "closed_at": None},
        ],
        mode="valid_only",
    )
    assert errors_of(report) == [
        "row 1 (new-won): closed_at: missing; a won deal needs the date it closed",
        "row 2 (new-lost): closed_at: missing; a lost deal needs the date it closed",
        "row 3 (held-won): closed_at: missing; a won deal needs the date it closed",
        "row 4 (held-open): closed_at: missing; a lost deal needs the date it closed",
        "row 5 (held-won2): closed_at: missing; a won deal needs the date it closed",
    ]
    assert (report.written, stored()) == (True, before)
    # A won deal held keeps its date when a row only changes its amount.
    fine = deals_import(actor=manager, rows=[{"external_id": "held-won", "amount": 10}])
    assert (fine.errors, fine.updated) == ([], 1)


def test_all_or_nothing_stores_nothing_and_valid_only_the_good_rows(
    manager: User, acme: Account
) -> None:
    rows = [
        {"external_id": "opp-1", "account": "acme", "amount": "10.005"},
        {"external_id": "opp-2", "account": "acme"},
        {"external_id": "opp-2", "account": "acme", "name": "again"},
        {"external_id": "opp-3", "account": "acme", "type": "renewal"},
    ]
    nothing = deals_import(actor=manager, rows=rows)
    assert (
        nothing.summary() == "Nothing imported: 0 created, 0 updated, 0 unchanged, 3 with errors."
    )
    assert errors_of(nothing) == [
        "row 1 (opp-1): amount: 10.005 has more than 2 decimal places",
        "row 2 (opp-2): external_id: 'opp-2' also appears in row 3; "
        "each deal may appear once per import",
        "row 3 (opp-2): external_id: 'opp-2' also appears in row 2; "
        "each deal may appear once per import",
    ]
    assert stored() == []
    some = deals_import(actor=manager, rows=rows, mode="valid_only")
    assert some.summary() == "Imported: 1 created, 0 updated, 0 unchanged, 3 with errors."
    assert [(e, t) for e, t in Deal.objects.values_list("external_id", "type")] == [
        ("opp-3", "renewal")
    ]


def test_only_those_who_may_import_accounts_write_deals(rep: User, acme: Account) -> None:
    with pytest.raises(PermissionDenied):
        deals_import(actor=rep, rows=[{"external_id": "opp-1", "account": "acme"}])
    deal = DealFactory.create(account=acme)
    with pytest.raises(PermissionDenied):
        deal_delete(actor=rep, deal=deal)
    assert Deal.objects.count() == 1


def test_a_thousand_deals_take_the_same_statements_as_three(manager: User, acme: Account) -> None:
    def run(prefix: str, count: int, **fields: Any) -> int:
        rows = [
            {"external_id": f"{prefix}-{n}", "account": "acme", "name": f"Deal {n}", **fields}
            for n in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            report = deals_import(actor=manager, rows=rows)
        assert report.errors == []
        return len(queries)

    # Creates, then updates of the same deals: a statement per batch, never one per row.
    assert run("few", 3) == run("many", 40)
    assert run("few", 3, amount=5) == run("many", 40, amount=5)
    if connection.vendor == "postgresql":  # SQLite splits long statements on its own
        assert run("more", 3) == run("big", 1000)
        assert run("more", 3, amount=6) == run("big", 1000, amount=6)


def test_a_deal_whose_account_went_between_the_check_and_the_write_stops_the_import(
    manager: User, acme: Account
) -> None:
    """Checked against the account held; gone by the write, so nothing is stored."""
    report = ImportReport(mode="all_or_nothing")
    Account.objects.filter(pk=acme.pk).delete()
    with pytest.raises(ImportFileError):
        deals_write(report, [(1, {"external_id": "opp-1", "account": "acme"})])
    assert stored() == []


# --- The outcome shortcut ----------------------------------------------------------


def outcome_of(account: str) -> tuple[Any, ...] | None:
    deal = Deal.objects.filter(external_id=f"outcome:{account}").first()
    if deal is None:
        return None
    return (deal.status, deal.type, deal.amount, deal.opened_at, deal.closed_at)


def test_an_accounts_outcome_fields_write_its_outcome_deal(manager: User, acme: Account) -> None:
    report = accounts_import(
        actor=manager,
        rows=[
            {
                "external_id": "acme",
                "deal_status": "won",
                "deal_closed_at": "2026-05-29",
                "deal_amount": "48000",
                "opportunity_opened_at": "2026-03-02",
            }
        ],
        outcomes_only=True,
    )
    assert report.outcomes == {1: "updated"}
    may, march = datetime(2026, 5, 29, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    assert outcome_of("acme") == ("won", "new", Decimal("48000.00"), march, may)
    again = accounts_import(
        actor=manager, rows=[{"external_id": "acme", "deal_status": "won"}], outcomes_only=True
    )
    assert again.outcomes == {1: "unchanged"}
    amount = accounts_import(
        actor=manager, rows=[{"external_id": "acme", "deal_amount": 50000}], outcomes_only=True
    )
    assert amount.outcomes == {1: "updated"}
    assert outcome_of("acme") == ("won", "new", Decimal("50000.00"), march, may)


def test_a_new_account_with_an_outcome_gets_its_outcome_deal_in_the_same_import(
    manager: User,
) -> None:
    report = accounts_import(
        actor=manager,
        rows=[
            {"external_id": "new-1", "name": "New", "deal_status": "open"},
            {"external_id": "new-2", "name": "Plain"},
        ],
    )
    assert report.outcomes == {1: "created", 2: "created"}
    assert outcome_of("new-1") == ("open", "new", None, None, None)
    assert outcome_of("new-2") is None
    assert Deal.objects.get().account.external_id == "new-1"


def test_a_won_outcome_needs_its_close_date_sent_or_stored(manager: User, acme: Account) -> None:
    refused = accounts_import(
        actor=manager, rows=[{"external_id": "acme", "deal_status": "won"}], outcomes_only=True
    )
    assert errors_of(refused) == [
        "row 1 (acme): deal_closed_at: missing; a won deal needs the date it closed"
    ]
    assert outcome_of("acme") is None
    accounts_import(
        actor=manager,
        rows=[{"external_id": "acme", "deal_status": "lost", "deal_closed_at": "2026-02-01"}],
        outcomes_only=True,
    )
    won = accounts_import(
        actor=manager, rows=[{"external_id": "acme", "deal_status": "won"}], outcomes_only=True
    )
    assert (won.errors, outcome_of("acme")[0]) == ([], "won")  # type: ignore[index]
    cleared = accounts_import(
        actor=manager,
        rows=[{"external_id": "acme", "name": "Acme", "deal_closed_at": ""}],
    )
    assert errors_of(cleared) == [
        "row 1 (acme): deal_closed_at: missing; a won deal needs the date it closed"
    ]


def test_an_outcome_sent_empty_reopens_the_deal_or_removes_it_when_it_holds_nothing(
    manager: User, acme: Account
) -> None:
    def send(**fields: Any) -> None:
        report = accounts_import(
            actor=manager, rows=[{"external_id": "acme", **fields}], outcomes_only=True
        )
        assert report.errors == []

    send(deal_status="won", deal_closed_at="2026-02-01", deal_amount="10")
    send(deal_status="")
    feb = datetime(2026, 2, 1, tzinfo=UTC)
    assert outcome_of("acme") == ("open", "new", Decimal("10.00"), None, feb)
    send(deal_status=None, deal_closed_at=None, deal_amount=None)
    assert outcome_of("acme") is None


def test_an_outcome_written_or_removed_changes_the_account_but_does_not_rescore_it(
    manager: User, acme: Account, icp: Profile, ops_manager: User
) -> None:
    """The account's outcome fields read its outcome deal, so a sync asking
    what changed since gets the account; a deal carries no score."""
    version = approved_version(icp, 1, [200, 2000])
    assert run_all(services.run_create(profile=icp, version=version, actor=ops_manager))
    Account.objects.update(updated_at=datetime(2020, 1, 1, tzinfo=UTC))
    won = accounts_import(
        actor=manager,
        rows=[{"external_id": "acme", "deal_status": "won", "deal_closed_at": "2026-02-01"}],
        outcomes_only=True,
    )
    assert (won.outcomes, won.scored) == ({1: "updated"}, 0)
    acme.refresh_from_db()
    assert acme.updated_at.year > 2020

    Account.objects.update(updated_at=datetime(2020, 1, 1, tzinfo=UTC))
    deal_delete(actor=manager, deal=Deal.objects.get())
    acme.refresh_from_db()
    assert (acme.updated_at.year > 2020, Deal.objects.count()) == (True, 0)


def test_removing_another_deal_leaves_the_account_as_it_was(manager: User, acme: Account) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    deal = Deal.objects.create(external_id="opp-1", account=acme)
    Account.objects.update(updated_at=long_ago)
    deal_delete(actor=manager, deal=deal)
    acme.refresh_from_db()
    assert acme.updated_at == long_ago


def test_an_update_writes_the_outcome_deal_as_a_create_does(manager: User) -> None:
    AccountFactory.create(external_id="old", name="Old")
    outcome = {
        "deal_status": "won",
        "deal_closed_at": "2025-02-03",
        "deal_amount": "12345.67",
        "opportunity_opened_at": "2025-01-02T03:04:05+01:00",
    }
    accounts_import(
        actor=manager,
        rows=[{"external_id": "old", **outcome}, {"external_id": "new", "name": "New", **outcome}],
    )
    assert outcome_of("old") is not None
    assert outcome_of("old") == outcome_of("new")


def test_a_file_import_writes_outcome_deals_too(manager: User, acme: Account) -> None:
    """write_batch, the file import's writer, with rows of both kinds."""
    report = ImportReport(mode="all_or_nothing")
    write_batch(
        report,
        [
            (2, {"external_id": "acme", "deal_status": "open"}),
            (3, {"external_id": "beta", "name": "Beta", "deal_amount": Decimal(7)}),
        ],
    )
    assert report.outcomes == {2: "updated", 3: "created"}
    assert outcome_of("acme") == ("open", "new", None, None, None)
    assert outcome_of("beta") == ("open", "new", Decimal(7), None, None)
