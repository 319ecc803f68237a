"""What a browser may keep of a signed-in person's pages: nothing.

Every answer to a signed-in request is sent with Django's never-cache
headers (`Cache-Control: max-age=0, no-cache, no-store, must-revalidate,
private`), unless the view set its own. Without them, Back after an edit
showed the draft as it was before, at its old revision, and the next save
from that page conflicted with the person's own change; and a shared
computer kept a signed-in person's pages on disk.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers


class NeverCacheSignedInMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.has_header("Cache-Control") and _signed_in(request):
            add_never_cache_headers(response)
        return response


def _signed_in(request: HttpRequest) -> bool:
    """Whether a person is signed in; False when the database that says so
    does not answer (the answer then is the health check's or an error
    page, which must still go out)."""
    user = getattr(request, "user", None)
    try:
        return bool(user is not None and user.is_authenticated)
    except DatabaseError:
        return False
