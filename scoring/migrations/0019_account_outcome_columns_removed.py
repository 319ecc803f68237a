"""The account's outcome columns (opportunity_opened_at, deal_status,
deal_closed_at, deal_amount) go: since 0013 each account's outcome is its
outcome deal, `outcome:<external_id>`, which every reader now reads, so the
columns only repeated it.

Going back puts the columns back first (the operations run in reverse),
then fills them from the outcome deals: status, close date, amount and
opening date, as the code before wrote them beside the deal; an account
without an outcome deal has none (deal_status empty, the rest null). One
UPDATE over the accounts that have one, their deal found by its unique id.

On the way forward, an account whose columns hold an outcome its outcome
deal does not (0013 made deals only for accounts with a status or an
opening date, so an amount or a close date alone was in the columns only)
gets its outcome deal first, so nothing the columns held is lost: won or
lost when its status says so and it has a close date, open otherwise.

Written out here rather than imported, so that the migration does what it
did when it was written whatever the code becomes.
"""

from typing import Any

from django.db import migrations
from django.db.models import Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat

PREFIX = "outcome:"
# Each column, and the outcome deal's field it is filled from.
COLUMNS = {
    "opportunity_opened_at": "opened_at",
    "deal_status": "status",
    "deal_closed_at": "closed_at",
    "deal_amount": "amount",
}


def deals_fill(apps: Any, schema_editor: Any) -> None:
    Account = apps.get_model("scoring", "Account")
    Deal = apps.get_model("scoring", "Deal")
    alias = schema_editor.connection.alias
    outcome = Deal.objects.using(alias).filter(
        account_id=OuterRef("pk"), external_id=Concat(Value(PREFIX), OuterRef("external_id"))
    )
    held = (
        Q(deal_amount__isnull=False)
        | Q(deal_closed_at__isnull=False)
        | Q(opportunity_opened_at__isnull=False)
        | ~Q(deal_status="")
    )
    missing = Account.objects.using(alias).filter(held).exclude(Exists(outcome))
    deals = []
    for account in missing.iterator(chunk_size=2000):
        closed = account.deal_status in ("won", "lost") and account.deal_closed_at is not None
        deals.append(
            Deal(
                external_id=PREFIX + account.external_id,
                account_id=account.pk,
                status=account.deal_status if closed else "open",
                type="new",
                amount=account.deal_amount,
                opened_at=account.opportunity_opened_at,
                closed_at=account.deal_closed_at,
            )
        )
        if len(deals) >= 2000:
            Deal.objects.using(alias).bulk_create(deals)
            deals = []
    Deal.objects.using(alias).bulk_create(deals)


def columns_refill(apps: Any, schema_editor: Any) -> None:
    Account = apps.get_model("scoring", "Account")
    Deal = apps.get_model("scoring", "Deal")
    alias = schema_editor.connection.alias
    outcome = Deal.objects.using(alias).filter(
        account_id=OuterRef("pk"), external_id=Concat(Value(PREFIX), OuterRef("external_id"))
    )
    Account.objects.using(alias).filter(Exists(outcome)).update(
        **{column: Subquery(outcome.values(field)[:1]) for column, field in COLUMNS.items()}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0018_fill_account_canonical_values"),
    ]

    operations = [
        migrations.RunPython(deals_fill, columns_refill),
        migrations.RemoveConstraint(model_name="account", name="account_deal_status_valid"),
        migrations.RemoveConstraint(model_name="account", name="account_deal_amount_not_negative"),
        migrations.RemoveField(model_name="account", name="deal_amount"),
        migrations.RemoveField(model_name="account", name="deal_closed_at"),
        migrations.RemoveField(model_name="account", name="deal_status"),
        migrations.RemoveField(model_name="account", name="opportunity_opened_at"),
    ]
