"""What every view under /api/v1/ shares, whichever app it belongs to.

- Errors in one shape: the services' exceptions translated by
  api_exception_handler ({"detail": ...} or field -> messages).
- The query checked before the view runs: each action names the serializer
  of the parameters it takes in `query_serializers` (an action without one
  takes none), and any other parameter is a 400 naming the accepted ones.
  The view reads the checked values from `self.query`.
- Answers that can always be written: a message that echoes a client's lone
  surrogate is escaped rather than failing as UTF-8 (a 500).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rest_framework import renderers, serializers
from rest_framework.request import Request

from icpsite.api.errors import api_exception_handler
from icpsite.api.params import valid_query

# The serializer of the query parameters each action takes, by action name.
QuerySerializers = Mapping[str, type[serializers.Serializer[Any]]]


class JSONRenderer(renderers.JSONRenderer):
    """DRF's renderer, falling back to \\u escapes for text that is not
    valid Unicode (a lone surrogate a client sent and an error names)."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _ASCIIJSONRenderer().render(data, accepted_media_type, renderer_context)


class _ASCIIJSONRenderer(renderers.JSONRenderer):
    ensure_ascii = True


class ApiViewMixin:
    """Mixed into every API view and viewset, before DRF's class."""

    renderer_classes: Any = (JSONRenderer, renderers.BrowsableAPIRenderer)
    query_serializers: ClassVar[QuerySerializers] = {}
    query: Any

    def get_exception_handler(self) -> Any:
        return api_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        method = (request.method or "").lower()
        if getattr(self, method, None) is None:
            return  # no handler: DRF answers 405, whatever the query
        name = getattr(self, "action", None) or method
        filterset = getattr(self, "filterset_class", None) if name == "list" else None
        self.query = valid_query(
            request,
            self.query_serializers.get(name),
            also=filterset.base_filters if filterset else (),
        )
