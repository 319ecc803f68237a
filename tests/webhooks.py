"""A webhook receiver for tests, and the checks of what it received."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scoring.models import WebhookSubscription
from scoring.webhooks import webhook_subscription_create

SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    """A tiny HTTP server that records each POST and answers `statuses` in turn (then 200)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def subscribe(url: str, *events: str) -> WebhookSubscription:
    return webhook_subscription_create(actor=None, url=url, events=events, secret=SECRET)


def verify(request: dict[str, Any]) -> dict[str, Any]:
    headers, body = request["headers"], request["body"]
    stamp = headers["X-Icpsite-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Icpsite-Signature"] == f"sha256={expected}"
    assert headers["Content-Type"] == "application/json"
    payload: dict[str, Any] = json.loads(body)
    assert headers["X-Icpsite-Event"] == payload["event"]
    return payload
