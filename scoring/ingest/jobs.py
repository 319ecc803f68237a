"""Imports of accounts or deals from CSV files of any size up to
MAX_FILE_BYTES, and the import jobs that run them on a worker.

The import page stores the upload as an ImportJob and a task on the default
queue imports it (import_job_run); the request only checks the file cheaply
(csv_open), so a 200,000-row file never meets the web's timeout. A file
whose columns are not icpsite's own waits (status "mapping") until whoever
uploaded it chooses them on the mapping page (import_job_map).
`manage.py import_accounts` runs the same import in the foreground.

A file is read twice, so memory holds the file and its external_ids, never
its rows, whatever their number:

1. Every row is checked and repeated external_ids found, then what the
   rows need of the database (an account held, a stored deal a partial row
   completes) is looked up in batches. Only the numbers of the bad rows are
   kept, with the first `max_errors` problems and a count of them all, and
   the little each row needs looked up; and the category values no
   criterion names, counted once per value (scoring.ingest.picklists). All
   or nothing with a bad row ends here: nothing is written.
2. The good rows are read and cleaned again and written in batches of
   BATCH_SIZE inside one transaction; the new and changed accounts are
   scored at its end, in batches of SCORE_BATCH_SIZE, so the profiles'
   change counters are locked for the scoring alone, not for the writing
   (deals carry no score).

Progress goes to the cache, not to the job's row: the row is written in the
import's own transaction, which nobody else sees until it commits. With
Redis (the full stack) every web process reads what the worker wrote;
without it the task runs in the request (eager), and the page shows the job
finished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

import orjson
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import JSONField, Q
from django.http import Http404
from django.utils import timezone

from icpsite.text import text_problem
from profiles.models import User
from scoring.dispatch import claimed_send
from scoring.ingest.csvfiles import CsvFile, csv_header, csv_open, csv_records, csv_samples
from scoring.ingest.deal_rows import STATUS_FLAGS
from scoring.ingest.deals import DealRows
from scoring.ingest.importer import AccountRows
from scoring.ingest.mapping import MAX_MAPPED_COLUMNS, SKIP, mapping_problems, repeated_names
from scoring.ingest.picklists import PicklistCheck, ValueTally, ValueWarning
from scoring.ingest.rows import TRAIT_PREFIX, RowInvalidError, declared_traits, is_empty
from scoring.ingest.upsert import (
    BATCH_SIZE,
    CONCURRENT_WRITE,
    MODES,
    ImportFileError,
    ImportReport,
    Mode,
    RowError,
    RowKind,
    external_id_of,
    repeated_id_errors,
)
from scoring.models import Account, ImportJob, ImportJobStatus, ImportKind, ImportMapping
from scoring.policies import IMPORT_REFUSED, can_import_accounts
from scoring.sql import accounts_copy

logger = logging.getLogger(__name__)

# Problems an import job keeps for its report; it counts them all.
MAX_STORED_ERRORS = 500

# Accounts scored per statement after the writing: ten write batches at a
# time, well inside SQLite's 32,766 parameters.
SCORE_BATCH_SIZE = 10_000

# How long a running job's progress stays in the cache without an update.
PROGRESS_TIMEOUT_SECONDS = 24 * 3600

# The longest name of a saved mapping.
MAPPING_NAME_LENGTH = ImportMapping.NAME_LENGTH

# Rows of the file the mapping page shows as they would be stored.
PREVIEW_ROWS = 5

# A job still waiting for its columns this long after the upload is failed
# by the sweep on beat, and its file dropped.
MAPPING_EXPIRY_SECONDS = 24 * 3600

NOT_WAITING = "This import is no longer waiting for its columns: it has started, or expired."

NEVER_MAPPED = (
    "The file's columns were not chosen within a day of the upload, so it was not imported. "
    "Upload the file again."
)


@dataclass(frozen=True)
class PreviewRow:
    """A row of the file as it would be stored: its values, or its errors
    by field."""

    number: int
    values: dict[str, Any]
    errors: dict[str, list[str]]

    def cells(self, fields: list[str]) -> list[str | None]:
        """The row's stored value of each of `fields` (`traits.<key>` for a
        trait) as text, None where it has none."""
        traits = self.values.get("traits") or {}
        values = [
            traits.get(f.removeprefix(TRAIT_PREFIX))
            if f.startswith(TRAIT_PREFIX)
            else self.values.get(f)
            for f in fields
        ]
        return [_shown(value) for value in values]


def _shown(value: Any) -> str | None:
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


STOPPED = (
    "The import stopped before it finished, so nothing was stored. Upload the file again; "
    "if this happens again, tell an administrator."
)


# --- Importing a file --------------------------------------------------------


@dataclass
class FileImportReport(ImportReport):
    """An ImportReport for a whole file: `errors` holds at most the first
    `max_errors` problems, `error_count` counts them all and `rows_bad` the
    rows they are on. `value_warnings` holds the first `max_errors` values
    no criterion names, one per value with the rows holding it, and
    `warning_count` counts those values. `phase` and the row counts tell
    progress."""

    phase: str = "reading"
    rows_read: int = 0
    rows_bad: int = 0
    rows_to_write: int = 0
    rows_written: int = 0
    error_count: int = 0
    value_warnings: list[ValueWarning] = field(default_factory=list)
    warning_count: int = 0

    @property
    def bad_rows(self) -> int:
        return self.rows_bad

    @property
    def errors_left_out(self) -> int:
        return self.error_count - len(self.errors)

    @property
    def warnings_left_out(self) -> int:
        return self.warning_count - len(self.value_warnings)


Progress = Callable[[FileImportReport], None]


def file_import(
    *,
    actor: User | None,
    data: bytes,
    kind: str = ImportKind.ACCOUNTS,
    mode: Mode = "all_or_nothing",
    max_errors: int | None = MAX_STORED_ERRORS,
    progress: Progress | None = None,
    mapping: Mapping[str, str] | None = None,
) -> FileImportReport:
    """Import a CSV file of accounts or deals (`kind`), by the rules of
    scoring.ingest.rows and deal_rows, in the two passes the module
    describes; `progress` hears the report after every batch.
    ImportFileError when the file cannot be read as a whole (nothing is
    stored); `max_errors` None keeps every problem. `mapping` names the
    fields of a file whose columns are not icpsite's own
    (scoring.ingest.mapping)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if actor is not None and not can_import_accounts(actor):
        raise PermissionDenied(IMPORT_REFUSED)
    file = csv_open(data, mapping, kind)
    rows = _rows_of(kind)
    report = FileImportReport(mode=mode)
    notify = progress or _quiet
    tally = ValueTally(PicklistCheck.load(rows.traits)) if isinstance(rows, AccountRows) else None
    bad = _check_rows(report, file, rows, max_errors, notify, tally)
    if tally is not None:
        report.value_warnings = tally.warnings(max_errors)
        report.warning_count = len(tally)
    if report.error_count and mode == "all_or_nothing":
        report.phase = "done"
        notify(report)
        return report
    report.phase = "writing"
    report.rows_to_write = report.rows_read - report.blank - report.rows_bad
    notify(report)
    try:
        with transaction.atomic():
            rows.hold(_file_trait_keys(file))
            _write_rows(report, file, rows, bad, notify)
    except IntegrityError:
        raise ImportFileError([CONCURRENT_WRITE]) from None
    report.written = True
    report.phase = "done"
    notify(report)
    return report


def _rows_of(kind: str) -> RowKind:
    """The rules and writer of a file's rows: accounts go in by COPY on
    PostgreSQL, several times faster than bulk_create."""
    if kind == ImportKind.DEALS:
        return DealRows()
    insert = _copy_accounts if connection.vendor == "postgresql" else None
    return AccountRows(traits=declared_traits(), insert=insert)


def _file_trait_keys(file: CsvFile) -> list[str]:
    """The trait keys the file's columns are stored as."""
    return [
        column.removeprefix(TRAIT_PREFIX)
        for column in file.columns
        if column and column.startswith(TRAIT_PREFIX)
    ]


def _quiet(_report: FileImportReport) -> None:
    return None


def _check_rows(
    report: FileImportReport,
    file: CsvFile,
    rows: RowKind,
    max_errors: int | None,
    notify: Progress,
    tally: ValueTally | None,
) -> set[int]:
    """The first pass: every row checked, and the good rows' values no
    criterion names counted in `tally` (accounts); returns the numbers of the
    bad rows, those repeating an external_id and those the database refuses
    (an account without a name that is not held, a deal naming an account
    not held) included."""
    bad: set[int] = set()
    kept: list[RowError] = []
    first_row: dict[str, int] = {}
    repeats: dict[str, list[int]] = {}
    pending: dict[int, Any] = {}  # what each row needs looked up
    for number, row in csv_records(file):
        report.rows_read += 1
        if report.rows_read % BATCH_SIZE == 0:
            report.rows_bad = len(bad)
            notify(report)
        if all(is_empty(v) for v in row.values()):
            report.blank += 1
            continue
        try:
            clean = rows.clean(row, strict=False)
            external_id = clean["external_id"]
            need = rows.pending(clean)
            if need is not None:
                pending[number] = need
            if tally is not None:
                tally.add(number, clean)
        except RowInvalidError as exc:
            bad.add(number)
            external_id = external_id_of(row, rows.id_length)
            for name, messages in exc.errors.items():
                for message in messages:
                    report.error_count += 1
                    if max_errors is None or len(kept) < max_errors:
                        kept.append(RowError(number, external_id, name, message))
        if external_id:
            first = first_row.setdefault(external_id, number)
            if first != number:
                repeats.setdefault(external_id, [first]).append(number)
    repeated = repeated_id_errors(repeats, rows.noun)
    repeated_rows = {error.row for error in repeated}
    repeated += rows.lookup_errors({n: p for n, p in pending.items() if n not in repeated_rows})
    bad.update(error.row for error in repeated)
    report.error_count += len(repeated)
    # The first max_errors of either list hold the first max_errors of both.
    errors = sorted([*kept, *repeated], key=lambda e: (e.row, e.field))
    report.errors = errors if max_errors is None else errors[:max_errors]
    report.rows_bad = len(bad)
    return bad


def _write_rows(
    report: FileImportReport,
    file: CsvFile,
    rows: RowKind,
    bad: set[int],
    notify: Progress,
) -> None:
    """The second pass, inside the caller's transaction: the good rows
    written batch by batch, then the changed accounts scored."""
    changed: list[int] = []
    batch: list[tuple[int, dict[str, Any]]] = []
    for number, row in csv_records(file):
        if number in bad or all(is_empty(v) for v in row.values()):
            continue
        batch.append((number, rows.clean(row, strict=False)))
        if len(batch) == BATCH_SIZE:
            changed += _write(report, rows, batch, notify)
            batch = []
    if batch:
        changed += _write(report, rows, batch, notify)
    report.phase = "scoring"
    notify(report)
    for start in range(0, len(changed), SCORE_BATCH_SIZE):
        report.scored += rows.score(changed[start : start + SCORE_BATCH_SIZE])


def _write(
    report: FileImportReport,
    rows: RowKind,
    batch: list[tuple[int, dict[str, Any]]],
    notify: Progress,
) -> list[int]:
    changed = rows.write(report, batch)
    report.outcomes.clear()  # per-row outcomes are for the API's answer
    report.rows_written += len(batch)
    notify(report)
    return changed


_COPY_FIELDS = [f for f in Account._meta.concrete_fields if not f.primary_key]


def _json_cell(name: str) -> Callable[[Account], str]:
    return lambda account: orjson.dumps(getattr(account, name)).decode()


def _copy_accounts(accounts: list[Account]) -> None:
    """Insert new accounts with COPY (PostgreSQL): several times faster than
    bulk_create, whose per-value preparation was most of a large import."""
    if not accounts:
        return
    now = timezone.now()
    cells: list[Callable[[Account], Any]] = []
    for f in _COPY_FIELDS:
        if f.attname in ("created_at", "updated_at"):
            cells.append(lambda _account: now)
        elif isinstance(f, JSONField):
            cells.append(_json_cell(f.attname))
        else:
            cells.append(attrgetter(f.attname))
    statement = accounts_copy(f.column for f in _COPY_FIELDS)
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(statement.text) as copy,
    ):
        for account in accounts:
            copy.write_row([cell(account) for cell in cells])


# --- Import jobs -------------------------------------------------------------


def import_job_create(
    *,
    actor: User,
    file_name: str,
    data: bytes,
    mode: Mode,
    kind: str = ImportKind.ACCOUNTS,
) -> ImportJob:
    """Store an uploaded file of accounts or deals (`kind`) as a job and
    start its import once the job is committed. Only the cheap checks of
    the file as a whole run here (csv_open: size, encoding, header), raising
    ImportFileError; the rows are the worker's. A file whose header is not
    icpsite's own columns waits for whoever uploaded it to choose them
    (import_job_map)."""
    if not can_import_accounts(actor):
        raise PermissionDenied(IMPORT_REFUSED)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if kind not in ImportKind.values:
        raise ValueError(f"kind must be one of {', '.join(ImportKind.values)}")
    _, _, header = csv_header(data)
    try:
        csv_open(data, kind=kind)
    except ImportFileError as exc:
        # Not icpsite's own columns (a CRM's export): the job waits for
        # whoever uploaded it to choose them (import_job_map).
        if not exc.header:
            raise
        repeated = repeated_names(header)
        if repeated:
            raise ImportFileError(
                [f"The header names {repeated} more than once; give each column its own name."]
            ) from None
        if len(header) > MAX_MAPPED_COLUMNS:
            raise ImportFileError(
                [
                    *exc.problems,
                    f"The file has {len(header):,} columns; columns are chosen for files of "
                    f"at most {MAX_MAPPED_COLUMNS}.",
                ]
            ) from None
        status = ImportJobStatus.MAPPING
    else:
        status = ImportJobStatus.QUEUED
    with transaction.atomic():
        job = ImportJob.objects.create(
            created_by=actor,
            file_name=file_name[:255],
            file_size=len(data),
            data=data,
            mode=mode,
            kind=kind,
            status=status,
        )
        if status == ImportJobStatus.MAPPING:
            return job
        # A broker that does not answer leaves the job queued for the sweep
        # (import_jobs_resend), and the upload, already stored, is not turned
        # into an error page.
        transaction.on_commit(lambda: import_job_dispatch(job.pk), robust=True)
    return job


def import_job_map(
    *, actor: User, job: ImportJob, mapping: dict[str, str], mode: Mode, save_as: str = ""
) -> ImportJob:
    """Start the import of a job waiting for its columns, with `mapping`
    (the file's column -> the field it fills, "" to skip) and `mode`, and
    save the mapping as `save_as` when a name is given (replacing a saved
    one of that name). ValidationError names each column that is wrong;
    a job no longer waiting is a ValidationError too (its import started)."""
    if not can_import_accounts(actor):
        raise PermissionDenied(IMPORT_REFUSED)
    if mode not in MODES:
        raise ValidationError({"mode": f"Choose one of {', '.join(MODES)}."})
    data = bytes(
        ImportJob.objects.filter(pk=job.pk, status=ImportJobStatus.MAPPING)
        .values_list("data", flat=True)
        .first()
        or b""
    )
    if not data:  # started meanwhile, or failed by the sweep and its file dropped
        raise ValidationError({NON_FIELD_ERRORS: [NOT_WAITING]})
    _, _, header = csv_header(data)
    problems = mapping_problems(header, mapping, declared_traits(), job.kind)
    if problems:
        raise ValidationError({column or NON_FIELD_ERRORS: [m] for column, m in problems.items()})
    try:
        csv_open(data, mapping, job.kind)
    except ImportFileError as exc:
        raise ValidationError({NON_FIELD_ERRORS: exc.problems}) from None
    chosen = {column: mapping.get(column, SKIP) for column in header}
    name = save_as.strip()
    if text_problem(name) or len(name) > MAPPING_NAME_LENGTH:
        problem = text_problem(name) or f"is longer than {MAPPING_NAME_LENGTH} characters"
        raise ValidationError({"save_as": [f"The name {problem}."]})
    with transaction.atomic():
        claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJobStatus.MAPPING).update(
            status=ImportJobStatus.QUEUED, mapping=chosen, mode=mode
        )
        if not claimed:
            raise ValidationError({NON_FIELD_ERRORS: [NOT_WAITING]})
        if name:
            ImportMapping.objects.update_or_create(
                name=name, defaults={"columns": chosen, "kind": job.kind, "created_by": actor}
            )
        transaction.on_commit(lambda: import_job_dispatch(job.pk), robust=True)
    job.refresh_from_db()
    return job


def import_job_header(*, job: ImportJob) -> list[str]:
    """The column names of a job's file (while the job still holds it)."""
    data = bytes(ImportJob.objects.values_list("data", flat=True).get(pk=job.pk))
    return csv_header(data)[2] if data else []


def import_job_preview(
    *, job: ImportJob, mapping: dict[str, str], rows: int = PREVIEW_ROWS
) -> list[PreviewRow]:
    """The first `rows` rows of a job's file as `mapping` would store them,
    each with its values or its errors, for the mapping page."""
    data = bytes(ImportJob.objects.values_list("data", flat=True).get(pk=job.pk))
    rows_of = _rows_of(job.kind)
    shown: list[PreviewRow] = []
    try:
        file = csv_open(data, mapping, job.kind)
        for number, row in csv_records(file):
            if len(shown) >= rows:
                break
            if not row or all(is_empty(v) for v in row.values()):
                continue
            try:
                shown.append(PreviewRow(number, rows_of.clean(row, strict=False), {}))
            except RowInvalidError as exc:
                shown.append(PreviewRow(number, {}, exc.errors))
    except ImportFileError:
        pass  # the page shows the mapping's own problems instead
    return shown


def import_job_preview_fields(*, job: ImportJob, mapping: Mapping[str, str]) -> list[str]:
    """The fields the mapping page's preview shows, in the file's order: the
    mapped ones as stored, so a deal's status read from its stage or its
    flags is shown and the flags are not."""
    fields = [f for f in mapping.values() if f and f not in STATUS_FLAGS]
    if job.kind == ImportKind.DEALS and "status" not in fields:
        after_stage = fields.index("stage") + 1 if "stage" in fields else len(fields)
        fields.insert(after_stage, "status")
    return fields


def import_job_samples(*, job: ImportJob) -> list[list[str]]:
    """The first few values of each column of a job's file, in its order."""
    data = bytes(ImportJob.objects.values_list("data", flat=True).get(pk=job.pk))
    return csv_samples(data) if data else []


def import_mapping_list(*, kind: str = ImportKind.ACCOUNTS) -> list[ImportMapping]:
    """The saved mappings of files of `kind`, by name."""
    return list(ImportMapping.objects.filter(kind=kind).order_by("name"))


def import_mapping_get(name: str, *, kind: str = ImportKind.ACCOUNTS) -> ImportMapping | None:
    """The saved mapping of that name for files of `kind`, or None."""
    return ImportMapping.objects.filter(name=name, kind=kind).first()


def import_job_dispatch(job_id: int, *, resend_before: datetime | None = None) -> bool:
    """Hand a queued job's import to the broker; whether this call did. The
    send is claimed by a conditional UPDATE of `dispatched_at`, as a run's
    is (scoring.dispatch)."""
    from scoring.tasks import import_job_run_task

    return claimed_send(
        ImportJob.objects.filter(pk=job_id, status=ImportJobStatus.QUEUED),
        stamp="dispatched_at",
        task=import_job_run_task,
        object_id=job_id,
        resend_before=resend_before,
    )


# Jobs looked at per sweep.
RESEND_BATCH = 100


def import_jobs_resend(*, now: datetime | None = None) -> list[int]:
    """For the sweep on beat: send again the queued jobs whose task never
    reached a worker (never handed over, or handed over TASK_RESEND_SECONDS
    ago and still not started), and fail the jobs left running by a task
    that ended without finishing them (a worker stopped by the hard time
    limit: its transaction rolled back, nothing is stored, and its task is
    not redelivered). A job counts as abandoned once it has run longer than
    SCORING_STALL_SECONDS, past any task's time limit and the broker's
    redelivery of a killed worker's task, and its row is not locked by an
    import still at work. Jobs whose columns were never chosen are failed a
    day after the upload (MAPPING_EXPIRY_SECONDS). Returns the ids sent and
    failed."""
    now = now or timezone.now()
    before = now - timedelta(seconds=settings.TASK_RESEND_SECONDS)
    due = ImportJob.objects.filter(
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=before), status=ImportJobStatus.QUEUED
    )
    ids = list(due.order_by("pk").values_list("pk", flat=True)[:RESEND_BATCH])
    sent = [job_id for job_id in ids if import_job_dispatch(job_id, resend_before=before)]
    abandoned_before = now - timedelta(seconds=settings.SCORING_STALL_SECONDS)
    with transaction.atomic():
        abandoned = list(
            ImportJob.objects.select_for_update(skip_locked=True)
            .filter(status=ImportJobStatus.RUNNING, started_at__lt=abandoned_before)
            .order_by("pk")
            .values_list("pk", flat=True)[:RESEND_BATCH]
        )
        for job_id in abandoned:
            import_job_fail(job_id=job_id, problems=[STOPPED])
    unmapped_before = now - timedelta(seconds=MAPPING_EXPIRY_SECONDS)
    never_mapped = list(
        ImportJob.objects.filter(status=ImportJobStatus.MAPPING, created_at__lt=unmapped_before)
        .order_by("pk")
        .values_list("pk", flat=True)[:RESEND_BATCH]
    )
    ImportJob.objects.filter(pk__in=never_mapped, status=ImportJobStatus.MAPPING).update(
        status=ImportJobStatus.FAILED, problems=[NEVER_MAPPED], finished_at=now, data=b""
    )
    return sent + abandoned + never_mapped


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Import the job's file; None when there is nothing to do.

    Safe to deliver twice. The claim from queued to running is a conditional
    UPDATE; the import then runs in one transaction that holds the job's
    row, and the job's finish (counts, report, done) commits with the
    accounts. So a finished job is never imported again, a second delivery
    while the first runs finds the row locked and leaves it, and a job left
    running by a worker that died (its transaction rolled back, nothing
    stored) is taken over by the next delivery, which finds it unlocked.
    A database error that a retry may cure (OperationalError) is raised for
    the task to retry; any other error fails the job.
    """
    ImportJob.objects.filter(pk=job_id, status=ImportJobStatus.QUEUED).update(
        status=ImportJobStatus.RUNNING, started_at=timezone.now()
    )
    try:
        with transaction.atomic():
            job = (
                ImportJob.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("created_by")
                .filter(pk=job_id, status=ImportJobStatus.RUNNING)
                .first()
            )
            if job is None:
                return None
            _import(job)
    except OperationalError:
        raise
    except Exception:
        logger.exception("Import job %s stopped", job_id)
        import_job_fail(job_id=job_id, problems=[STOPPED])
        raise
    transaction.on_commit(lambda: _forget_progress(job_id), robust=True)
    return job


def _forget_progress(job_id: int) -> None:
    """Drop the job's progress from the cache; a cache that does not answer
    only leaves it to expire."""
    try:
        cache.delete(_progress_key(job_id))
    except Exception as exc:  # the import is done whatever the cache says
        logger.warning("Progress of import job %s not cleared: %s", job_id, exc)


def _import(job: ImportJob) -> None:
    mode: Mode = "valid_only" if job.mode == ImportJob.Mode.VALID_ONLY else "all_or_nothing"
    try:
        report = file_import(
            actor=job.created_by,
            data=bytes(job.data),
            kind=job.kind,
            mode=mode,
            progress=lambda report: _progress_set(job.pk, report),
            mapping=job.mapping or None,
        )
    except ImportFileError as exc:
        _finish(job, ImportJobStatus.FAILED, problems=exc.problems)
    except PermissionDenied:
        _finish(job, ImportJobStatus.FAILED, problems=[IMPORT_REFUSED])
    else:
        _finish(job, ImportJobStatus.DONE, report=report)


def _finish(
    job: ImportJob,
    status: str,
    *,
    report: FileImportReport | None = None,
    problems: list[str] | None = None,
) -> None:
    job.status = status
    job.problems = problems or []
    job.finished_at = timezone.now()
    job.data = b""
    if report is not None:
        job.rows_read = report.rows_read
        job.rows_bad = report.rows_bad
        job.blank = report.blank
        job.accounts_created = report.created
        job.accounts_updated = report.updated
        job.accounts_unchanged = report.unchanged
        job.written = report.written
        job.errors = [[e.row, e.external_id, e.field, e.message] for e in report.errors]
        job.error_count = report.error_count
        job.warnings = [
            [w.field, w.value, w.rows, w.first_row, w.message] for w in report.value_warnings
        ]
        job.warning_count = report.warning_count
    job.save()


def import_job_fail(*, job_id: int, problems: list[str]) -> None:
    """Fail a job that is not finished, keeping what it found so far; for an
    import that stopped (its transaction rolled back: nothing is stored)."""
    ImportJob.objects.filter(
        pk=job_id, status__in=[ImportJobStatus.QUEUED, ImportJobStatus.RUNNING]
    ).update(status=ImportJobStatus.FAILED, problems=problems, finished_at=timezone.now(), data=b"")


# --- Reading jobs ------------------------------------------------------------


def import_job_get(*, viewer: User, pk: int) -> ImportJob:
    """A job, without its file, for its owner and for those who may import
    accounts; Http404 for anyone else, who need not know it exists."""
    job = ImportJob.objects.defer("data").select_related("created_by").filter(pk=pk).first()
    if job is None or (job.created_by_id != viewer.pk and not can_import_accounts(viewer)):
        raise Http404("No such import.")
    return job


def import_job_list(*, viewer: User, limit: int = 5) -> list[ImportJob]:
    """The viewer's latest jobs, newest first, without their files."""
    jobs = ImportJob.objects.defer("data").filter(created_by=viewer)
    return list(jobs.order_by("-created_at", "-id")[:limit])


@dataclass(frozen=True)
class ImportProgress:
    phase: str
    rows_read: int
    rows_bad: int
    rows_to_write: int
    rows_written: int

    @property
    def percent_written(self) -> int:
        if not self.rows_to_write:
            return 0
        return min(100, self.rows_written * 100 // self.rows_to_write)


def import_job_progress(*, job: ImportJob) -> ImportProgress:
    """Where the job stands: the worker's latest counts while it runs, the
    stored counts once it is finished."""
    if job.status == ImportJobStatus.RUNNING:
        live = _progress_get(job.pk)
        if live is not None:
            return live
        return ImportProgress("reading", 0, 0, 0, 0)
    if job.status in (ImportJobStatus.QUEUED, ImportJobStatus.MAPPING):
        return ImportProgress(str(job.status), 0, 0, 0, 0)
    written = job.accounts_created + job.accounts_updated + job.accounts_unchanged
    return ImportProgress("done", job.rows_read, job.rows_bad, written, written)


def import_job_report(*, job: ImportJob) -> FileImportReport:
    """The job's result as the report the page shows."""
    return FileImportReport(
        mode="valid_only" if job.mode == ImportJob.Mode.VALID_ONLY else "all_or_nothing",
        created=job.accounts_created,
        updated=job.accounts_updated,
        unchanged=job.accounts_unchanged,
        blank=job.blank,
        written=job.written,
        errors=[RowError(*error) for error in job.errors],
        phase="done",
        rows_read=job.rows_read,
        rows_bad=job.rows_bad,
        error_count=job.error_count,
        value_warnings=[ValueWarning(*warning) for warning in job.warnings],
        warning_count=job.warning_count,
    )


def _progress_key(job_id: int) -> str:
    return f"import-job:{job_id}:progress"


def _progress_set(job_id: int, report: FileImportReport) -> None:
    """Progress is for show: a cache that does not answer must not stop an
    import, so its errors are logged and dropped."""
    counts = (
        report.phase,
        report.rows_read,
        report.rows_bad,
        report.rows_to_write,
        report.rows_written,
    )
    try:
        cache.set(_progress_key(job_id), counts, PROGRESS_TIMEOUT_SECONDS)
    except Exception:
        logger.warning("Could not record the progress of import job %s", job_id, exc_info=True)


def _progress_get(job_id: int) -> ImportProgress | None:
    try:
        counts = cache.get(_progress_key(job_id))
    except Exception:
        logger.warning("Could not read the progress of import job %s", job_id, exc_info=True)
        return None
    return None if counts is None else ImportProgress(*counts)
