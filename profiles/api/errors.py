"""How the services' refusals reach an API client.

Services raise Django's exceptions; these become DRF responses:
PermissionDenied -> 403 with the policy's reason, ValidationError -> 400
keyed by field name, StaleRevisionError -> 409 with the current revision and
who changed what since the client's revision.
"""

from collections.abc import Callable
from typing import Any, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from profiles.services import StaleRevisionError

ExceptionHandler = Callable[[Exception, dict[str, Any]], Response | None]


def validation_error_body(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A service's ValidationError as DRF shapes errors: field name -> messages."""
    key = api_settings.NON_FIELD_ERRORS_KEY
    if hasattr(exc, "error_dict"):
        return {
            (key if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {key: exc.messages}


def stale_revision_body(exc: StaleRevisionError) -> dict[str, Any]:
    return {
        "detail": exc.messages[0],
        "code": "stale_revision",
        "current_revision": exc.current_revision,
        "based_on": exc.based_on,
        "changes": [
            {
                "actor": event.actor.username if event.actor else None,
                "verb": event.verb,
                "summary": event.summary,
                "revision": event.revision,
                "created_at": serializers.DateTimeField().to_representation(event.created_at),
            }
            for event in exc.events
        ],
    }


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Translate the services' exceptions, then defer to the configured handler."""
    if isinstance(exc, StaleRevisionError):
        return Response(stale_revision_body(exc), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_error_body(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    handler = cast(ExceptionHandler, api_settings.EXCEPTION_HANDLER)
    if handler is api_exception_handler:
        handler = drf_exception_handler
    return handler(exc, context)


# --- Error bodies, for the schema ------------------------------------------


class ErrorDetailSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()


class StaleChangeSerializer(serializers.Serializer[Any]):
    actor = serializers.CharField(allow_null=True)
    verb = serializers.CharField()
    summary = serializers.CharField()
    revision = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class StaleRevisionSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
    code = serializers.CharField()
    current_revision = serializers.IntegerField()
    based_on = serializers.IntegerField()
    changes = StaleChangeSerializer(many=True)
