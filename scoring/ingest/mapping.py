"""Which column of a CSV file is stored as which field of an account or
a deal.

A file exported from a CRM names its columns its own way ("Record ID",
"Company name", "Billing Country"). A mapping says, for each column of the
file, the field it fills (one of the kind's own columns, or `traits.<key>`
for an account's declared trait) or that it is skipped. The import page
proposes one from the header (mapping_propose): a saved mapping first, then
icpsite's own names, then the standard headers of the CRMs' exports (a
HubSpot companies or deals export, a Salesforce accounts or opportunities
report), then the declared traits' keys (`seats` or `traits.seats`) and
labels, all compared without regard to case, spaces and punctuation; no
field is proposed for two columns. Whoever imports checks it, and may save
it by name for the next file of that kind.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from profiles.attributes import Attribute
from scoring.ingest.deal_rows import DEAL_FILE_COLUMNS
from scoring.ingest.rows import COLUMNS, TRAIT_PREFIX
from scoring.models import ImportKind

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

# The fields a deals file may fill.
DEAL_FIELD_LABELS: dict[str, str] = {
    "external_id": "External id (the CRM's deal id; required)",
    "account": "Account (its external id; required for new deals)",
    "name": "Deal name",
    "stage": "Stage (a won or lost stage sets the status)",
    "status": "Status (open, won or lost)",
    "type": "Type (new business, expansion, renewal)",
    "amount": "Amount",
    "currency": "Currency (a 3-letter code)",
    "opened_at": "Opened (created)",
    "closed_at": "Closed (close date)",
    "closed": "Closed? (true or false)",
    "won": "Won? (true or false)",
}
assert set(DEAL_FIELD_LABELS) == set(DEAL_FILE_COLUMNS)

# Standard column headers of a HubSpot deals export (labels and internal
# names) and a Salesforce opportunities report or Data Loader export.
DEAL_CRM_HEADERS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "Record ID",
        "Deal ID",
        "hs_object_id",
        "Opportunity ID",
        "Opportunity ID (18)",
        "Id",
    ),
    "account": (
        "Associated Company IDs (Primary)",
        "Associated Company IDs",
        "Associated Company ID",
        "Company ID",
        "Account ID",
        "Account ID (18)",
        "AccountId",
    ),
    "name": ("Deal Name", "dealname", "Opportunity Name", "Name"),
    "stage": ("Deal Stage", "dealstage", "Stage", "StageName"),
    "type": ("Deal Type", "dealtype", "Type", "Opportunity Type"),
    "amount": ("Amount",),
    "currency": (
        "Currency",
        "Deal currency code",
        "deal_currency_code",
        "Opportunity Currency",
        "Amount Currency",
        "CurrencyIsoCode",
    ),
    "opened_at": ("Create Date", "createdate", "Created Date", "CreatedDate"),
    "closed_at": ("Close Date", "closedate", "CloseDate"),
    "closed": ("Closed", "IsClosed"),
    "won": ("Won", "IsWon"),
}

_NOT_WORD = re.compile(r"[\W_]+")


def header_key(name: str) -> str:
    """A column name as compared: lower case, letters and digits only
    ("Country/Region" and "country region" are the same)."""
    return _NOT_WORD.sub("", name.casefold())


def _known(headers: Mapping[str, tuple[str, ...]], own: Iterable[str]) -> dict[str, str]:
    return {
        **{header_key(header): field for field, names in headers.items() for header in names},
        **{header_key(field): field for field in own},
    }


_KNOWN: dict[str, dict[str, str]] = {
    ImportKind.ACCOUNTS: _known(CRM_HEADERS, COLUMNS),
    ImportKind.DEALS: _known(DEAL_CRM_HEADERS, DEAL_FILE_COLUMNS),
}
_LABELS = {ImportKind.ACCOUNTS: FIELD_LABELS, ImportKind.DEALS: DEAL_FIELD_LABELS}


def targets(
    traits: Mapping[str, Attribute], kind: str = ImportKind.ACCOUNTS
) -> list[tuple[str, str]]:
    """What a column of a file of `kind` may be stored as, (value, words),
    in the page's order: skipped, each field, each declared trait (accounts)."""
    if kind != ImportKind.ACCOUNTS:
        traits = {}
    return [
        (SKIP, "Skip this column"),
        *_LABELS[ImportKind(kind)].items(),
        *((f"{TRAIT_PREFIX}{key}", f"Trait: {t.label}") for key, t in sorted(traits.items())),
    ]


def mapping_propose(
    header: Iterable[str],
    traits: Mapping[str, Attribute],
    saved: Mapping[str, str] | None = None,
    kind: str = ImportKind.ACCOUNTS,
) -> dict[str, str]:
    """A target for each column of `header`: the saved mapping's, else a
    field (of `kind`) or declared trait whose name matches, else SKIP. No
    target is proposed twice; a later column that matches a taken one is
    skipped."""
    by_key = dict(_KNOWN[ImportKind(kind)])
    for key, trait in traits.items() if kind == ImportKind.ACCOUNTS else ():
        by_key.setdefault(header_key(key), f"{TRAIT_PREFIX}{key}")
        by_key.setdefault(header_key(f"{TRAIT_PREFIX}{key}"), f"{TRAIT_PREFIX}{key}")
        by_key.setdefault(header_key(trait.label), f"{TRAIT_PREFIX}{key}")
    allowed = {value for value, _ in targets(traits, kind)}
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
    header: list[str],
    mapping: Mapping[str, str],
    traits: Mapping[str, Attribute],
    kind: str = ImportKind.ACCOUNTS,
) -> dict[str, str]:
    """What is wrong with `mapping` for a file of `kind` with `header`, keyed
    by the column it is about ("" for the mapping as a whole); empty when it
    may be used."""
    labels = _LABELS[ImportKind(kind)]
    allowed = {value for value, _ in targets(traits, kind)}
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
                f"{labels.get(target, target)}; choose one."
            )
    if not chosen["external_id"]:
        problems[SKIP] = "Choose the column that holds External id."
    return problems
