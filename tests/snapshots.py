"""What is stored, for tests that prove a refusal changed nothing."""

from __future__ import annotations

from django.apps import apps

from scoring.models import ApiKey


def snapshot() -> dict[str, list[str]]:
    """Every row of every icpsite table (API keys aside: using one stamps it)."""
    tables: dict[str, list[str]] = {}
    for label in ("profiles", "scoring", "reviews"):
        for model in apps.get_app_config(label).get_models():
            if model is ApiKey:
                continue
            rows = model._base_manager.values_list()
            tables[model._meta.db_table] = sorted(repr(row) for row in rows)
    return tables
