"""API keys on the wire (the rate they are held to is icpsite.api.throttling's).

`Authorization: Bearer <key>` authenticates as the key's person. A read key
is refused on any request that writes (POST, PUT, PATCH, DELETE) on every
endpoint, before the view runs; a write key likewise where AdminKeyToWrite
guards the writes (traits), which need an admin key. Requests without the
header fall through to the session (the browser). Anonymous requests answer
401 with `WWW-Authenticate: Bearer`, because this class comes first.
"""

from __future__ import annotations

import logging
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from typing_extensions import override

from profiles.models import User
from scoring.api_keys import api_key_check
from scoring.models import ApiKey

logger = logging.getLogger(__name__)


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

    @override
    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class AdminKeyToWrite(BasePermission):
    """On an endpoint that changes what the account base is made of (traits):
    a request made with an API key writes only with an admin key. A signed-in
    person is held to their permissions alone, as in the admin."""

    @override
    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if request.method in SAFE_METHODS or not isinstance(key, ApiKey) or key.can_administer:
            return True
        self.message = (
            f"The API key {key.prefix!r} is a {key.scope} key; declaring, changing and "
            "removing traits needs an admin key."
        )
        return False


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """The key in the OpenAPI schema, as HTTP bearer authentication."""

    target_class = "scoring.api.auth.ApiKeyAuthentication"
    name = "apiKey"

    @override
    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key made by staff in the admin or with "
            "`manage.py api_key_create`; a read key may only GET, a write key also writes, "
            "and only an admin key declares and changes traits.",
        }
