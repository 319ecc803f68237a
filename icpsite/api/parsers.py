"""Request bodies: JSON only, read strictly, every endpoint alike.

Form and multipart bodies carry every value as text, so a client's wrong
type (a number where text belongs) could not be told from a right one.

A hostile body costs no more than its size: duplicate keys are found with a
set as each object is built (counting each key in a list was quadratic, 30 s
for 80,000 keys), each distinct key is checked once, and nesting is
measured over the parsed body; a body nested past the recursive parser's own
guard (about 1,000 levels, once a 500) is refused by that guard.
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework import exceptions, parsers, status
from typing_extensions import override

from icpsite.text import text_problem

# The largest request body accepted, in bytes: 1,000 full account rows fit with room.
MAX_BODY_BYTES = 8 * 1024 * 1024

# The deepest nesting of arrays and objects a body may have. The deepest
# request the API takes (a row's traits holding a list) is 4 levels.
MAX_DEPTH = 64


class PayloadTooLargeError(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The body is larger than {MAX_BODY_BYTES // 1024 // 1024} MB."
    default_code = "payload_too_large"


class StrictJSONParser(parsers.JSONParser):
    """JSON without duplicate keys and without NaN or Infinity, which other
    parsers read differently; either is a 400 naming the problem."""

    @override
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        checked: set[str] = set()  # keys already found storable (rows repeat theirs)

        def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
            found = dict(items)
            if len(found) != len(items):
                seen: set[str] = set()
                for key, _ in items:
                    if key in seen:
                        raise ValueError(f"the key {key!r} appears twice in one object")
                    seen.add(key)
            for key in found.keys() - checked:
                problem = text_problem(key)
                if problem is not None:
                    raise ValueError(f"the key {key!r} {problem}")
                checked.add(key)
            return found

        def constant(name: str) -> None:
            raise ValueError(f"{name} is not a JSON number")

        try:
            text = stream.read(MAX_BODY_BYTES + 1)
            if len(text) > MAX_BODY_BYTES:
                raise PayloadTooLargeError
            if isinstance(text, bytes):
                text = text.decode(json.detect_encoding(text), "surrogatepass")
            try:
                value = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
            except RecursionError:  # the parser's own guard, far past MAX_DEPTH
                raise ValueError(f"nested deeper than {MAX_DEPTH}") from None
            check_depth(value)
            return value
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}.") from None


def check_depth(value: Any) -> None:
    """ValueError when the parsed body's arrays and objects nest deeper
    than MAX_DEPTH: one pass over its containers, with a stack of its own."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH}")
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
