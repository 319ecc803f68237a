"""Accounts stored before their values had canonical columns get them: each
built-in category's canonical form, the canonical form of each text trait,
and the list index rebuilt from canonical items (it held the items as
stored, lowered by str.lower, which folds less than the canonical form and
keeps runs of spaces). Going back rebuilds the list index from the items
as stored, as the code before did.

Batched by account id, each batch committed on its own: a large base is
not locked for the whole fill, and a fill that was stopped is simply run
again (it computes the same values, and skips rows already right). On
PostgreSQL a batch is one UPDATE from a JSON parameter; elsewhere one
UPDATE per changed row.

The canonical form and the SQL are written out here rather than imported,
so that the migration does what it did when it was written whatever the
code becomes.
"""

import json
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from django.db import migrations, transaction

BATCH = 5000
CATEGORIES = ("industry", "country", "funding_stage", "crm")
TEXT_COLUMNS = (*(f"{key}_canonical" for key in CATEGORIES), "list_index")
SEPARATOR = "|"


def canonical(text: str) -> str:
    """Case folded, composed, each run of whitespace one space, none at the ends."""
    folded = unicodedata.normalize("NFD", text).casefold()
    return " ".join(unicodedata.normalize("NFC", folded).split())


def compared_items(values: Iterable[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for item in values:
        if isinstance(item, str):
            text = canonical(item)
            if text and SEPARATOR not in text:
                seen.setdefault(text, None)
    return list(seen)


def list_index(tech_stack: Any, traits: dict[str, Any], items: Callable[[Any], list[str]]) -> str:
    parts = [f"tech_stack:{item}" for item in items(tech_stack or [])]
    for key, value in sorted(traits.items()):
        if isinstance(value, list):
            parts.extend(f"{key}:{item}" for item in items(value))
    return SEPARATOR + SEPARATOR.join(parts) + SEPARATOR if parts else ""


def canonical_values(row: dict[str, Any]) -> dict[str, Any]:
    traits = row["traits"] if isinstance(row["traits"], dict) else {}
    values: dict[str, Any] = {
        f"{key}_canonical": canonical(row[key]) if isinstance(row[key], str) else ""
        for key in CATEGORIES
    }
    values["list_index"] = list_index(row["tech_stack"], traits, compared_items)
    values["traits_canonical"] = {
        key: canonical(value) for key, value in sorted(traits.items()) if isinstance(value, str)
    }
    return values


def stored_list_index(row: dict[str, Any]) -> dict[str, Any]:
    """The list index as the code before this migration built it."""
    traits = row["traits"] if isinstance(row["traits"], dict) else {}
    return {"list_index": list_index(row["tech_stack"], traits, list)}


def _write(connection: Any, table: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types = ", ".join(
                f"{quote(c)} {'jsonb' if c == 'traits_canonical' else 'text'}" for c in columns
            )
            assignments = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
            cursor.execute(
                f"UPDATE {quote(table)} AS a SET {assignments} "
                f"FROM json_to_recordset(%s::json) AS v(id bigint, {types}) WHERE a.id = v.id",
                [json.dumps(rows)],
            )
            return
        assignments = ", ".join(f"{quote(c)} = %s" for c in columns)
        cursor.executemany(
            f"UPDATE {quote(table)} SET {assignments} WHERE id = %s",
            [
                [json.dumps(r[c]) if c == "traits_canonical" else r[c] for c in columns] + [r["id"]]
                for r in rows
            ],
        )


def _refill(apps: Any, schema_editor: Any, compute: Callable[[dict[str, Any]], dict[str, Any]]):
    connection = schema_editor.connection
    Account = apps.get_model("scoring", "Account")
    accounts = Account.objects.using(connection.alias).order_by("pk")
    read = ["pk", *CATEGORIES, "tech_stack", "traits", *TEXT_COLUMNS, "traits_canonical"]
    last = 0
    while True:
        with transaction.atomic(using=connection.alias):
            batch = list(accounts.filter(pk__gt=last).values(*read)[:BATCH])
            if not batch:
                return
            changed = []
            for row in batch:
                values = compute(row)
                if any(row[column] != value for column, value in values.items()):
                    changed.append({"id": row["pk"], **values})
            columns = list(compute(batch[0]))
            _write(connection, Account._meta.db_table, changed, columns)
            last = batch[-1]["pk"]


def fill(apps: Any, schema_editor: Any) -> None:
    _refill(apps, schema_editor, canonical_values)


def unfill(apps: Any, schema_editor: Any) -> None:
    _refill(apps, schema_editor, stored_list_index)


class Migration(migrations.Migration):
    # Each batch commits on its own (see above).
    atomic = False

    dependencies = [
        ("scoring", "0017_account_canonical_values"),
    ]

    operations = [
        migrations.RunPython(fill, unfill, elidable=True),
    ]
