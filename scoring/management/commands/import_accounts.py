"""Import accounts from a CSV file, the same way the import page does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.ingest import MAX_FILE_BYTES, ImportFileError, Mode, accounts_import_csv


class Command(BaseCommand):
    help = (
        "Upsert accounts from FILE (CSV with a header row) by external_id and score them. "
        "One bad row means nothing is imported, unless --valid-only is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file.")
        parser.add_argument(
            "--valid-only",
            action="store_true",
            help="Import the valid rows and report the bad ones instead of importing nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        mode: Mode = "valid_only" if options["valid_only"] else "all_or_nothing"
        try:
            report = accounts_import_csv(actor=None, data=data, mode=mode)
        except ImportFileError as exc:
            raise CommandError(f"{path}: " + " ".join(exc.problems)) from None
        for error in report.errors:
            self.stderr.write(str(error))
        if report.errors and not report.written:
            raise CommandError(f"{report.summary()} Fix the rows above and import again.")
        style = self.style.WARNING if report.errors else self.style.SUCCESS
        self.stdout.write(style(report.summary()))
