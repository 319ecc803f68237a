"""Import jobs: the upload is stored and a worker imports it, all or nothing
across batches, once however often the task is delivered, with its
progress and report on a page for its owner and whoever may import."""

import csv
import io
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, transaction
from django.http import HttpResponseBase
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from profiles.models import Profile, Trait, User
from scoring import services
from scoring.ingest import importer, jobs
from scoring.ingest.importer import BATCH_SIZE, accounts_import
from scoring.ingest.jobs import import_job_run
from scoring.models import Account, AccountScore, ImportJob, ScoringRun
from scoring.tasks import import_job_run_task
from tests.drafting import approved_version
from tests.factories import AccountFactory
from tests.importing import csv_file, queued
from tests.runs import run_all

pytestmark = pytest.mark.django_db


def post(
    client: Client, data: bytes, *, run: bool, **fields: str
) -> tuple[HttpResponseBase, list[Callable[[], Any]]]:
    """Upload a file; with `run`, the import enqueued on commit runs too.
    Returns the response and the callbacks the request left for the commit."""
    file = SimpleUploadedFile("accounts.csv", data, content_type="text/csv")
    with TestCase.captureOnCommitCallbacks(execute=run) as callbacks:
        response = client.post(reverse("account-import"), {"file": file, **fields})
    return response, callbacks


def job_page(client: Client, job: ImportJob, **headers: str) -> Any:
    return client.get(reverse("account-import-job", args=[job.pk]), headers=headers)


# --- The upload ----------------------------------------------------------------


def test_an_upload_stores_the_file_as_a_job_and_redirects_to_its_page(
    client: Client, manager: User
) -> None:
    client.force_login(manager)
    data = csv_file(3)
    response, callbacks = post(client, data, run=False, valid_only="on")
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/import/{job.pk}/"
    assert len(callbacks) == 1
    assert (job.created_by, job.file_name, job.file_size) == (manager, "accounts.csv", len(data))
    assert bytes(job.data) == data
    assert (job.mode, job.status) == ("valid_only", "queued")
    assert not Account.objects.exists()
    page = job_page(client, job)
    assert b"Waiting for a worker to start the import." in page.content
    assert b'hx-trigger="every 2s"' in page.content


def test_a_200000_row_file_is_stored_by_the_request_and_not_imported_in_it(
    client: Client, manager: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**kwargs: Any) -> None:
        raise AssertionError("the request imported the file")

    monkeypatch.setattr(jobs, "file_import", refuse)
    client.force_login(manager)
    data = csv_file(200_000)
    with CaptureQueriesContext(connection) as queries:
        response, callbacks = post(client, data, run=False)
    assert response.status_code == 302
    assert [c.__qualname__ for c in callbacks] == ["import_job_create.<locals>.<lambda>"]
    job = ImportJob.objects.get()
    assert (job.status, job.file_size, job.rows_read) == ("queued", len(data), 0)
    assert not Account.objects.exists()
    assert len(queries) < 20


# --- The task ------------------------------------------------------------------


def test_the_task_imports_the_file_and_the_page_shows_the_counts_and_every_bad_row(
    client: Client, manager: User
) -> None:
    AccountFactory.create(external_id="crm-2", name="Company 2", employees=2)
    client.force_login(manager)
    data = csv_file(4, bad={3: "lots"}) + b",,\n"
    post(client, data, run=False, valid_only="on")
    job = ImportJob.objects.get()
    assert import_job_run_task.delay(job.pk).get() == "done"
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.rows_bad, job.blank) == ("done", 5, 1, 1)
    assert (job.accounts_created, job.accounts_updated, job.accounts_unchanged) == (3, 0, 0)
    assert job.errors == [
        [3, "crm-2", "employees", "'lots' is not a whole number (write digits only, e.g. 1200)"]
    ]
    assert job.data == b""
    assert job.started_at is not None
    assert job.finished_at is not None
    page = job_page(client, job)
    content = page.content.decode()
    assert "Done in" in content
    assert "5 rows read, 1 with errors." in content
    assert "Imported: 3 created, 0 updated, 0 unchanged, 1 blank skipped, 1 with errors." in content
    assert "1 row has errors and was skipped." in content
    assert "&#x27;lots&#x27; is not a whole number" in content
    assert "hx-trigger" not in content
    assert sorted(Account.objects.values_list("external_id", "employees")) == [
        ("crm-1", 1),
        ("crm-2", 2),
        ("crm-3", 3),
        ("crm-4", 4),
    ]


def test_all_or_nothing_with_a_bad_row_in_the_last_batch_stores_nothing(
    manager: User,
) -> None:
    AccountFactory.create(external_id="crm-5", name="Before", employees=7)
    rows = 2 * BATCH_SIZE + 10
    job = queued(manager, csv_file(rows, bad={rows + 1: "many"}))
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.written, job.rows_read, job.rows_bad) == ("done", False, rows, 1)
    assert job.errors == [
        [rows + 1, f"crm-{rows}", "employees", "'many' is not a whole number (write digits "
         "only, e.g. 1200)"]
    ]  # fmt: skip
    assert list(Account.objects.values_list("external_id", "name", "employees")) == [
        ("crm-5", "Before", 7)
    ]


def test_a_failure_while_writing_the_last_batch_undoes_the_batches_before_it(
    manager: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    AccountFactory.create(external_id="crm-5", name="Before", employees=7)
    written = []
    real = importer.write_batch

    def failing(report: Any, batch: list[Any], **kwargs: Any) -> list[int]:
        written.append(len(batch))
        if len(written) == 3:
            raise RuntimeError("disk full")
        return real(report, batch, **kwargs)

    monkeypatch.setattr(importer, "write_batch", failing)
    job = queued(manager, csv_file(2 * BATCH_SIZE + 10))
    with pytest.raises(RuntimeError):
        import_job_run_task.delay(job.pk)
    job.refresh_from_db()
    assert written == [BATCH_SIZE, BATCH_SIZE, 10]
    assert job.status == "failed"
    assert job.problems == [jobs.STOPPED]
    assert list(Account.objects.values_list("external_id", "name", "employees")) == [
        ("crm-5", "Before", 7)
    ]


def test_valid_only_stores_the_good_rows_and_reports_repeated_ids(manager: User) -> None:
    data = csv_file(3, bad={3: "-1"}) + b"crm-3,Again,4\n"
    job = queued(manager, data, mode="valid_only")
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.written, job.rows_read, job.rows_bad) == ("done", True, 4, 3)
    assert job.errors == [
        [3, "crm-2", "employees", "-1 is negative; enter 0 or more"],
        [4, "crm-3", "external_id", "'crm-3' also appears in row 5; each account may appear "
         "once per import"],
        [5, "crm-3", "external_id", "'crm-3' also appears in row 4; each account may appear "
         "once per import"],
    ]  # fmt: skip
    assert list(Account.objects.values_list("external_id", flat=True)) == ["crm-1"]


def test_a_job_keeps_the_first_500_problems_and_counts_them_all(
    client: Client, manager: User
) -> None:
    job = queued(manager, csv_file(600, bad=dict.fromkeys(range(2, 602), "x")))
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.rows_bad, job.error_count, len(job.errors)) == (600, 600, 500)
    assert [e[0] for e in job.errors] == list(range(2, 502))
    client.force_login(manager)
    content = job_page(client, job).content.decode()
    assert "600 rows have errors, so nothing was stored." in content
    assert "The first 500 of 600 problems are listed." in content


def test_a_second_run_of_the_task_changes_nothing(manager: User) -> None:
    job = queued(manager, csv_file(3))
    assert import_job_run_task.delay(job.pk).get() == "done"
    accounts = list(Account.objects.values_list("pk", "updated_at"))
    finished = ImportJob.objects.values().get()
    assert import_job_run_task.delay(job.pk).get() == "nothing to do"
    assert import_job_run(job_id=job.pk) is None
    assert list(Account.objects.values_list("pk", "updated_at")) == accounts
    assert ImportJob.objects.values().get() == finished


def test_a_job_left_running_by_a_worker_that_died_is_taken_over(manager: User) -> None:
    job = queued(manager, csv_file(3))
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    assert import_job_run_task.delay(job.pk).get() == "done"
    assert Account.objects.count() == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_second_delivery_while_the_first_runs_leaves_the_job_to_it(manager: User) -> None:
    job = ImportJob.objects.create(
        created_by=manager, file_name="a.csv", data=csv_file(3), mode="all_or_nothing"
    )
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    locked, release = threading.Event(), threading.Event()

    def first_delivery() -> None:
        with transaction.atomic():
            ImportJob.objects.select_for_update().get(pk=job.pk)
            locked.set()
            release.wait(10)
        connection.close()

    worker = threading.Thread(target=first_delivery)
    worker.start()
    try:
        assert locked.wait(10)
        assert import_job_run(job_id=job.pk) is None
        assert not Account.objects.exists()
    finally:
        release.set()
        worker.join()
    assert ImportJob.objects.get(pk=job.pk).status == "running"


def test_a_file_that_breaks_further_down_fails_the_job_with_the_rows_named(
    client: Client, manager: User
) -> None:
    job = queued(manager, csv_file(3) + b"crm-9,Nine\n")
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.problems == ["Row 5 has 2 cells but the header has 3 columns."]
    assert not Account.objects.exists()
    client.force_login(manager)
    content = job_page(client, job).content.decode()
    assert "Row 5 has 2 cells but the header has 3 columns." in content
    assert "Nothing from this file was stored." in content


def test_a_20000_row_file_imports_through_the_task_and_is_scored(
    client: Client, manager: User, icp: Profile, ops_manager: User
) -> None:
    AccountFactory.create_batch(5, name="Already here")
    AccountFactory.create(external_id="crm-7", name="Company 7", employees=7)
    version = approved_version(icp, 1, [200, 2000])
    run = run_all(services.run_create(profile=icp, version=version, actor=ops_manager))
    assert isinstance(run, ScoringRun)
    client.force_login(manager)
    response, _ = post(client, csv_file(20_000), run=True)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.status, job.rows_read, job.rows_bad) == ("done", 20_000, 0)
    assert (job.accounts_created, job.accounts_updated, job.accounts_unchanged) == (19_999, 0, 1)
    assert Account.objects.count() == 20_005
    assert AccountScore.objects.filter(run=run).count() == 20_005
    content = client.get(response["Location"]).content.decode()
    assert "Imported: 19,999 created, 0 updated, 1 unchanged." in content
    assert "20,000 rows read, 0 with errors." in content


def test_a_file_stores_accounts_exactly_as_the_row_import_does(manager: User) -> None:
    Trait.objects.create(key="seats", label="Seats", type="number", category="firmographic")
    Trait.objects.create(key="tools", label="Tools", type="list", category="technographic")
    header = (
        "external_id,name,domain,employees,annual_revenue,industry,tech_stack,has_revops,"
        "deal_status,deal_closed_at,deal_amount,churned_at,traits.seats,traits.tools"
    )
    cells = [
        "Acme,acme.example,450,5000000,SaaS,Slack; dbt,yes,won,2024-05-31,1200.5,"
        "2024-06-01T09:30:00+02:00,12,Figma;Miro",
        "Beta,,,,,,,,,,,,",
    ]
    rows = list(csv.DictReader(io.StringIO(f"{header}\n" + "\n".join(f"x,{c}" for c in cells))))
    accounts_import(
        actor=manager, rows=[{**r, "external_id": f"row-{n}"} for n, r in enumerate(rows)]
    )
    data = "\n".join([header, *(f"file-{n},{c}" for n, c in enumerate(cells))]).encode()
    report = jobs.file_import(actor=manager, data=data, mode="all_or_nothing")
    assert (report.created, report.written) == (2, True)
    left_out = {"id", "external_id", "created_at", "updated_at"}

    def stored(prefix: str) -> list[dict[str, Any]]:
        accounts = Account.objects.filter(external_id__startswith=prefix).order_by("external_id")
        return [{k: v for k, v in a.items() if k not in left_out} for a in accounts.values()]

    assert stored("file-") == stored("row-")
    assert stored("file-")[0]["traits"] == {"seats": 12, "tools": ["figma", "miro"]}
    assert Account.objects.filter(created_at__isnull=True).count() == 0


# --- The page ------------------------------------------------------------------


def test_the_page_polls_with_the_workers_counts_while_the_job_runs(
    client: Client, manager: User
) -> None:
    job = queued(manager, csv_file(3))
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    cache.set(jobs._progress_key(job.pk), ("writing", 12_000, 3, 11_997, 4_000))
    client.force_login(manager)
    whole = job_page(client, job)
    assert b"<h1>Import of accounts.csv</h1>" in whole.content
    part = job_page(client, job, HX_Request="true")
    content = part.content.decode()
    assert part.templates[0].name == "scoring/partials/_import_job.html"
    assert 'hx-trigger="every 2s"' in content
    assert "Storing the accounts: 4,000 of 11,997." in content
    assert 'data-testid="rows-read">12,000<' in content
    assert 'data-testid="rows-bad">3<' in content
    assert 'value="33"' in content
    assert "<script" not in content
    assert "style=" not in content


def test_someone_elses_job_is_hidden_from_members_without_import_rights(
    client: Client, manager: User, rep: User, outsider: User, ops_manager: User
) -> None:
    job = queued(manager, csv_file(3))
    import_job_run(job_id=job.pk)
    for person in (rep, outsider):
        client.force_login(person)
        assert job_page(client, job).status_code == 404
        assert job_page(client, job, HX_Request="true").status_code == 404
    client.force_login(ops_manager)
    assert job_page(client, job).status_code == 200
    client.logout()
    assert job_page(client, job).status_code == 302


def test_the_owner_still_sees_a_job_after_losing_import_rights(
    client: Client, manager: User
) -> None:
    job = queued(manager, csv_file(3))
    manager.memberships.update(role="member")
    client.force_login(manager)
    assert job_page(client, job).status_code == 200


def test_the_import_page_lists_the_latest_jobs_of_whoever_looks(
    client: Client, manager: User, ops_manager: User
) -> None:
    mine = queued(manager, csv_file(3))
    theirs = queued(ops_manager, csv_file(2))
    client.force_login(manager)
    content = client.get(reverse("account-import")).content.decode()
    assert reverse("account-import-job", args=[mine.pk]) in content
    assert reverse("account-import-job", args=[theirs.pk]) not in content


# --- The command ---------------------------------------------------------------


def test_the_command_shows_a_progress_line_and_then_the_counts(tmp_path: Any) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(csv_file(BATCH_SIZE + 5))
    out, err = io.StringIO(), io.StringIO()
    call_command("import_accounts", str(path), "--progress", stdout=out, stderr=err)
    assert out.getvalue() == f"Imported: {BATCH_SIZE + 5:,} created, 0 updated, 0 unchanged.\n"
    shown = err.getvalue()
    assert "\rChecking rows: 1,000 read, 0 with errors" in shown
    assert f"\rStoring: [{'#' * 30}] 100%  1,005/1,005 accounts" in shown
    assert shown.endswith("\n")
    quiet = io.StringIO()
    call_command("import_accounts", str(path), stdout=io.StringIO(), stderr=quiet)
    assert quiet.getvalue() == ""
