"""A CRM's export imported through the mapping step: its columns proposed
from their names, checked and previewed, saved by name for the next file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from profiles.models import Trait, User
from scoring.ingest import jobs
from scoring.ingest.mapping import mapping_problems, mapping_propose
from scoring.ingest.rows import declared_traits
from scoring.models import Account, ImportJob, ImportMapping

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HUBSPOT = EXAMPLES / "hubspot_companies.csv"
SALESFORCE = EXAMPLES / "salesforce_accounts.csv"


def upload(client: Client, data: bytes, name: str = "export.csv") -> Any:
    file = SimpleUploadedFile(name, data, content_type="text/csv")
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("account-import"), {"file": file})


def columns_page(client: Client, job: ImportJob, **params: str) -> Any:
    return client.get(reverse("account-import-columns", args=[job.pk]), params)


def choose(client: Client, job: ImportJob, choices: dict[str, str], **extra: str) -> Any:
    """Post the mapping page with the proposed choices, changed by
    `choices` (a column's name -> the field it fills)."""
    page = columns_page(client, job)
    form = page.context["form"]
    data = {
        f"column_{i}": choices.get(column, form[f"column_{i}"].initial)
        for i, column in enumerate(form.header)
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            reverse("account-import-columns", args=[job.pk]),
            {**data, "action": "import", **extra},
        )


@pytest.fixture
def importer(client: Client, manager: User) -> Client:
    client.force_login(manager)
    return client


def test_the_standard_hubspot_and_salesforce_headers_are_recognised() -> None:
    hubspot = mapping_propose(
        [
            "Record ID",
            "Company name",
            "Company Domain Name",
            "Number of Employees",
            "Annual Revenue",
            "Industry",
            "Country/Region",
            "Web Technologies",
            "Phone Number",
        ],
        {},
    )
    assert hubspot == {
        "Record ID": "external_id",
        "Company name": "name",
        "Company Domain Name": "domain",
        "Number of Employees": "employees",
        "Annual Revenue": "annual_revenue",
        "Industry": "industry",
        "Country/Region": "country",
        "Web Technologies": "tech_stack",
        "Phone Number": "",
    }
    salesforce = mapping_propose(
        ["Account ID", "Account Name", "Website", "Employees", "Billing Country", "Type"], {}
    )
    assert salesforce == {
        "Account ID": "external_id",
        "Account Name": "name",
        "Website": "domain",
        "Employees": "employees",
        "Billing Country": "country",
        "Type": "",
    }


def test_own_names_and_declared_traits_match_whatever_their_case_and_spacing() -> None:
    Trait.objects.create(key="seats", label="Paid seats", type="number")
    proposal = mapping_propose(
        ["EXTERNAL_ID", " Name ", "paid seats", "Deal-Status"], declared_traits()
    )
    assert proposal == {
        "EXTERNAL_ID": "external_id",
        " Name ": "name",
        "paid seats": "traits.seats",
        "Deal-Status": "deal_status",
    }


def test_a_crm_header_wins_over_a_trait_of_the_same_name() -> None:
    Trait.objects.create(key="website", label="Technologies", type="list")
    proposal = mapping_propose(["Website", "Technologies", "traits.website"], declared_traits())
    assert proposal == {
        "Website": "domain",
        "Technologies": "tech_stack",
        "traits.website": "traits.website",
    }


def test_a_field_is_proposed_once_and_a_saved_mapping_comes_first() -> None:
    assert mapping_propose(["Id", "Account ID", "Name"], {}) == {
        "Id": "external_id",
        "Account ID": "",
        "Name": "name",
    }
    saved = {"Id": "", "Account ID": "external_id", "Name": "name"}
    assert mapping_propose(["Id", "Account ID", "Name"], {}, saved)["Account ID"] == "external_id"


def test_a_mapping_without_an_id_or_with_a_field_twice_names_the_columns() -> None:
    header = ["Account ID", "Account Name", "Website", "Other site"]
    problems = mapping_problems(
        header, {"Account Name": "name", "Website": "domain", "Other site": "domain"}, {}
    )
    assert problems[""] == "Choose the column that holds External id."
    assert "'Website' and 'Other site' are both stored as Domain or website" in problems["Website"]
    assert (
        "traits.nope" in mapping_problems(header, {"Account ID": "traits.nope"}, {})["Account ID"]
    )


def test_a_hubspot_export_goes_through_the_mapping_step_and_imports(importer: Client) -> None:
    response = upload(importer, HUBSPOT.read_bytes(), "hubspot.csv")
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("account-import-columns", args=[job.pk])
    assert job.status == ImportJob.Status.MAPPING
    assert Account.objects.count() == 0

    page = columns_page(importer, job)
    body = page.content.decode()
    assert page.status_code == 200
    assert "Company Domain Name" in body
    assert "northwind.example" in body  # a sample value and a previewed row
    assert 'data-testid="preview"' in body

    done = choose(importer, job, {}, save_as="HubSpot companies")
    assert done.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.accounts_created, job.rows_bad) == (25, 0)
    northwind = Account.objects.get(name="Northwind Analytics")
    assert northwind.external_id == "5100200300"
    assert northwind.domain == "northwind.example"
    assert northwind.employees == 420
    assert northwind.tech_stack == ["snowflake"]
    assert Account.objects.get(name="Crescent Health Systems").tech_stack == [
        "salesforce",
        "snowflake",
        "hubspot",
        "stripe",
    ]
    assert ImportMapping.objects.get(name="HubSpot companies").columns["Record ID"] == "external_id"


def test_a_salesforce_report_imports_and_a_changed_choice_is_kept(importer: Client) -> None:
    upload(importer, SALESFORCE.read_bytes(), "salesforce.csv")
    job = ImportJob.objects.get()
    choose(importer, job, {"Type": "lifecycle_stage"})
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert job.mapping["Type"] == "lifecycle_stage"
    assert Account.objects.count() == 25
    assert set(Account.objects.values_list("lifecycle_stage", flat=True)) <= {
        "Customer - Direct",
        "Prospect",
        "Customer - Channel",
        "Other",
    }
    assert Account.objects.filter(domain__startswith="https://www.").count() == 25


def test_a_saved_mapping_is_proposed_for_the_next_file(importer: Client, manager: User) -> None:
    ImportMapping.objects.create(
        name="Partner list",
        columns={"Ref": "external_id", "Company": "name", "Staff": "employees", "Notes": ""},
        created_by=manager,
    )
    data = b"Ref,Company,Staff,Notes\np-1,Acme,120,hello\n"
    upload(importer, data)
    job = ImportJob.objects.get()
    plain = columns_page(importer, job).context["form"]
    assert plain["column_2"].initial == ""  # "Staff" is no name icpsite knows
    saved = columns_page(importer, job, mapping="Partner list").context["form"]
    assert saved["column_2"].initial == "employees"
    assert "Partner list" in columns_page(importer, job).content.decode()


def test_a_mapping_without_an_id_is_refused_on_the_page_and_nothing_starts(
    importer: Client,
) -> None:
    upload(importer, SALESFORCE.read_bytes())
    job = ImportJob.objects.get()
    answer = choose(importer, job, {"Account ID": ""})
    assert answer.status_code == 400
    assert "Choose the column that holds External id." in answer.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.MAPPING
    assert Account.objects.count() == 0


def test_two_columns_for_one_field_are_named_on_the_page(importer: Client) -> None:
    upload(importer, SALESFORCE.read_bytes())
    job = ImportJob.objects.get()
    answer = choose(importer, job, {"Phone": "domain"})
    assert answer.status_code == 400
    body = answer.content.decode()
    assert "&#x27;Phone&#x27; and &#x27;Website&#x27; are both stored as" in body
    assert ImportJob.objects.get().status == ImportJob.Status.MAPPING


def test_a_bad_value_shows_in_the_preview_before_anything_is_imported(importer: Client) -> None:
    upload(importer, b"Ref,Company,Staff\np-1,Acme,lots\np-2,Beta,40\n")
    job = ImportJob.objects.get()
    page = importer.post(
        reverse("account-import-columns", args=[job.pk]),
        {
            "column_0": "external_id",
            "column_1": "name",
            "column_2": "employees",
            "action": "preview",
        },
    )
    assert page.status_code == 200
    [bad, good] = page.context["preview"]
    assert bad[0] == 2
    assert "employees" in bad[2]
    assert good[1] == ["p-2", "Beta", "40"]
    assert ImportJob.objects.get().status == ImportJob.Status.MAPPING


def test_a_job_already_started_sends_its_mapping_page_to_the_job(importer: Client) -> None:
    upload(importer, SALESFORCE.read_bytes())
    job = ImportJob.objects.get()
    choose(importer, job, {})
    page = columns_page(importer, job)
    assert page.status_code == 302
    assert page["Location"] == reverse("account-import-job", args=[job.pk])


def test_someone_else_cannot_map_a_job(importer: Client, rep: User) -> None:
    upload(importer, SALESFORCE.read_bytes())
    job = ImportJob.objects.get()
    other = Client()
    other.force_login(rep)
    assert other.get(reverse("account-import-columns", args=[job.pk])).status_code == 404
    assert other.post(reverse("account-import-columns", args=[job.pk]), {}).status_code == 404
    assert ImportJob.objects.get().status == ImportJob.Status.MAPPING


def test_a_file_in_icpsites_own_columns_skips_the_mapping_step(importer: Client) -> None:
    response = upload(importer, b"external_id,name\nc-1,Acme\n")
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("account-import-job", args=[job.pk])
    assert job.status == ImportJob.Status.DONE


def test_the_sweep_fails_a_job_whose_columns_were_never_chosen(importer: Client) -> None:
    upload(importer, SALESFORCE.read_bytes())
    job = ImportJob.objects.get()
    later = timezone.now() + timedelta(seconds=jobs.MAPPING_EXPIRY_SECONDS + 60)
    assert job.pk in jobs.import_jobs_resend(now=later)
    job.refresh_from_db()
    assert (job.status, job.problems, bytes(job.data)) == ("failed", [jobs.NEVER_MAPPED], b"")


def test_the_command_imports_with_a_saved_mapping(manager: User) -> None:
    ImportMapping.objects.create(
        name="Salesforce accounts",
        columns=mapping_propose(
            ["Account ID", "Account Name", "Website", "Employees", "Billing Country"], {}
        ),
    )
    call_command("import_accounts", str(SALESFORCE), "--mapping", "Salesforce accounts")
    assert Account.objects.count() == 25
    with pytest.raises(CommandError, match="No saved mapping 'Nope'"):
        call_command("import_accounts", str(SALESFORCE), "--mapping", "Nope")
    with pytest.raises(CommandError, match="--mapping"):
        call_command("import_accounts", str(SALESFORCE))


def test_a_file_repeating_a_column_name_is_refused_at_the_upload(importer: Client) -> None:
    response = upload(importer, b"Ref,Company,Notes,Notes\np-1,Acme,a,b\n")
    assert response.status_code == 400
    message = " ".join(response.context["form"].errors["file"])
    assert "The header names 'Notes' more than once; give each column its own name." in message
    assert not ImportJob.objects.exists()


def test_unnamed_columns_are_skipped_and_cannot_be_chosen(importer: Client) -> None:
    upload(importer, b"Ref,Company,,\np-1,Acme,x,y\n")
    job = ImportJob.objects.get()
    form = columns_page(importer, job).context["form"]
    assert form["column_2"].field.disabled
    answer = choose(importer, job, {"Ref": "external_id", "Company": "name", "": "domain"})
    assert answer.status_code == 302
    assert Account.objects.get().domain == ""


def test_someone_who_lost_import_rights_cannot_map_their_job(
    importer: Client, manager: User
) -> None:
    upload(importer, SALESFORCE.read_bytes())
    job = ImportJob.objects.get()
    manager.memberships.update(role="member")
    page = importer.get(reverse("account-import-columns", args=[job.pk]))
    assert page.status_code == 403
    answer = importer.post(
        reverse("account-import-columns", args=[job.pk]),
        {"column_0": "external_id", "column_1": "name", "save_as": "Mine", "action": "import"},
    )
    assert answer.status_code == 403
    assert ImportJob.objects.get().status == ImportJob.Status.MAPPING
    assert not ImportMapping.objects.exists()


def test_mapping_a_job_the_sweep_expired_says_so_instead_of_failing(
    importer: Client, manager: User
) -> None:
    upload(importer, SALESFORCE.read_bytes())
    job = ImportJob.objects.get()
    page = columns_page(importer, job)
    form = page.context["form"]
    data = {f"column_{i}": form[f"column_{i}"].initial for i in range(len(form.header))}
    ImportJob.objects.filter(pk=job.pk).update(status="failed", data=b"")
    with pytest.raises(ValidationError, match="no longer waiting"):
        jobs.import_job_map(actor=manager, job=job, mapping={}, mode="all_or_nothing")
    answer = importer.post(
        reverse("account-import-columns", args=[job.pk]), {**data, "action": "import"}
    )
    assert answer.status_code == 302  # to the job's page, which says it failed


def test_the_command_refuses_a_saved_mapping_that_does_not_fit_the_file() -> None:
    ImportMapping.objects.create(name="Other CRM", columns={"Ref": "external_id"})
    with pytest.raises(CommandError, match="does not fit this file"):
        call_command("import_accounts", str(SALESFORCE), "--mapping", "Other CRM")
    assert not Account.objects.exists()
