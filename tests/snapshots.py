"""What is stored, for tests that prove a refusal changed nothing."""

from __future__ import annotations

from django.apps import apps

from scoring.models import ApiKey

# Stamped by reading, not by a write a refusal could have made: signing in
# stamps a user's last_login, using an API key stamps the key.
STAMPS = {"last_login"}


def snapshot() -> dict[str, list[str]]:
    """Every row of every icpsite table, API keys and sign-in stamps aside."""
    tables: dict[str, list[str]] = {}
    for label in ("profiles", "scoring", "reviews"):
        for model in apps.get_app_config(label).get_models():
            if model is ApiKey:
                continue
            fields = [f.attname for f in model._meta.concrete_fields if f.name not in STAMPS]
            rows = model._base_manager.values_list(*fields)
            tables[model._meta.db_table] = sorted(repr(row) for row in rows)
    return tables
