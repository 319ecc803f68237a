"""Reading CSV files of accounts or deals: the file as a whole (size,
encoding, header) checked at once by csv_open, then its records one at a
time."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from scoring.ingest.deal_rows import DEAL_FILE_COLUMNS
from scoring.ingest.rows import COLUMNS, TRAIT_PREFIX, TRAITS_LISTED
from scoring.ingest.upsert import ImportFileError
from scoring.models import ImportKind

# The largest CSV file accepted, in bytes.
MAX_FILE_BYTES = 20 * 1024 * 1024

# How many malformed CSV records a file error lists before summing up the rest.
MAX_LISTED_PROBLEMS = 10


@dataclass(frozen=True)
class FileColumns:
    """icpsite's own column names for a kind of file, and what its header
    must name."""

    names: tuple[str, ...]
    traits: bool  # traits.<key> columns too
    needed: str  # the header's requirement, in words
    noun: str


OWN_COLUMNS = {
    ImportKind.ACCOUNTS: FileColumns(
        COLUMNS, traits=True, needed="external_id (and name, for new accounts)", noun="account"
    ),
    ImportKind.DEALS: FileColumns(
        DEAL_FILE_COLUMNS,
        traits=False,
        needed="external_id (and account, for new deals)",
        noun="deal",
    ),
}

# --- CSV -----------------------------------------------------------------------


@dataclass(frozen=True)
class CsvFile:
    """A CSV file whose size, encoding and header have been checked.
    `header` is the file's own column names; `columns` what each is stored
    as (its mapped field, or None when the mapping skips it)."""

    text: str
    delimiter: str
    header: list[str]
    columns: list[str | None]
    noun: str = "account"


def csv_open(
    data: bytes, mapping: Mapping[str, str] | None = None, kind: str = ImportKind.ACCOUNTS
) -> CsvFile:
    """The cheap checks of a CSV file of `kind` as a whole, reading only its
    header: size, encoding (UTF-8, with or without a BOM) and a header of
    known columns, or of columns `mapping` maps (scoring.ingest.mapping).
    The delimiter is a comma, or a semicolon when the header holds no comma.
    The records are read by csv_records."""
    own = OWN_COLUMNS[ImportKind(kind)]
    text, delimiter, header = csv_header(data)
    if mapping is None:
        columns: list[str | None] = [_column(cell, own) for cell in header]
    else:
        columns = [mapping.get(cell) or None for cell in header]
    _check_header([c for c in columns if c is not None], own)
    return CsvFile(text=text, delimiter=delimiter, header=header, columns=columns, noun=own.noun)


def csv_header(data: bytes) -> tuple[str, str, list[str]]:
    """The file's text, delimiter and header row (its cells trimmed), or
    ImportFileError when the file cannot be read as CSV text at all."""
    if len(data) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // 1024 // 1024
        raise ImportFileError(
            [f"The file is larger than {limit} MB. Split it into smaller files and import each."]
        )
    if not data.strip():
        raise ImportFileError(["The file is empty. Upload a CSV file with a header row."])
    if b"\x00" in data:
        raise ImportFileError(
            [
                "The file contains NUL bytes, so it is not plain CSV text (perhaps a spreadsheet "
                "or UTF-16 file). Save it as 'CSV UTF-8' and upload it again."
            ]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ImportFileError(
            [
                f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}). "
                "Save it as 'CSV UTF-8' and upload it again."
            ]
        ) from None
    end = text.find("\n")
    first_line = text if end < 0 else text[:end]
    delimiter = ";" if "," not in first_line and ";" in first_line else ","
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [cell.strip() for cell in next(records, [])]
    except csv.Error as exc:
        raise ImportFileError(
            [f"The file is not valid CSV near line {records.line_num}: {exc}."]
        ) from None
    return text, delimiter, header


def csv_records(file: CsvFile) -> Iterator[tuple[int, dict[str, str]]]:
    """Each record after the header as (row number, {column: cell}), {} for
    an empty line; the header is row 1. Streams, so a large file is never
    held as rows. A record with the wrong number of cells is not yielded:
    ImportFileError lists them once the file is read (as it does when no
    record holds an account); invalid CSV raises it at once."""
    records = csv.reader(io.StringIO(file.text, newline=""), delimiter=file.delimiter, strict=True)
    width = len(file.header)
    problems: list[str] = []
    wrong = 0
    records_found = False
    try:
        next(records, None)
        for number, cells in enumerate(records, start=2):
            if not cells:
                yield number, {}
            elif len(cells) != width:
                wrong += 1
                if wrong <= MAX_LISTED_PROBLEMS:
                    problems.append(
                        f"Row {number} has {len(cells)} cells but the header has {width} columns."
                    )
            else:
                records_found = records_found or any(cell.strip() for cell in cells)
                yield (
                    number,
                    {c: cell for c, cell in zip(file.columns, cells, strict=True) if c is not None},
                )
    except csv.Error as exc:
        raise ImportFileError(
            [f"The file is not valid CSV near line {records.line_num}: {exc}."]
        ) from None
    if not records_found and not problems:
        raise ImportFileError([f"The file has a header but no {file.noun} rows."])
    if problems:
        more = wrong - len(problems)
        raise ImportFileError(
            [*problems, *([f"... and {more} more rows like these."] if more > 0 else [])]
        )


def csv_samples(data: bytes, count: int = 3, *, look: int = 50) -> list[list[str]]:
    """For each column of the header, in its order, its first `count`
    non-empty cells among the first `look` records: what the mapping page
    shows beside a column."""
    text, delimiter, header = csv_header(data)
    samples: list[list[str]] = [[] for _ in header]
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(records, None)
    try:
        for _, cells in zip(range(look), records, strict=False):
            for found, cell in zip(samples, cells, strict=False):
                if cell.strip() and len(found) < count:
                    found.append(cell.strip()[:80])
    except csv.Error:
        pass  # the import reports a malformed record; the samples stop there
    return samples


def csv_rows(
    data: bytes, mapping: Mapping[str, str] | None = None, kind: str = ImportKind.ACCOUNTS
) -> list[dict[str, str]]:
    """The records of a CSV file as {column: cell}, after checking the file
    as a whole (csv_open) and every record's number of cells (csv_records)."""
    return [row for _, row in csv_records(csv_open(data, mapping, kind))]


def _column(cell: str, own: FileColumns) -> str:
    name = cell.strip()
    return name.lower() if name.lower() in own.names else name


def _check_header(header: list[str], own: FileColumns) -> None:
    if "external_id" not in header:
        seen = ", ".join(repr(c) for c in header[:8]) or "nothing"
        raise ImportFileError(
            [
                f"The first row must be a header naming the columns, with at least {own.needed}; "
                f"it reads {seen}."
            ],
            header=True,
        )
    unknown = [
        c for c in header if c not in own.names and not (own.traits and c.startswith(TRAIT_PREFIX))
    ]
    if unknown:
        traits = f", and traits.<key> for a declared trait ({TRAITS_LISTED})" if own.traits else ""
        raise ImportFileError(
            [
                f"Unknown column{'s' if len(unknown) > 1 else ''} "
                f"{_listed(unknown)}. Accepted columns: {', '.join(own.names)}{traits}."
            ],
            header=True,
        )
    twice = sorted(name for name, count in Counter(header).items() if count > 1)
    if twice:
        raise ImportFileError([f"The header names {_listed(twice)} more than once."], header=True)


def _listed(names: list[str], most: int = 10) -> str:
    """Names for a message, the first `most` of them and how many more."""
    shown = ", ".join(repr(name[:60]) for name in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")
