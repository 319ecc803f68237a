"""Request bodies: JSON only, read strictly, every endpoint alike.

Form and multipart bodies carry every value as text, so a client's wrong
type (a number where text belongs) could not be told from a right one.

A hostile body costs no more than its size: duplicate keys are found with a
set as each object is built (counting each key in a list was quadratic, 30 s
for 80,000 keys), and nesting is measured by a linear scan before the
recursive parser runs (1,000 levels exhausted Python's stack, a 500).
"""

from __future__ import annotations

import json
import re
from typing import Any

from rest_framework import exceptions, parsers, status
from typing_extensions import override

from icpsite.text import text_problem

# The largest request body accepted, in bytes: 1,000 full account rows fit with room.
MAX_BODY_BYTES = 8 * 1024 * 1024

# The deepest nesting of arrays and objects a body may have. The deepest
# request the API takes (a row's traits holding a list) is 4 levels.
MAX_DEPTH = 64

_BRACKETS = re.compile(r'[\[\]{}"]')


class PayloadTooLargeError(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The body is larger than {MAX_BODY_BYTES // 1024 // 1024} MB."
    default_code = "payload_too_large"


class StrictJSONParser(parsers.JSONParser):
    """JSON without duplicate keys and without NaN or Infinity, which other
    parsers read differently; either is a 400 naming the problem."""

    @override
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
            found: dict[str, Any] = {}
            for key, value in items:
                if key in found:
                    raise ValueError(f"the key {key!r} appears twice in one object")
                problem = text_problem(key)
                if problem is not None:
                    raise ValueError(f"the key {key!r} {problem}")
                found[key] = value
            return found

        def constant(name: str) -> None:
            raise ValueError(f"{name} is not a JSON number")

        try:
            text = stream.read(MAX_BODY_BYTES + 1)
            if len(text) > MAX_BODY_BYTES:
                raise PayloadTooLargeError
            if isinstance(text, bytes):
                text = text.decode(json.detect_encoding(text), "surrogatepass")
            check_depth(text)
            return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}.") from None


def check_depth(text: str) -> None:
    """ValueError when arrays and objects nest deeper than MAX_DEPTH.

    One pass over the brackets and quotes, skipping what is inside strings
    (an escaped quote does not end one), so the cost is linear in the size
    and the recursive parser never meets a body it cannot finish.
    """
    depth = 0
    position = 0
    while True:
        found = _BRACKETS.search(text, position)
        if found is None:
            return
        char = found.group()
        position = found.end()
        if char == '"':
            while True:
                quote = text.find('"', position)
                if quote == -1:
                    return  # unterminated: json.loads names the problem
                backslashes = 0
                while text[quote - 1 - backslashes] == "\\":
                    backslashes += 1
                position = quote + 1
                if backslashes % 2 == 0:
                    break
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError(f"nested deeper than {MAX_DEPTH}")
        else:
            depth -= 1
