"""The outcome shortcut: an account row's outcome fields (deal_status,
deal_closed_at, deal_amount, opportunity_opened_at), from the outcomes
endpoint, an account row of bulk-upsert or an accounts CSV file, write the
account's one outcome deal, `OUTCOME_DEAL_PREFIX + the account's
external_id` (a new business deal without name or stage).

The fields map onto the deal's status, closed_at, amount and opened_at, and
a row sets those it sends, as any row does. The outcome deal exists while it
holds anything: the first outcome value sent makes it, open unless
deal_status says won or lost; deal_status sent empty makes it open again,
and removes it when it holds no date and no amount. A won or lost outcome
needs its close date (deal_closed_at), sent or stored: checked before
anything is written, as a deal row's is.

The deal is the one place an account's outcome is stored: the API and the
pages read the fields back from it (scoring.models.outcome_values).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from django.utils import timezone

from scoring.ingest.deal_rows import closed_problem
from scoring.ingest.deals import deal_apply, deal_states, deals_store
from scoring.ingest.rows import OUTCOME_DEAL_FIELDS
from scoring.ingest.upsert import RowError, locked_by_external_id
from scoring.models import OUTCOME_FIELDS, Deal, DealState, outcome_deal_id

_HELD = ("opened_at", "closed_at", "amount")


def outcome_fields(clean: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome fields a clean account row sends."""
    return {name: clean[name] for name in OUTCOME_DEAL_FIELDS if name in clean}


class OutcomeCheck(NamedTuple):
    """What of an account row's outcome is checked against its stored
    outcome deal: the status it sets ("" for none; None: it leaves it) and
    whether it sets a close date (True), clears it (False) or leaves it (None)."""

    external_id: str
    status: str | None
    closed: bool | None


def outcome_check(clean: Mapping[str, Any]) -> OutcomeCheck | None:
    """The check an account row needs, or None when its outcome cannot
    lack a close date (it sets neither status nor close date)."""
    if "deal_status" not in clean and "deal_closed_at" not in clean:
        return None
    closed_at = clean.get("deal_closed_at", ...)
    return OutcomeCheck(
        clean["external_id"],
        clean.get("deal_status"),
        None if closed_at is ... else closed_at is not None,
    )


def outcome_lookup_errors(pending: Mapping[int, OutcomeCheck]) -> list[RowError]:
    """An error on each account row (number -> OutcomeCheck) whose outcome
    would be won or lost without a close date, counting its stored outcome
    deal's values for what the row leaves."""
    stored = deal_states(outcome_deal_id(check.external_id) for check in pending.values())
    errors = []
    for number, check in pending.items():
        held = stored.get(outcome_deal_id(check.external_id))
        status = check.status if check.status is not None else (held[0] if held else "")
        closed = check.closed if check.closed is not None else bool(held and held[1])
        problem = closed_problem(status or DealState.OPEN, closed)
        if problem is not None:
            errors.append(RowError(number, check.external_id, "deal_closed_at", problem))
    return errors


def _target(deal: Deal | None, outcome: Mapping[str, Any]) -> dict[str, Any] | None:
    """The outcome deal's values once the row's outcome fields are set on
    it (see the module rules); None when it holds nothing and goes."""
    values = {OUTCOME_FIELDS[name]: value for name, value in outcome.items()}
    status = values.pop("status", deal.status if deal else "")
    held = {name: values.get(name, getattr(deal, name) if deal else None) for name in _HELD}
    if not status:
        if all(value is None for value in held.values()):
            return None
        status = DealState.OPEN
    return {"status": status, **held}


def outcome_deals_write(rows: list[tuple[str, int, Mapping[str, Any]]]) -> set[str]:
    """Write the outcome deals of a batch of account rows, each
    (account external_id, account id, the row's outcome fields), a
    statement per batch; returns the external ids of the accounts whose
    outcome deal changed."""
    ids = [outcome_deal_id(external_id) for external_id, _, _ in rows]
    stored = locked_by_external_id(Deal, ids)
    created: list[Deal] = []
    updated: list[Deal] = []
    removed: list[int] = []
    changed: set[str] = set()
    fields: set[str] = set()
    now = timezone.now()
    for external_id, account_id, outcome in rows:
        deal = stored.get(outcome_deal_id(external_id))
        target = _target(deal, outcome)
        if target is None:
            if deal is not None:
                removed.append(deal.pk)
                changed.add(external_id)
            continue
        if deal is None:
            deal = Deal(external_id=outcome_deal_id(external_id), account_id=account_id)
            deal_apply(deal, target)
            created.append(deal)
        elif written := deal_apply(deal, target):
            deal.updated_at = now
            updated.append(deal)
            fields |= written
        else:
            continue
        changed.add(external_id)
    deals_store(created, updated, fields)
    if removed:
        Deal.objects.filter(pk__in=removed).delete()
    return changed
