"""The Celery application.

Worker:  celery -A icpsite worker --loglevel=INFO
Beat:    celery -A icpsite beat --loglevel=INFO
Configuration comes from the CELERY_* names in icpsite/settings.py.
"""

import logging
import os
import socket
from typing import Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections, connection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icpsite.settings")

app = Celery("icpsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


def task_send(task: Task, *args: Any) -> bool:
    """Hand `task` with `args` to the broker; whether it was.

    Meant for on-commit hooks and requests, which must answer whether or
    not Redis does: a broker that does not answer costs about a second (the
    timeouts and publish retries in settings), then a warning is logged and
    False returned, and the caller leaves a mark for the sweep on beat to
    send it later. No result is asked for: with a result backend on Redis,
    asking subscribes to the result first, and a down Redis made that wait
    19 s (twenty reconnections) before the send was even tried. Eager mode
    (no REDIS_URL) runs the task here and lets its errors through.
    """
    if task.app.conf.task_always_eager:
        task.apply_async(args)
        return True
    try:
        task.apply_async(args, ignore_result=True)
    except Exception as exc:  # whatever the transport raises, the caller goes on
        logger.warning(
            "Task %s%r not sent, the broker does not answer (%s: %s); "
            "the sweep on beat sends it once it does.",
            task.name,
            args,
            type(exc).__name__,
            exc,
        )
        return False
    return True


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
    connection.ensure_connection()
    if not connection.is_usable():
        raise ConnectionError("The worker's database connection was lost.")
    return {"hostname": socket.gethostname(), "database": str(connection.settings_dict["NAME"])}
