"""How the services' refusals reach an API client.

Services raise Django's exceptions; these become DRF responses:
PermissionDenied -> 403 with the policy's reason, ValidationError -> 400
keyed by field name. An app whose services raise an exception of their own
registers its answer with `answer_with` (profiles: a stale revision -> 409).

`answers` documents an endpoint's responses from the same error bodies, so
every app under /api/v1/ describes a 400 or a 404 alike.
"""

from collections.abc import Callable
from typing import Any, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from icpsite.refusals import error_messages

ExceptionHandler = Callable[[Exception, dict[str, Any]], Response | None]


def validation_error_body(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A service's ValidationError as DRF shapes errors: field name -> messages."""
    key = api_settings.NON_FIELD_ERRORS_KEY
    return {(name or key): messages for name, messages in error_messages(exc).items()}


_ANSWERS: dict[type[Exception], Callable[[Any], Response]] = {}


def answer_with(exc_type: type[Exception], respond: Callable[[Any], Response]) -> None:
    """Have `respond(exc)` answer the exceptions of `exc_type` (from an app's
    AppConfig.ready, so every view knows them whichever app's URL loads first)."""
    _ANSWERS[exc_type] = respond


def conflict_response(exc: Exception) -> Response:
    """A refusal for the state of things rather than the request (something
    in use, or being written): 409 with the exception's words as the detail."""
    return Response({"detail": str(exc)}, status=409)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Translate the services' exceptions, then defer to the configured handler."""
    for exc_type, respond in _ANSWERS.items():
        if isinstance(exc, exc_type):
            return respond(exc)
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


# --- Documented answers -----------------------------------------------------

BAD_REQUEST = OpenApiResponse(
    dict[str, Any],
    description="The request is wrong: a body that is not JSON, an unknown field or "
    "parameter, a wrong type. Each key names a field or query parameter "
    "(non_field_errors: the request as a whole; detail: a body that could not be read) "
    "and holds what to do about it.",
    examples=[
        OpenApiExample(
            "A field is wrong",
            value={"points": ["Points must be a whole number from 0 to 100."]},
        ),
        OpenApiExample(
            "Malformed JSON",
            value={
                "detail": "The body is not valid JSON: Expecting value: line 1 column 1 (char 0)."
            },
        ),
        OpenApiExample(
            "Nested too deep",
            value={"detail": "The body is not valid JSON: nested deeper than 64."},
        ),
        OpenApiExample(
            "A misspelt parameter",
            value={
                "changed_sinse": [
                    "Unknown parameter; this endpoint takes profile, page_size, changed_since, "
                    "until, after, tier, effective_tier, score_min, score_max, overridden, "
                    "version."
                ]
            },
        ),
    ],
)
UNAUTHORIZED = OpenApiResponse(
    ErrorDetailSerializer,
    description="No valid credentials: send `Authorization: Bearer <key>`.",
    examples=[
        OpenApiExample("No key", value={"detail": "Authentication credentials were not provided."})
    ],
)
FORBIDDEN = OpenApiResponse(
    ErrorDetailSerializer,
    description="Not allowed: a read key on a write, or a person who may not do this; the "
    "detail says why.",
    examples=[
        OpenApiExample(
            "Read key",
            value={"detail": "The API key 'a1b2c3d4e5' may only read; writing needs a write key."},
        ),
        OpenApiExample(
            "Not a member of the team",
            value={"detail": "You are not a member of Sales, so you cannot speak for it."},
        ),
    ],
)
NOT_FOUND = OpenApiResponse(
    ErrorDetailSerializer,
    description="No such item at this address, or an id that cannot be one.",
    examples=[OpenApiExample("No such version", value={"detail": "Mid-market SaaS has no v9."})],
)
TOO_LARGE = OpenApiResponse(ErrorDetailSerializer, description="The body is over 8 MB.")
UNSUPPORTED = OpenApiResponse(ErrorDetailSerializer, description="Send application/json.")
THROTTLED = OpenApiResponse(
    ErrorDetailSerializer,
    description="Over the key's rate (API_THROTTLE_RATE); wait the `Retry-After` seconds.",
    examples=[
        OpenApiExample(
            "Slow down",
            value={"detail": "Request was throttled. Expected available in 12 seconds."},
        )
    ],
)
ERRORS = {
    400: BAD_REQUEST,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    413: TOO_LARGE,
    415: UNSUPPORTED,
    429: THROTTLED,
}


def answers(
    ok: Any, *codes: int, ok_status: int = 200, own: dict[int, Any] | None = None
) -> dict[int, Any]:
    """The documented responses of an endpoint: the success body, the listed
    error codes, and 400 (an unknown query parameter), 401 and 429, which any
    request may meet. `own` describes a code the endpoint answers differently
    from the rest of the API."""
    errors = {**ERRORS, **(own or {})}
    return {ok_status: ok, **{code: errors[code] for code in (*codes, 400, 401, 429)}}
