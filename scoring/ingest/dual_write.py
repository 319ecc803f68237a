"""The account's own outcome columns (deal_status, deal_closed_at,
deal_amount, opportunity_opened_at), written beside its outcome deal while
some readers still read them.

The outcome shortcut (scoring.ingest.outcomes) records an account's outcome
as its outcome deal; until every reader counts deals, the same values also
go into these columns, as they did before deals were records. Once no code
reads the columns, this module goes, with its three uses: write_batch's
call and update list in scoring.ingest.importer, and deal_delete in
scoring.ingest.deals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scoring.models import Account, DealStatus

# The account's columns, as the account row names them.
COLUMNS = ("opportunity_opened_at", "deal_status", "deal_closed_at", "deal_amount")


def outcome_columns_set(account: Account, outcome: Mapping[str, Any]) -> bool:
    """Set the account's columns from an account row's outcome fields (those
    it sends); True when any changed."""
    changed = False
    for column in COLUMNS:
        if column in outcome and getattr(account, column) != outcome[column]:
            setattr(account, column, outcome[column])
            changed = True
    return changed


def outcome_columns_clear(*, account_id: int) -> None:
    """Clear the columns of an account whose outcome deal was removed."""
    Account.objects.filter(pk=account_id).update(
        deal_status=DealStatus.NONE,
        deal_closed_at=None,
        deal_amount=None,
        opportunity_opened_at=None,
    )
