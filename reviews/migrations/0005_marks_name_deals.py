"""A surprising deal is marked reviewed by the deal's id, no longer the
account's: the marks made so far name an account, whose one outcome became
its outcome deal (scoring 0013), so they are moved onto that deal. A mark
whose account has no outcome deal names nothing left to review and goes."""

from typing import Any

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Subquery

DEAL_KINDS = ["won", "lost"]
OUTCOME_DEAL_PREFIX = "outcome:"


def marks_name_deals(apps: Any, schema_editor: Any) -> None:
    ReviewMark = apps.get_model("reviews", "ReviewMark")
    Deal = apps.get_model("scoring", "Deal")
    alias = schema_editor.connection.alias
    outcome_deal = Deal.objects.using(alias).filter(
        account_id=OuterRef("object_id"), external_id__startswith=OUTCOME_DEAL_PREFIX
    )
    marks = ReviewMark.objects.using(alias).filter(kind__in=DEAL_KINDS)
    marks.exclude(Exists(outcome_deal)).delete()
    marks.update(object_id=Subquery(outcome_deal.values("id")[:1]))


def marks_name_accounts(apps: Any, schema_editor: Any) -> None:
    ReviewMark = apps.get_model("reviews", "ReviewMark")
    Deal = apps.get_model("scoring", "Deal")
    alias = schema_editor.connection.alias
    outcome_deal = Deal.objects.using(alias).filter(
        pk=OuterRef("object_id"), external_id__startswith=OUTCOME_DEAL_PREFIX
    )
    marks = ReviewMark.objects.using(alias).filter(kind__in=DEAL_KINDS)
    marks.exclude(Exists(outcome_deal)).delete()
    marks.update(object_id=Subquery(outcome_deal.values("account_id")[:1]))


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0004_override_logged_by_required"),
        ("scoring", "0013_deals"),
    ]

    operations = [
        migrations.AlterField(
            model_name="reviewmark",
            name="kind",
            field=models.CharField(
                choices=[
                    ("override", "Override"),
                    ("draft", "Draft"),
                    ("checkin", "Check-in"),
                    ("run", "Tier moves of a run"),
                    ("won", "Deal won by tier C or DQ"),
                    ("lost", "Deal lost by tier A"),
                    ("churned", "Churned in tier A"),
                ],
                max_length=10,
            ),
        ),
        migrations.RunPython(marks_name_deals, marks_name_accounts),
    ]
