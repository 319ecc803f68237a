"""The Celery application.

Worker:  celery -A icpsite worker --loglevel=INFO
Beat:    celery -A icpsite beat --loglevel=INFO
Configuration comes from the CELERY_* names in icpsite/settings.py.
"""

import os
import socket
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections, connection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icpsite.settings")

app = Celery("icpsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _connections_between_tasks(sender: Any = None, **kwargs: Any) -> None:
    """Close the database connections that are broken or older than
    CONN_MAX_AGE, keep the others, as Django does around each request.
    Eager tasks run inside their caller's transaction and are left alone."""
    if sender is not None and not getattr(sender.request, "is_eager", False):
        close_old_connections()


@app.task(name="icpsite.ping")
def ping_task() -> dict[str, str]:
    """Answer from a worker with its host and the database it is connected to.

    Operators use it to check that workers are up and share the web's
    database: `python manage.py shell -c "from icpsite.celery import
    ping_task; print(ping_task.delay().get(10))"`.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"hostname": socket.gethostname(), "database": str(connection.settings_dict["NAME"])}
