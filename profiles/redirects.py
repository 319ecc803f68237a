"""Where a page sends the browser after a form: the `next` it was given, if
that stays on this site.

A `next` comes from the request, so anyone can write one into a link or a
form; followed blindly, it turns this site into a springboard to another
(a login lookalike, say). Django's LoginView checks its own `next`; every
other view that honours one goes through `redirect_to_next`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def next_url(request: HttpRequest, field: str = "next") -> str | None:
    """The request's `next` (the form's, else the query string's) when it
    points at this site, over https if the request came over https; None
    when there is none or it points elsewhere."""
    target = request.POST.get(field) or request.GET.get(field) or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def redirect_to_next(
    request: HttpRequest, default: str, *args: Any, **kwargs: Any
) -> HttpResponseRedirect:
    """Redirect to the request's `next` if it stays on this site, else to
    `default` (a URL name with its arguments, or a path)."""
    return HttpResponseRedirect(next_url(request) or resolve_url(default, *args, **kwargs))
