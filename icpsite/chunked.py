"""Request bodies sent in chunks (Transfer-Encoding: chunked), read whole.

gunicorn decodes a chunked body but, having no Content-Length to pass on,
leaves CONTENT_LENGTH out, and Django then reads the body as empty: a
bulk upsert answered "accounts: This field is required" and a 10 MB body
got the same instead of 413. This WSGI middleware reads such a body up to
`limit` bytes and hands it on with its length, as if the client had sent
Content-Length; a larger one answers 413 before Django sees it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Bytes asked of the server per read.
READ_STEP = 64 * 1024


def _is_chunked(environ: dict[str, Any]) -> bool:
    coding = str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    return "chunked" in coding and not environ.get("CONTENT_LENGTH")


def _read(stream: Any, limit: int) -> bytes | None:
    """Up to `limit` bytes of the body; None when there are more."""
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        part = stream.read(min(READ_STEP, limit + 1 - size))
        if not part:
            return b"".join(parts)
        parts.append(part)
        size += len(part)
    return None


class ChunkedBodies:
    """Wraps a WSGI application; see the module's docstring."""

    def __init__(self, app: WSGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if _is_chunked(environ):
            body = _read(environ["wsgi.input"], self.limit)
            if body is None:
                return self._too_large(environ, start_response)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    def _too_large(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        detail = f"The body is larger than {self.limit // 1024 // 1024} MB."
        if str(environ.get("PATH_INFO", "")).startswith("/api/"):
            body, kind = json.dumps({"detail": detail}).encode(), "application/json"
        else:
            body, kind = detail.encode(), "text/plain; charset=utf-8"
        headers = [
            ("Content-Type", kind),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
        ]
        start_response("413 Request Entity Too Large", headers)
        return [body]
