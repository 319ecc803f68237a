"""Import accounts, or deals with --kind deals, from a CSV file, here and
now, by the rules of the import page, with a progress line on a terminal."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.ingest.csvfiles import MAX_FILE_BYTES, csv_header, csv_open
from scoring.ingest.importer import ImportFileError, Mode
from scoring.ingest.jobs import FileImportReport, file_import, import_mapping_get
from scoring.ingest.mapping import mapping_problems
from scoring.ingest.rows import declared_traits
from scoring.models import ImportKind

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Upsert accounts (or deals, with --kind deals) from FILE (CSV with a header row) by "
        "external_id, and score new and changed accounts. One bad row means nothing is "
        "imported, unless --valid-only is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file.")
        parser.add_argument(
            "--kind",
            choices=ImportKind.values,
            default=ImportKind.ACCOUNTS.value,
            help="What the file holds (default: accounts). A deal names its account by the "
            "account's external_id.",
        )
        parser.add_argument(
            "--valid-only",
            action="store_true",
            help="Import the valid rows and report the bad ones instead of importing nothing.",
        )
        parser.add_argument(
            "--mapping",
            metavar="NAME",
            help="A mapping saved on the import page, for a file whose columns are not "
            "icpsite's own names (a CRM's export).",
        )
        parser.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Show a progress line on stderr (by default, when stderr is a terminal).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        mode: Mode = "valid_only" if options["valid_only"] else "all_or_nothing"
        show = options["progress"]
        if show is None:
            show = self.stderr.isatty()
        kind = self._kind = options["kind"]
        mapping = None
        if options["mapping"]:
            saved = import_mapping_get(options["mapping"], kind=kind)
            if saved is None:
                raise CommandError(f"No saved mapping {options['mapping']!r} for {kind} files.")
            mapping = saved.columns
            self._check_mapping(path, data, mapping, kind)
        else:
            self._check_own_columns(path, data, kind)
        self._shown = False
        try:
            report = file_import(
                actor=None,
                data=data,
                kind=kind,
                mode=mode,
                max_errors=None,
                progress=self._bar if show else None,
                mapping=mapping,
            )
        except ImportFileError as exc:
            raise CommandError(f"{path}: " + " ".join(exc.problems)) from None
        finally:
            if self._shown:
                self.stderr.write("")
        for error in report.errors:
            self.stderr.write(str(error))
        for warning in report.value_warnings:
            rows = f"{warning.rows} row{'s' if warning.rows != 1 else ''}"
            self.stderr.write(
                f"warning: {warning.field} in {rows} from row {warning.first_row}: "
                f"{warning.message}"
            )
        if report.errors and not report.written:
            raise CommandError(f"{report.summary()} Fix the rows above and import again.")
        style = self.style.WARNING if report.errors else self.style.SUCCESS
        self.stdout.write(style(report.summary()))

    def _check_mapping(self, path: Path, data: bytes, mapping: dict[str, str], kind: str) -> None:
        """The saved mapping checked against the file's header, as the import
        page checks a mapping."""
        try:
            header = csv_header(data)[2]
        except ImportFileError as exc:
            raise CommandError(f"{path}: " + " ".join(exc.problems)) from None
        problems = mapping_problems(header, mapping, declared_traits(), kind)
        if problems:
            listed = "; ".join(f"{c}: {m}" if c else m for c, m in problems.items())
            raise CommandError(f"{path}: the mapping does not fit this file: {listed}")

    def _check_own_columns(self, path: Path, data: bytes, kind: str) -> None:
        """A file readable as CSV whose header is not icpsite's own names is
        refused with a pointer to --mapping."""
        try:
            csv_open(data, kind=kind)
        except ImportFileError as exc:
            hint = " For a CRM's export, name a mapping saved on the import page with --mapping."
            raise CommandError(
                f"{path}: " + " ".join(exc.problems) + (hint if exc.header else "")
            ) from None

    def _bar(self, report: FileImportReport) -> None:
        """One line, rewritten in place: rows checked, then accounts stored."""
        if report.phase == "reading":
            line = f"Checking rows: {report.rows_read:,} read, {report.rows_bad:,} with errors"
        elif report.phase == "writing":
            share = report.rows_written / report.rows_to_write if report.rows_to_write else 1.0
            filled = int(BAR_WIDTH * share)
            line = (
                f"Storing: [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%}  "
                f"{report.rows_written:,}/{report.rows_to_write:,} {self._kind}"
            )
        elif report.phase == "scoring":
            line = f"Scoring {report.rows_written:,} accounts"
        else:
            line = f"Read {report.rows_read:,} rows, {report.rows_bad:,} with errors"
        self.stderr.write(f"\r{line:<79}", ending="")
        self.stderr.flush()
        self._shown = True
