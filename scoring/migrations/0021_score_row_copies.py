"""Score rows carry copies of their account's industry and country
(canonical forms, SCORE_ROW_COPIES), filled here for every run's rows; on
PostgreSQL the current runs get the accounts list's indexes on them
(scoring.score_tables.indexes_build, which later runs build once current).

Not atomic: the fill is one UPDATE per run (about 15 s a million rows on
PostgreSQL) and the indexes are built CONCURRENTLY, so scores keep being
written meanwhile.
"""

from typing import Any

from django.db import migrations, models


def copies_fill(apps: Any, schema_editor: Any) -> None:
    from scoring import score_tables, sql

    runs = apps.get_model("scoring", "ScoringRun").objects.order_by("pk")
    for run_id in runs.values_list("pk", flat=True):
        if sql.partitioned() and not sql.fetchvalue(
            sql.relation_exists(score_tables.table(run_id))
        ):
            continue
        schema_editor.execute(*sql.scores_copies_refresh(run_id))
        score_tables.analyze(run_id)
    for run_id in runs.filter(is_current=True).values_list("pk", flat=True):
        score_tables.indexes_build(run_id)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("scoring", "0020_account_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="accountscore",
            name="industry_canonical",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            model_name="accountscore",
            name="country_canonical",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(copies_fill, migrations.RunPython.noop),
    ]
