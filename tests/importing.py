"""Helpers for tests of account file imports."""

from django.test import TestCase

from profiles.models import User
from scoring.ingest.csvfiles import csv_rows
from scoring.ingest.importer import ImportReport, Mode, accounts_import
from scoring.ingest.jobs import import_job_create
from scoring.models import ImportJob

HEADER = "external_id,name,employees"


def csv_file(count: int, *, bad: dict[int, str] | None = None, start: int = 1) -> bytes:
    """`count` accounts, crm-<n> with n from `start`; `bad` maps a row number
    (the header is row 1) to the employees cell that row gets instead."""
    lines = [HEADER]
    for n in range(start, start + count):
        row = len(lines) + 1
        employees = (bad or {}).get(row, str(n % 5000))
        lines.append(f"crm-{n},Company {n},{employees}")
    return ("\n".join(lines) + "\n").encode()


def queued(actor: User, data: bytes, mode: Mode = "all_or_nothing") -> ImportJob:
    """A job stored for `data`, its task left unsent."""
    with TestCase.captureOnCommitCallbacks(execute=False):
        return import_job_create(actor=actor, file_name="accounts.csv", data=data, mode=mode)


def accounts_import_csv(*, actor: User | None, data: bytes, mode: Mode) -> ImportReport:
    """A CSV file's rows through the row import (the API's path), all read
    at once: for tests of the row rules on files."""
    return accounts_import(actor=actor, rows=csv_rows(data), mode=mode, first_row=2)
