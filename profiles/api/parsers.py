"""Request bodies: JSON only, read strictly, every endpoint alike.

Form and multipart bodies carry every value as text, so a client's wrong
type (a number where text belongs) could not be told from a right one.
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework import exceptions, parsers, status

# The largest request body accepted, in bytes: 1,000 full account rows fit with room.
MAX_BODY_BYTES = 8 * 1024 * 1024


class PayloadTooLargeError(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The body is larger than {MAX_BODY_BYTES // 1024 // 1024} MB."
    default_code = "payload_too_large"


class StrictJSONParser(parsers.JSONParser):
    """JSON without duplicate keys and without NaN or Infinity, which other
    parsers read differently; either is a 400 naming the problem."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
            keys = [k for k, _ in items]
            twice = sorted({k for k in keys if keys.count(k) > 1})
            if twice:
                raise ValueError(f"the key {twice[0]!r} appears twice in one object")
            return dict(items)

        def constant(name: str) -> None:
            raise ValueError(f"{name} is not a JSON number")

        try:
            text = stream.read(MAX_BODY_BYTES + 1)
            if len(text) > MAX_BODY_BYTES:
                raise PayloadTooLargeError
            return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}.") from None
