"""Check-ins keep their agenda live until held. The agendas stored so far
were worked out when each check-in opened: `agenda_at` says so (their
creation time), so a held one shows when its figures were recorded. Open
ones are worked out afresh from now on. One UPDATE."""

from typing import Any

from django.db import migrations, models
from django.db.models import F


def recorded_at_creation(apps: Any, schema_editor: Any) -> None:
    CheckIn = apps.get_model("reviews", "CheckIn")
    CheckIn.objects.using(schema_editor.connection.alias).exclude(agenda={}).update(
        agenda_at=F("created_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('reviews', '0006_notifications_and_my_work'),
    ]

    operations = [
        migrations.AddField(
            model_name='checkin',
            name='agenda_at',
            field=models.DateTimeField(blank=True, help_text='When the stored agenda was worked out.', null=True),
        ),
        migrations.AddField(
            model_name='checkin',
            name='trigger_figures',
            field=models.JSONField(blank=True, default=dict, help_text='What the drift check measured when it fired.'),
        ),
        migrations.AlterField(
            model_name='checkin',
            name='agenda',
            field=models.JSONField(blank=True, default=dict, help_text='The agenda as recorded when the check-in was held.'),
        ),
        migrations.AlterField(
            model_name='checkin',
            name='since',
            field=models.DateTimeField(blank=True, help_text='Start of the period the stored agenda covers.', null=True),
        ),
        migrations.RunPython(recorded_at_creation, migrations.RunPython.noop, elidable=True),
    ]
