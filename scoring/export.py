"""The accounts list as CSV (/accounts/export.csv). Every cell goes through
one escaping rule (csv_cell), so a spreadsheet never runs a stored value as
a formula."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

# --- Export --------------------------------------------------------------------

EXPORT_COLUMNS = (
    "external_id",
    "name",
    "domain",
    "score",
    "tier",
    "effective_tier",
    "overridden",
    "profile",
    "version",
)


def csv_cell(value: Any) -> Any:
    """Text as a spreadsheet will not run it as a formula. Every cell of
    every CSV the product writes goes through here."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_lines(
    rows: Iterable[tuple[Any, ...]], *, profile: str, version: int | str
) -> Iterator[str]:
    """CSV lines for (external_id, name, domain, score, tier, effective_tier,
    override_tier) rows, header first; `overridden` is yes when people set
    the effective tier."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for external_id, name, domain, score, tier, effective_tier, override_tier in rows:
        scored = score is not None
        cells = [
            external_id,
            name,
            domain,
            "" if score is None else score,
            tier or "",
            effective_tier or "",
            "yes" if override_tier else ("no" if scored else ""),
            profile if scored else "",
            version if scored else "",
        ]
        yield writer.writerow([csv_cell(cell) for cell in cells])
