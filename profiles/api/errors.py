"""The profiles API's own error: a stale revision answers 409 with the
current revision and who changed what since the client's (registered with
icpsite.api.errors.answer_with in ProfilesConfig.ready)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers, status
from rest_framework.response import Response

from icpsite.api.errors import answers as api_answers
from profiles.services import StaleRevisionError


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


def stale_revision_response(exc: StaleRevisionError) -> Response:
    return Response(stale_revision_body(exc), status=status.HTTP_409_CONFLICT)


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


STALE_REVISION = OpenApiResponse(
    StaleRevisionSerializer,
    description="The version changed after the revision the client sent, or moved to a "
    "status this cannot act on (approved, withdrawn, sent back to draft) since the client "
    "loaded it. Nothing was saved; the body says who changed what and gives the current "
    "revision to retry with.",
    examples=[
        OpenApiExample(
            "Edited in the meantime",
            value={
                "detail": "v2 changed after you loaded it (you had revision 6, it is now 7): "
                "Maya Marketer changed a criterion: Employees is between 150 and 2,000 "
                "(value). Your input is kept below; check the current state and save again.",
                "code": "stale_revision",
                "current_revision": 7,
                "based_on": 6,
                "changes": [
                    {
                        "actor": "marketer",
                        "verb": "criterion_changed",
                        "summary": "Employees is between 150 and 2,000 (value)",
                        "revision": 7,
                        "created_at": "2025-03-04T10:15:00Z",
                    }
                ],
            },
        ),
    ],
)


def answers(ok: Any, *codes: int, **options: Any) -> dict[int, Any]:
    """icpsite.api.errors.answers, with the profiles API's 409."""
    own = {409: STALE_REVISION, **options.pop("own", {})}
    return api_answers(ok, *codes, own=own, **options)
