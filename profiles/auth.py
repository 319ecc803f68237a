"""Signing in: the backend that takes a username or an email address, and
the hooks django-axes calls to throttle sign-ins (see AXES_* in settings)."""

import ipaddress
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from typing_extensions import override

from profiles.models import User


def _user_named(name: str) -> User | None:
    field = "email__iexact" if "@" in name else "username"
    return User.objects.filter(**{field: name}).first()


class UsernameOrEmailBackend(ModelBackend):
    """Sign in with either the username or the email address."""

    @override
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None or password is None:
            return None
        user = _user_named(username)
        if user is None:
            # Spend the same time hashing as for a real user, so response
            # times do not reveal which usernames exist.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def sign_in_name(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The name failed sign-ins are counted under: the person's username,
    whether they typed it or their email address in any case, so switching
    between the two earns no extra tries. A name nobody has counts as typed
    (an email address in lower case)."""
    typed = (credentials or request.POST).get("username")
    if not typed:
        return None
    user = _user_named(typed)
    if user is not None:
        return user.username
    return typed.lower() if "@" in typed else typed


def client_address(request: HttpRequest) -> str | None:
    """The address a request came from. Behind TRUSTED_PROXY_COUNT proxies
    that each append to X-Forwarded-For, the entry the outermost one wrote;
    entries to its left were written by the client and are never trusted."""
    remote: str | None = request.META.get("REMOTE_ADDR")
    count = int(settings.TRUSTED_PROXY_COUNT)
    if count <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    if len(hops) < count:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return remote


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None,  # noqa: ARG001 (django-axes's signature)
    credentials: dict[str, Any],  # noqa: ARG001
) -> HttpResponse:
    """The page for a sign-in refused by the lockout: 429, saying when to try
    again (each try while locked out starts the cool-off anew) and
    Retry-After in seconds."""
    cool_off: timedelta | None = settings.AXES_COOLOFF_TIME
    context: dict[str, Any] = {"failure_limit": settings.AXES_FAILURE_LIMIT}
    if cool_off is not None:
        context["cool_off_minutes"] = max(1, round(cool_off.total_seconds() / 60))
        context["try_again_at"] = timezone.now() + cool_off
    response = render(request, "registration/locked_out.html", context, status=429)
    if cool_off is not None:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
