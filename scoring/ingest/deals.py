"""Deals coming in: upserted by external_id (deals_import, the API's
bulk-upsert and the CSV import of deals), and removed (deal_delete).

Rows read by scoring.ingest.deal_rows. Before anything is written, each row
is checked against what is stored, in batches: the account it names must be
held, a row without an account must update a deal held, and a won or lost
deal must end up with its close date, counting what a partial row leaves
as stored. A deal is never scored; what it changes is read by the reviews'
figures.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from profiles.models import User
from scoring.ingest.deal_rows import (
    DEAL_COLUMNS,
    DEAL_FILE_COLUMNS,
    DEAL_ID_LENGTH,
    closed_problem,
    deal_clean,
)
from scoring.ingest.upsert import (
    BATCH_SIZE,
    CONCURRENT_WRITE,
    Batch,
    ImportFileError,
    ImportReport,
    Mode,
    RowError,
    RowWarning,
    held_external_ids,
    locked_by_external_id,
    rows_import,
    rows_update,
)
from scoring.models import Account, Deal, DealState
from scoring.policies import IMPORT_REFUSED, can_import_accounts

# Written on update; external_id is the key and never changes.
DEAL_UPDATE_FIELDS = [
    "account",
    "name",
    "stage",
    "status",
    "type",
    "amount",
    "currency",
    "opened_at",
    "closed_at",
    "updated_at",
]


class DealCheck(NamedTuple):
    """What of a deal row is checked against the database: the account it
    names (None: it names none), the status it sets (None: it leaves it),
    and whether it sets a close date (True), clears it (False) or leaves it
    (None)."""

    external_id: str
    account: str | None
    status: str | None
    closed: bool | None


def deal_check(clean: Mapping[str, Any]) -> DealCheck:
    closed_at = clean.get("closed_at", ...)
    return DealCheck(
        clean["external_id"],
        clean.get("account"),
        clean.get("status"),
        None if closed_at is ... else closed_at is not None,
    )


def deal_states(external_ids: Iterable[str]) -> dict[str, tuple[str, bool]]:
    """The stored deals among `external_ids`: external_id -> (status, has a
    close date), looked up in batches."""
    wanted = list(dict.fromkeys(external_ids))
    states: dict[str, tuple[str, bool]] = {}
    for start in range(0, len(wanted), BATCH_SIZE):
        rows = Deal.objects.filter(external_id__any=wanted[start : start + BATCH_SIZE])
        for external_id, status, closed_at in rows.values_list(
            "external_id", "status", "closed_at"
        ):
            states[external_id] = (status, closed_at is not None)
    return states


def deal_lookup_errors(pending: Mapping[int, DealCheck]) -> list[RowError]:
    """The errors of deal rows (number -> DealCheck) against what is stored:
    an account not held, a new deal without an account, a won or lost deal
    left without its close date."""
    stored = deal_states(check.external_id for check in pending.values())
    accounts = held_external_ids(Account, (c.account for c in pending.values() if c.account))
    errors = []
    for number, check in pending.items():
        held = stored.get(check.external_id)
        error = _account_error(check, held is not None, accounts)
        if error is not None:
            errors.append(RowError(number, check.external_id, "account", error))
            continue
        status = check.status or (held[0] if held else DealState.OPEN)
        closed = check.closed if check.closed is not None else bool(held and held[1])
        problem = closed_problem(status, closed)
        if problem is not None:
            errors.append(RowError(number, check.external_id, "closed_at", problem))
    return errors


def _account_error(check: DealCheck, held: bool, accounts: set[str]) -> str | None:
    if check.account is None and not held:
        return f"missing; {check.external_id!r} is a new deal, so its row needs its account"
    if check.account is not None and check.account not in accounts:
        return f"no account {check.account!r}; send the account itself first"
    return None


def deal_apply(deal: Deal, values: Mapping[str, Any]) -> set[str]:
    """Set the values on the deal; the names of the fields that changed."""
    changed = set()
    for name, value in values.items():
        if getattr(deal, name) != value:
            setattr(deal, name, value)
            changed.add(name.removesuffix("_id"))
    return changed


def deals_store(created: list[Deal], updated: list[Deal], fields: set[str]) -> None:
    """Insert the new deals and write `fields` of the changed ones (those
    any of them changed: a batch that moves amounts writes amounts), a
    statement per batch. A deal the constraints would refuse stops the
    import: its rows were checked against the table as it was, so another
    writer changed it since."""
    if any(closed_problem(d.status, d.closed_at is not None) for d in (*created, *updated)):
        raise ImportFileError([CONCURRENT_WRITE])
    Deal.objects.bulk_create(created, batch_size=BATCH_SIZE)
    if updated:
        rows_update(
            Deal, updated, [f for f in DEAL_UPDATE_FIELDS if f in fields or f == "updated_at"]
        )


def deals_write(report: ImportReport, batch: Batch) -> None:
    """Upsert a batch of checked deal rows, counting each in the report."""
    ids = [clean["external_id"] for _, clean in batch]
    existing = locked_by_external_id(Deal, ids)
    named = {clean["account"] for _, clean in batch if "account" in clean}
    accounts = dict(Account.objects.filter(external_id__any=named).values_list("external_id", "pk"))
    created: list[Deal] = []
    updated: list[Deal] = []
    fields: set[str] = set()
    now = timezone.now()
    for number, clean in batch:
        values = {k: v for k, v in clean.items() if k not in ("external_id", "account")}
        if "account" in clean:
            if clean["account"] not in accounts:  # deleted since the rows were checked
                raise ImportFileError([CONCURRENT_WRITE])
            values["account_id"] = accounts[clean["account"]]
        deal = existing.get(clean["external_id"])
        if deal is None:
            if "account_id" not in values:
                raise ImportFileError([CONCURRENT_WRITE])
            deal = Deal(external_id=clean["external_id"])
            deal_apply(deal, values)
            created.append(deal)
            report.outcomes[number] = "created"
        elif changed := deal_apply(deal, values):
            deal.updated_at = now
            updated.append(deal)
            fields |= changed
            report.outcomes[number] = "updated"
        else:
            report.unchanged += 1
            report.outcomes[number] = "unchanged"
    deals_store(created, updated, fields)
    report.created += len(created)
    report.updated += len(updated)


class DealRows:
    """Deals, for rows_import and the file import."""

    noun = "deal"
    id_length = DEAL_ID_LENGTH

    def __init__(self, *, columns: tuple[str, ...] = DEAL_FILE_COLUMNS) -> None:
        self.columns = columns

    def clean(self, row: Mapping[str, Any], *, strict: bool) -> dict[str, Any]:
        return deal_clean(row, strict=strict, columns=self.columns)

    def hold(self, trait_keys: Iterable[str]) -> None:
        """Deals have no traits: nothing to hold."""

    def warnings(self, _good: Mapping[int, dict[str, Any]]) -> list[RowWarning]:
        """Deals hold no category value a criterion tests."""
        return []

    def pending(self, clean: dict[str, Any]) -> DealCheck:
        return deal_check(clean)

    def lookup_errors(self, pending: Mapping[int, Any]) -> list[RowError]:
        return deal_lookup_errors(pending)

    def write(self, report: ImportReport, batch: Batch) -> list[int]:
        deals_write(report, batch)
        return []

    def score(self, ids: list[int]) -> int:  # noqa: ARG002 (deals carry no score)
        return 0


def deals_import(
    *,
    actor: User | None,
    rows: Iterable[Mapping[str, Any]],
    mode: Mode = "all_or_nothing",
    first_row: int = 1,
    strict: bool = False,
    skip_blank: bool = True,
) -> ImportReport:
    """Upsert deals by external_id in one transaction (rows_import's rules);
    a JSON client (`strict`) sends DEAL_COLUMNS, a file may also send the
    Closed and Won flags."""
    kind = DealRows(columns=DEAL_COLUMNS if strict else DEAL_FILE_COLUMNS)
    return rows_import(
        kind,
        actor=actor,
        rows=rows,
        mode=mode,
        first_row=first_row,
        strict=strict,
        skip_blank=skip_blank,
    )


def outcome_accounts_touch(account_ids: Collection[int], *, now: datetime) -> None:
    """Mark as changed at `now` the accounts whose outcome deal was written
    or removed: their outcome fields read it, so the account as listed
    changed, and a sync asking for the accounts changed since (the API's
    `updated_since`) gets them."""
    if account_ids:
        Account.objects.filter(pk__in=list(account_ids)).update(updated_at=now)


def deal_delete(*, actor: User | None, deal: Deal) -> None:
    """Remove a deal (the CRM deleted it). Whoever may import accounts may;
    removing an account's outcome deal clears the account's outcome fields,
    and so changes the account."""
    if actor is not None and not can_import_accounts(actor):
        raise PermissionDenied(IMPORT_REFUSED)
    with transaction.atomic():
        if deal.is_outcome:
            outcome_accounts_touch([deal.account_id], now=timezone.now())
        Deal.objects.filter(pk=deal.pk).delete()
