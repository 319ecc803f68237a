"""The rules of one incoming deal row (a CRM's opportunity), whichever way it
comes: deal_clean, by the module rules of scoring.ingest.rows (a row sets
the columns it has, empty clears, nothing is guessed).

- external_id is the CRM's deal id; ids starting with OUTCOME_DEAL_PREFIX
  are the accounts' outcome deals, written through the account's outcome
  fields only. `account` names the deal's account by its external_id; a row
  that creates a deal needs it, an update may leave it out (or move the
  deal), never send it empty.
- The status (open, won, lost) is sent as such, or read from what a CRM
  export says: its Closed and Won flags (files only), else its stage name
  (Closed Won, closedwon, Won -> won; Closed Lost, Lost -> lost; any other
  stage -> open). A row that says neither leaves the status alone (open
  for a new deal). Whether a won or lost deal has its close date is checked
  against the stored deal before anything is written (the importer's
  lookups), since a row may send one without the other.
- The type is new, expansion or renewal, or a CRM's words for them (New
  Business, Existing Business, Existing Customer - Upgrade, Renewal); an
  empty type leaves it alone (new for a new deal).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from scoring.ingest.rows import (
    AMOUNT_JSON_TYPES,
    MAX_EXTERNAL_ID_LENGTH,
    BadValueError,
    Reader,
    RowInvalidError,
    RowRules,
    amount_value,
    boolean_value,
    moment_value,
    row_clean,
    shown,
    text_value,
)
from scoring.models import OUTCOME_DEAL_PREFIX, Deal, DealState, DealType

DEAL_ID_LENGTH = Deal._meta.get_field("external_id").max_length or 100
DEAL_NAME_LENGTH = Deal._meta.get_field("name").max_length or 200
STAGE_LENGTH = Deal._meta.get_field("stage").max_length or 60

# What a JSON client sends.
DEAL_COLUMNS = (
    "external_id",
    "account",
    "name",
    "stage",
    "status",
    "type",
    "amount",
    "currency",
    "opened_at",
    "closed_at",
)
# A CRM's export may say whether a deal is closed and won in flags of their own
# (a Salesforce opportunity report's Closed and Won); they set the status and
# are not stored.
STATUS_FLAGS = ("closed", "won")
DEAL_FILE_COLUMNS = (*DEAL_COLUMNS, *STATUS_FLAGS)

ACCOUNT_EMPTY = "empty; a deal's account cannot be cleared (leave the field out to keep it)"
OUTCOME_ID = (
    "ids starting with {prefix!r} are the accounts' outcome deals; record an outcome "
    "through the account's deal_status, deal_closed_at and deal_amount instead"
)

_CURRENCY = re.compile(r"[A-Za-z]{3}")
_WORD = re.compile(r"[a-z]+")

# A CRM's type words (HubSpot's deal types, Salesforce's opportunity types),
# by the type they mean; compared by their words, without regard to case.
TYPE_WORDS: dict[str, DealType] = {
    "new": DealType.NEW,
    "newbusiness": DealType.NEW,
    "newcustomer": DealType.NEW,
    "expansion": DealType.EXPANSION,
    "existingbusiness": DealType.EXPANSION,
    "upsell": DealType.EXPANSION,
    "upgrade": DealType.EXPANSION,
    "crosssell": DealType.EXPANSION,
    "addon": DealType.EXPANSION,
    "renewal": DealType.RENEWAL,
    "renew": DealType.RENEWAL,
}
# Words that, anywhere in a type, say which it is ("Existing Customer -
# Upgrade"), checked in this order when the whole is none of TYPE_WORDS.
_TYPE_HINTS: tuple[tuple[str, DealType], ...] = (
    ("renew", DealType.RENEWAL),
    ("existing", DealType.EXPANSION),
    ("upgrade", DealType.EXPANSION),
    ("upsell", DealType.EXPANSION),
    ("expansion", DealType.EXPANSION),
    ("new", DealType.NEW),
)


class DealInvalidError(RowInvalidError):
    """A deal row that does not validate."""


def _words(text: str) -> list[str]:
    """The words of a CRM's label, lower case, an apostrophe dropped
    ("Won't proceed" is wont, proceed)."""
    return _WORD.findall(text.casefold().replace("'", "").replace("\u2019", ""))


def stage_status(stage: str) -> DealState:
    """The status a CRM's stage name says: a won stage (Closed Won, closedwon,
    Won), a lost one (Closed Lost, Lost - no budget), else open."""
    words = _words(stage)
    joined = "".join(words)
    if "won" in words or joined in ("closedwon", "dealwon"):
        return DealState.WON
    if "lost" in words or joined in ("closedlost", "deallost"):
        return DealState.LOST
    return DealState.OPEN


def _status(value: Any) -> str:
    word = text_value(value).lower()
    if not word:
        raise BadValueError(
            "empty; a deal is open, won or lost (leave the field out to keep its status)"
        )
    if word not in DealState.values:
        raise BadValueError(f"{shown(value)} is not one of open, won, lost")
    return word


def _type(value: Any) -> str | None:
    """The deal type a value names; None (leave it) when empty."""
    text = text_value(value)
    if not text:
        return None
    words = _words(text)
    found = TYPE_WORDS.get("".join(words))
    if found is None:
        found = next((kind for hint, kind in _TYPE_HINTS if hint in words), None)
    if found is None:
        raise BadValueError(
            f"{shown(value)} is not one of new, expansion, renewal (or a CRM's words for "
            "them, such as New Business, Existing Business, Renewal)"
        )
    return str(found)


def _currency(value: Any) -> str:
    text = text_value(value)
    if text and not _CURRENCY.fullmatch(text):
        raise BadValueError(f"{shown(value)} is not a 3-letter currency code such as EUR or USD")
    return text.upper()


_FIELD_RULES: dict[str, Reader] = {
    "name": lambda v: text_value(v, DEAL_NAME_LENGTH),
    "stage": lambda v: text_value(v, STAGE_LENGTH),
    "status": _status,
    "type": _type,
    "amount": amount_value,
    "currency": _currency,
    "opened_at": moment_value,
    "closed_at": moment_value,
    "closed": boolean_value,
    "won": boolean_value,
}

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(
        ("external_id", "account", "name", "stage", "status", "type", "currency"), (str,)
    ),
    **dict.fromkeys(("opened_at", "closed_at"), (str,)),
    "amount": AMOUNT_JSON_TYPES,
    **dict.fromkeys(STATUS_FLAGS, (bool,)),
}


def _finish(clean: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """The fields against one another: the outcome prefix kept for outcome
    deals, the status read from the flags or the stage, an empty type left out."""
    if clean["external_id"].startswith(OUTCOME_DEAL_PREFIX):
        errors["external_id"] = [OUTCOME_ID.format(prefix=OUTCOME_DEAL_PREFIX)]
    if clean.get("type", "") is None:
        del clean["type"]
    closed, won = clean.pop("closed", None), clean.pop("won", None)
    if "status" in clean:
        return
    stage = clean.get("stage") or ""
    if closed is False:
        clean["status"] = DealState.OPEN.value
    elif closed or won:
        said = stage_status(stage)
        if won is not None:
            clean["status"] = (DealState.WON if won else DealState.LOST).value
        elif said != DealState.OPEN:
            clean["status"] = said.value
        else:
            errors["closed"] = [
                "the deal is closed, but neither Won nor its stage says whether it was won "
                "or lost; map the Won column, or a stage named Closed Won or Closed Lost"
            ]
    elif stage:
        clean["status"] = stage_status(stage).value


DEAL_ROWS = RowRules(
    columns=DEAL_FILE_COLUMNS,
    fields=_FIELD_RULES,
    json_types=_JSON_TYPES,
    id_length=DEAL_ID_LENGTH,
    key_field="account",
    key_empty=ACCOUNT_EMPTY,
    key_length=MAX_EXTERNAL_ID_LENGTH,
    finish=_finish,
)


def deal_clean(
    row: Mapping[str, Any], *, strict: bool = False, columns: tuple[str, ...] = DEAL_FILE_COLUMNS
) -> dict[str, Any]:
    """A deal row's fields in stored form (the status read as the module
    says, the flags dropped), or DealInvalidError naming every bad field.
    JSON clients (`strict`) send DEAL_COLUMNS."""
    return row_clean(row, DEAL_ROWS, strict=strict, columns=columns, error=DealInvalidError)


def closed_problem(status: str, has_closed_at: bool) -> str | None:
    """Why a deal with `status` cannot be stored without a close date, or
    None when it can: a won or lost deal closed on a day (the constraint
    deal_closed_has_date holds the table to it)."""
    if status != DealState.OPEN and not has_closed_at:
        return f"missing; a {status} deal needs the date it closed"
    return None
