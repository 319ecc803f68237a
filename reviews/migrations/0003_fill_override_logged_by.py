"""Overrides logged so far are taken as logged by their rep: nothing
recorded otherwise, and the rep is whose name they bear. One UPDATE."""

from typing import Any

from django.db import migrations
from django.db.models import F


def logged_by_rep(apps: Any, schema_editor: Any) -> None:
    Override = apps.get_model("reviews", "Override")
    Override.objects.using(schema_editor.connection.alias).update(logged_by=F("rep"))


def forget_logged_by(apps: Any, schema_editor: Any) -> None:
    Override = apps.get_model("reviews", "Override")
    Override.objects.using(schema_editor.connection.alias).update(logged_by=None)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0002_override_logged_by"),
    ]

    operations = [
        migrations.RunPython(logged_by_rep, forget_logged_by, elidable=True),
    ]
