"""The accounts list's search indexes led by the canonical industry and
country (btree_gin): a word searched within an industry or a country is
then one scan of one index (scoring.sql.ACCOUNT_SEARCH_INDEXES). They
replace 0020's trigram indexes of the column alone.

Not atomic: on PostgreSQL the new indexes are built CONCURRENTLY before
the old ones are dropped, so the search keeps an index and accounts keep
being written meanwhile. Elsewhere nothing happens.
"""

from importlib import import_module
from typing import Any

from django.contrib.postgres.operations import BtreeGinExtension
from django.db import migrations

# 0020, which built the indexes of the column alone (its SEARCH_INDEXES,
# search_index_build).
search_0020 = import_module("scoring.migrations.0020_account_list_indexes")


class PostgresBtreeGinExtension(search_0020.PostgresOnlyReverse, BtreeGinExtension):
    pass


def replace(schema_editor: Any, *, led_by_category: bool) -> None:
    """Build the search indexes led by category (else 0020's, of the column
    alone), then drop the others. A build an earlier attempt left
    unfinished (an invalid index, which IF NOT EXISTS would take for
    built) is dropped first: the search never loses its last valid index."""
    from scoring import sql

    if schema_editor.connection.vendor != "postgresql":
        return
    led, alone = list(sql.ACCOUNT_SEARCH_INDEXES), list(search_0020.SEARCH_INDEXES)
    built, dropped = (led, alone) if led_by_category else (alone, led)
    for (invalid,) in sql.fetchall(sql.indexes_invalid(built)):
        schema_editor.execute(*sql.index_drop(invalid, "CONCURRENTLY"))
    for index in built:
        if led_by_category:
            schema_editor.execute(*sql.account_search_index_build(index))
        else:
            search_0020.search_index_build(schema_editor, index)
    for index in dropped:
        schema_editor.execute(*sql.index_drop(index, "CONCURRENTLY"))


def category_led_build(apps: Any, schema_editor: Any) -> None:
    replace(schema_editor, led_by_category=True)


def column_only_build(apps: Any, schema_editor: Any) -> None:
    replace(schema_editor, led_by_category=False)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("scoring", "0021_score_row_copies"),
    ]

    operations = [
        PostgresBtreeGinExtension(),
        migrations.RunPython(category_led_build, column_only_build),
    ]
