"""Liveness for load balancers and compose.

Anyone gets only `ok` (200) or `unavailable` (503): the reason names hosts,
ports and databases, which a stranger has no business knowing. Signed-in
staff also get each check's result.
"""

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def database_error() -> str | None:
    """Why the database does not answer, or None when it does."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure makes the instance unhealthy
        return str(exc) or type(exc).__name__
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
        body["checks"] = {"database": error or "ok"}
    return JsonResponse(body, status=200 if error is None else 503)
