"""API keys on the wire, and the per-key request rate.

`Authorization: Bearer <key>` authenticates as the key's person. A read key
is refused on any request that writes (POST, PUT, PATCH, DELETE) on every
endpoint, before the view runs. Requests without the header fall through to
the session (the browser). Anonymous requests answer 401 with
`WWW-Authenticate: Bearer`, because this class comes first.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from profiles.models import User
from scoring.api_keys import api_key_check
from scoring.models import ApiKey


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the key as 'Authorization: Bearer <key>', with nothing after it."
            )
        try:
            plaintext = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The API key is not valid.") from None
        key = api_key_check(plaintext)
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is not valid or has been revoked.")
        if not key.user.is_active:
            raise exceptions.AuthenticationFailed("The API key's user is deactivated.")
        if request.method not in SAFE_METHODS and not key.can_write:
            raise exceptions.PermissionDenied(
                f"The API key {key.prefix!r} may only read; writing needs a write key."
            )
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiKeyRateThrottle(SimpleRateThrottle):
    """API_THROTTLE_RATE requests per key (or per signed-in person), counted
    in the cache, so every web process shares the count when Redis is set.
    Over the rate: 429 with Retry-After."""

    scope = "api"

    def get_rate(self) -> str | None:
        return str(settings.API_THROTTLE_RATE) or None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """The key in the OpenAPI schema, as HTTP bearer authentication."""

    target_class = "scoring.api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key made by staff in the admin or with "
            "`manage.py api_key_create`; a read key may only GET.",
        }
