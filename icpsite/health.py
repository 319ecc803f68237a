"""Liveness for load balancers and compose.

Anyone gets only `ok` (200) or `unavailable` (503): the reason names hosts,
ports and databases, which a stranger has no business knowing. Signed-in
staff also get each check's result: the database, the cache and the broker.

Only the database makes it 503. Without Redis the site stays up (the API
rate is not counted, figures are worked out uncached, tasks wait for the
sweep), so a load balancer that took every web process out because Redis is
down would turn a degraded site into no site. Each check gives up within
about a second (REDIS_CONNECT_TIMEOUT, REDIS_SOCKET_TIMEOUT).
"""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from icpsite.celery import app as celery_app

# Seconds the broker check waits for a connection.
BROKER_CHECK_SECONDS = 1


def _error(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def database_error() -> str | None:
    """Why the database does not answer, or None when it does."""
    try:
        connection.ensure_connection()
        if not connection.is_usable():  # Django's own round trip to the server
            connection.close()
            return "The connection to the database was lost."
    except Exception as exc:  # any database failure makes the instance unhealthy
        return _error(exc)
    return None


def cache_error() -> str | None:
    """Why the cache does not store and return a value, or None when it does."""
    key = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "ok", 10)
        found = cache.get(key)
        cache.delete(key)
    except Exception as exc:  # any cache failure is reported, not raised
        return _error(exc)
    return None if found == "ok" else "the cache did not return what was stored"


def broker_error() -> str | None:
    """Why the broker does not take a connection, or None when it does (or
    when there is none: without REDIS_URL tasks run in-process)."""
    if celery_app.conf.task_always_eager:
        return None
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=1, timeout=BROKER_CHECK_SECONDS
            )
    except Exception as exc:  # any broker failure is reported, not raised
        return _error(exc)
    return None


def _is_staff(request: HttpRequest) -> bool:
    """Whether the caller is signed-in staff. Sessions live in the database,
    so when it is down nobody can be recognised, and nobody gets details."""
    try:
        return bool(request.user.is_authenticated and request.user.is_staff)
    except DatabaseError:
        return False


@require_GET
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    error = database_error()
    body: dict[str, object] = {"status": "ok" if error is None else "unavailable"}
    if _is_staff(request):
        body["checks"] = {
            "database": error or "ok",
            "cache": cache_error() or "ok",
            "broker": broker_error() or "ok",
        }
    return JsonResponse(body, status=200 if error is None else 503)
