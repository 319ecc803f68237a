"""Upserting account rows by external_id (accounts_import), for the API's
bulk requests and for CSV files, and scoring the new and changed accounts;
by the rules of scoring.ingest.upsert (all or nothing by default, blank rows
skipped, every check before the writing).

An account row's outcome fields write the account's outcome deal
(scoring.ingest.outcomes) beside the account; a row whose account or
outcome deal changed counts as updated and moves the account's updated_at,
but only a change to the account's own values scores it again (a deal
carries no score).
A good row holding a category value no live or draft criterion names is
stored, and reported with a warning (scoring.ingest.picklists).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import connection
from django.utils import timezone

from profiles.attributes import Attribute
from profiles.models import User
from profiles.selectors import trait_types
from scoring import sql
from scoring.ingest.deals import outcome_accounts_touch
from scoring.ingest.outcomes import (
    OutcomeCheck,
    outcome_check,
    outcome_deals_write,
    outcome_fields,
    outcome_lookup_errors,
)
from scoring.ingest.picklists import PicklistCheck
from scoring.ingest.rows import (
    COLUMNS,
    MAX_EXTERNAL_ID_LENGTH,
    OUTCOME_COLUMNS,
    UPDATE_FIELDS,
    account_clean,
    declared_traits,
)
from scoring.ingest.upsert import (
    BATCH_SIZE,
    CONCURRENT_WRITE,
    MODES,
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
from scoring.models import DERIVED_FIELDS, Account
from scoring.services import accounts_score

# The generic names are this module's too: callers import an account import's
# pieces from one place.
__all__ = [
    "BATCH_SIZE",
    "CONCURRENT_WRITE",
    "MODES",
    "AccountRows",
    "ImportFileError",
    "ImportReport",
    "Mode",
    "RowError",
    "accounts_import",
    "unheld_errors",
    "write_batch",
]


def _apply(account: Account, values: dict[str, Any]) -> bool:
    """Set the row's values on the account, and the columns derived from
    them when any changed (or the account is new); True when anything did."""
    changed = account.pk is None
    for name, value in values.items():
        if name == "traits":
            merged = {**(account.traits or {}), **value}
            value = {k: v for k, v in merged.items() if v is not None}
        if getattr(account, name) != value:
            setattr(account, name, value)
            changed = True
    if changed:
        account.reindex()
    return changed


class AccountRows:
    """Accounts, for rows_import and the file import. `outcomes_only` takes
    OUTCOME_COLUMNS alone and only for accounts already held; `insert`
    stores new accounts instead of bulk_create (a file import COPYs them)."""

    noun = "account"
    id_length = MAX_EXTERNAL_ID_LENGTH

    def __init__(
        self,
        *,
        traits: dict[str, Attribute],
        outcomes_only: bool = False,
        insert: Callable[[list[Account]], None] | None = None,
    ) -> None:
        self.traits = traits
        self.outcomes_only = outcomes_only
        self.insert = insert

    def hold(self, trait_keys: Iterable[str]) -> None:
        traits_hold(self.traits, trait_keys)

    def clean(self, row: Mapping[str, Any], *, strict: bool) -> dict[str, Any]:
        columns = OUTCOME_COLUMNS if self.outcomes_only else COLUMNS
        return account_clean(row, traits=self.traits, strict=strict, columns=columns)

    def pending(self, clean: dict[str, Any]) -> tuple[str | None, OutcomeCheck | None] | None:
        """The external_id when the row needs its account held (every
        outcomes row, a row without a name), and its outcome's check."""
        held = clean["external_id"] if self.outcomes_only or "name" not in clean else None
        outcome = outcome_check(clean)
        return None if held is None and outcome is None else (held, outcome)

    def lookup_errors(self, pending: Mapping[int, Any]) -> list[RowError]:
        needing = {n: held for n, (held, _) in pending.items() if held is not None}
        errors = unheld_errors(needing, outcomes=self.outcomes_only)
        refused = {error.row for error in errors}
        outcomes = {
            n: check for n, (_, check) in pending.items() if check is not None and n not in refused
        }
        return errors + outcome_lookup_errors(outcomes)

    def warnings(self, good: Mapping[int, dict[str, Any]]) -> list[RowWarning]:
        """A warning for each category value of the good rows that no
        criterion of a live or draft version names (outcome rows hold none)."""
        if self.outcomes_only or not good:
            return []
        check = PicklistCheck.load(self.traits)
        return [
            RowWarning(number, good[number]["external_id"], unknown.field, check.message(unknown))
            for number in sorted(good)
            for unknown in check.unknown(good[number])
        ]

    def write(self, report: ImportReport, batch: Batch) -> list[int]:
        return write_batch(report, batch, score=False, insert=self.insert)

    def score(self, ids: list[int]) -> int:
        return accounts_score(ids)


def accounts_import(
    *,
    actor: User | None,
    rows: Iterable[Mapping[str, Any]],
    mode: Mode = "all_or_nothing",
    first_row: int = 1,
    strict: bool = False,
    skip_blank: bool = True,
    outcomes_only: bool = False,
) -> ImportReport:
    """Upsert accounts by external_id in one transaction and score the new and
    changed ones against every current run (rows_import's rules).

    `strict` checks JSON types (see account_clean); `outcomes_only` takes
    OUTCOME_COLUMNS alone and only for accounts already held: an unknown
    external_id is that row's error.
    """
    kind = AccountRows(traits=declared_traits(), outcomes_only=outcomes_only)
    return rows_import(
        kind,
        actor=actor,
        rows=rows,
        mode=mode,
        first_row=first_row,
        strict=strict,
        skip_blank=skip_blank,
    )


def unheld_ids(external_ids: Iterable[str]) -> set[str]:
    """The ids among `external_ids` of no account held, looked up in batches."""
    wanted = list(dict.fromkeys(external_ids))
    return set(wanted) - held_external_ids(Account, wanted)


def unheld_errors(rows: Mapping[int, str], *, outcomes: bool) -> list[RowError]:
    """An error on each row (number -> external_id) whose account is not
    held: outcomes are for accounts already held, and a row without a name
    only updates one."""
    unheld = unheld_ids(rows.values())
    if outcomes:
        field, words = "external_id", "no account {id!r}; send the account itself first"
    else:
        field, words = "name", "missing; {id!r} is a new account, so its row needs a name"
    return [
        RowError(number, external_id, field, words.format(id=external_id))
        for number, external_id in rows.items()
        if external_id in unheld
    ]


def write_batch(
    report: ImportReport,
    batch: Batch,
    *,
    score: bool = True,
    insert: Callable[[list[Account]], None] | None = None,
) -> list[int]:
    """Upsert a batch of clean rows and their outcome deals; returns the ids
    of the accounts created or changed, scored here unless `score` is False
    (the caller scores them). `insert` stores the new accounts instead of
    bulk_create (a file import COPYs them)."""
    ids = [clean["external_id"] for _, clean in batch]
    existing = locked_by_external_id(Account, ids, defer=[*DERIVED_FIELDS, "created_at"])
    created: list[Account] = []
    updated: list[Account] = []
    outcomes: dict[str, dict[str, Any]] = {}
    numbers: dict[str, int] = {}
    now = timezone.now()
    for number, clean in batch:
        external_id = clean["external_id"]
        outcome = outcome_fields(clean)
        values = {k: v for k, v in clean.items() if k not in outcome}
        account = existing.get(external_id)
        if account is None:
            if "name" not in clean:
                # Held when the rows were checked, deleted since: the row
                # would make an account without a name.
                raise ImportFileError([CONCURRENT_WRITE])
            account = Account(external_id=external_id)
            _apply(account, values)
            created.append(account)
        elif _apply(account, values):
            account.updated_at = now
            updated.append(account)
        if outcome:
            outcomes[external_id] = outcome
        numbers[external_id] = number
    if insert is None:
        Account.objects.bulk_create(created, batch_size=BATCH_SIZE)
    else:
        insert(created)
    rows_update(Account, updated, UPDATE_FIELDS)
    new_ids = _ids_of(created)
    held = {a.external_id: a.pk for a in existing.values()} | new_ids
    dealt = outcome_deals_write([(e, held[e], outcome) for e, outcome in outcomes.items()])
    written = {a.external_id for a in updated} | new_ids.keys()
    outcome_accounts_touch([held[e] for e in dealt - written], now=now)
    changed_ids = {a.external_id for a in updated} | dealt
    _count(report, numbers, {a.external_id for a in created}, changed_ids)
    changed = [*new_ids.values(), *(a.pk for a in updated)]
    if changed and score:
        report.scored += accounts_score(changed)
    return changed


def _ids_of(created: list[Account]) -> dict[str, int]:
    """The new accounts' ids by external_id, read back when the insert
    did not return them (COPY)."""
    if all(a.pk is not None for a in created):
        return {a.external_id: a.pk for a in created}
    found = Account.objects.filter(external_id__any=[a.external_id for a in created])
    return dict(found.values_list("external_id", "pk"))


def _count(
    report: ImportReport, numbers: Mapping[str, int], created: set[str], updated: set[str]
) -> None:
    for external_id, number in numbers.items():
        if external_id in created:
            report.outcomes[number] = "created"
        elif external_id in updated:
            report.outcomes[number] = "updated"
        else:
            report.outcomes[number] = "unchanged"
    report.created += len(created)
    report.updated += len(updated - created)
    report.unchanged += len(numbers) - len(created | updated)


TRAITS_CHANGED = (
    "The trait{s} {keys} changed type or {was} removed while the rows were checked, so "
    "nothing was stored. Send the import again (GET /api/v1/traits/ lists the traits)."
)


def traits_hold(traits: Mapping[str, Attribute], keys: Iterable[str]) -> None:
    """Inside an import's write transaction: hold the declared traits among
    `keys` (those the rows write) until it commits, and refuse the import
    (ImportFileError) if one changed type or went since the rows were
    checked against `traits`. See scoring.traits for the other side."""
    held = sorted({key for key in keys if key in traits})
    if not held:
        return
    if connection.vendor == "postgresql":
        now = dict(sql.fetchall(sql.traits_key_share(held)))
    else:
        now = dict(trait_types(keys=held))
    changed = [key for key in held if now.get(key) != traits[key].type]
    if changed:
        many = len(changed) > 1
        raise ImportFileError(
            [
                TRAITS_CHANGED.format(
                    s="s" if many else "", keys=", ".join(changed), was="were" if many else "was"
                )
            ]
        )
