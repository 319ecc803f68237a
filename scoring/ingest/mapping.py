"""Which column of a CSV file is stored as which account field.

A file exported from a CRM names its columns its own way ("Record ID",
"Company name", "Billing Country"). A mapping says, for each column of the
file, the field it fills (one of COLUMNS, or `traits.<key>` for a declared
trait) or that it is skipped. The import page proposes one from the header
(mapping_propose): a saved mapping first, then icpsite's own names, then the
standard headers of a HubSpot companies export and a Salesforce accounts
report, then the declared traits' keys (`seats` or `traits.seats`) and
labels, all compared without regard to case, spaces and punctuation; no
field is proposed for two columns. Whoever imports checks it, and may save
it by name for the next file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from profiles.attributes import Attribute
from scoring.ingest.rows import COLUMNS, TRAIT_PREFIX

# The file's column is not imported.
SKIP = ""

# The most columns a file may have for the mapping step (a page of choices).
MAX_MAPPED_COLUMNS = 300

# The fields a file may fill, with the words the mapping page shows for them.
FIELD_LABELS: dict[str, str] = {
    "external_id": "External id (the CRM's record id; required)",
    "name": "Name (required for new accounts)",
    "domain": "Domain or website",
    "employees": "Employees",
    "annual_revenue": "Annual revenue",
    "industry": "Industry",
    "country": "Country",
    "funding_stage": "Funding stage",
    "crm": "CRM",
    "tech_stack": "Tech stack",
    "has_revops": "Has a RevOps team",
    "lifecycle_stage": "Lifecycle stage",
    "opportunity_opened_at": "Opportunity opened",
    "deal_status": "Deal status",
    "deal_closed_at": "Deal closed",
    "deal_amount": "Deal amount",
    "churned_at": "Churned",
}
assert set(FIELD_LABELS) == set(COLUMNS)

# Standard column headers of CRM exports, by the field they fill: a HubSpot
# companies export (its default properties) and a Salesforce accounts
# report or Data Loader export (labels and API names).
CRM_HEADERS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "Record ID",
        "Company ID",
        "hs_object_id",
        "Account ID",
        "Id",
        "Account ID (18)",
    ),
    "name": ("Company name", "Name", "Account Name", "Company"),
    "domain": ("Company Domain Name", "Website URL", "Website", "Domain"),
    "employees": ("Number of Employees", "Employees", "NumberOfEmployees"),
    "annual_revenue": ("Annual Revenue", "AnnualRevenue"),
    "industry": ("Industry",),
    "country": ("Country/Region", "Country", "Billing Country", "BillingCountry"),
    "tech_stack": ("Web Technologies", "Technologies"),
    "lifecycle_stage": ("Lifecycle Stage", "lifecyclestage"),
}

_NOT_WORD = re.compile(r"[\W_]+")


def header_key(name: str) -> str:
    """A column name as compared: lower case, letters and digits only
    ("Country/Region" and "country region" are the same)."""
    return _NOT_WORD.sub("", name.casefold())


_KNOWN: dict[str, str] = {
    **{header_key(header): field for field, headers in CRM_HEADERS.items() for header in headers},
    **{header_key(field): field for field in COLUMNS},
}


def targets(traits: Mapping[str, Attribute]) -> list[tuple[str, str]]:
    """What a column may be stored as, (value, words), in the page's order:
    skipped, each field, each declared trait."""
    return [
        (SKIP, "Skip this column"),
        *FIELD_LABELS.items(),
        *((f"{TRAIT_PREFIX}{key}", f"Trait: {t.label}") for key, t in sorted(traits.items())),
    ]


def mapping_propose(
    header: Iterable[str],
    traits: Mapping[str, Attribute],
    saved: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A target for each column of `header`: the saved mapping's, else a
    field or declared trait whose name matches, else SKIP. No target is
    proposed twice; a later column that matches a taken one is skipped."""
    by_key = dict(_KNOWN)
    for key, trait in traits.items():
        by_key.setdefault(header_key(key), f"{TRAIT_PREFIX}{key}")
        by_key.setdefault(header_key(f"{TRAIT_PREFIX}{key}"), f"{TRAIT_PREFIX}{key}")
        by_key.setdefault(header_key(trait.label), f"{TRAIT_PREFIX}{key}")
    allowed = {value for value, _ in targets(traits)}
    proposal: dict[str, str] = {}
    taken: set[str] = set()
    for column in header:
        target = (saved or {}).get(column)
        if target is None or target not in allowed:
            target = by_key.get(header_key(column), SKIP)
        if target in taken:
            target = SKIP
        proposal[column] = target
        if target:
            taken.add(target)
    return proposal


def repeated_names(header: Iterable[str]) -> str:
    """The non-empty column names `header` holds more than once, quoted and
    joined for a message; "" when there are none. A mapping is keyed by the
    column's name, so each mapped column needs its own."""
    counts = Counter(name for name in header if name)
    return ", ".join(repr(name[:60]) for name, n in counts.items() if n > 1)


def mapping_problems(
    header: list[str], mapping: Mapping[str, str], traits: Mapping[str, Attribute]
) -> dict[str, str]:
    """What is wrong with `mapping` for a file with `header`, keyed by the
    column it is about ("" for the mapping as a whole); empty when it may
    be used."""
    allowed = {value for value, _ in targets(traits)}
    problems: dict[str, str] = {}
    for column in header:
        target = mapping.get(column, SKIP)
        if target not in allowed:
            problems[column] = f"{target!r} is not a field or a declared trait."
    chosen = Counter(mapping.get(column, SKIP) for column in header)
    for column in header:
        target = mapping.get(column, SKIP)
        if target and chosen[target] > 1:
            others = [c for c in header if c != column and mapping.get(c) == target]
            problems[column] = (
                f"{column!r} and {', '.join(repr(c) for c in others)} are both stored as "
                f"{FIELD_LABELS.get(target, target)}; choose one."
            )
    if not chosen["external_id"]:
        problems[SKIP] = "Choose the column that holds External id."
    return problems
