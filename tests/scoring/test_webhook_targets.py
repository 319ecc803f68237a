"""Where webhooks may go: public https addresses only, checked when a
subscription is made and again, with the host resolved anew, right before
each delivery, which then connects to the addresses it checked."""

import http.client
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from scoring.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from scoring.tasks import webhook_deliver_task
from scoring.webhook_targets import (
    Target,
    TargetRefusedError,
    TargetUnresolvedError,
    target_check,
    target_connection,
)
from scoring.webhooks import webhook_subscription_create, webhook_subscription_update

PUBLIC = "93.184.215.14"
SECRET = "s3cret-s3cret-s3cret"

Answers = dict[str, list[str]]


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: Answers) -> list[str]:
    """socket.getaddrinfo answers the names in `answers` (a name missing from
    it does not resolve); returns the names asked, in order. The dict may be
    changed later: DNS switched after the check."""
    asked: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, int(port or 0)),
            )
            for ip in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


REFUSED_LITERALS = [
    ("https://127.0.0.1/hooks", "127.0.0.1 is a loopback address"),
    ("https://127.1.2.3:8443/", "127.1.2.3 is a loopback address"),
    ("https://[::1]/hooks", "::1 is a loopback address"),
    ("https://0.0.0.0/", "0.0.0.0 is an unspecified address"),
    ("https://[::]/", ":: is an unspecified address"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("https://[fe80::1]/", "fe80::1 is a link-local address"),
    ("https://10.0.0.5/", "10.0.0.5 is a private address"),
    ("https://172.16.0.1/", "172.16.0.1 is a private address"),
    ("https://192.168.1.1/", "192.168.1.1 is a private address"),
    ("https://[fd00::1]/", "fd00::1 is a private address"),
    ("https://224.0.0.1/", "224.0.0.1 is a multicast address"),
    ("https://[ff02::1]/", "ff02::1 is a multicast address"),
    ("https://240.0.0.1/", "240.0.0.1 is a reserved address"),
    ("https://100.64.0.1/", "100.64.0.1 is an address that is not publicly routable"),
    ("https://[::ffff:127.0.0.1]/", "a loopback address (127.0.0.1 inside IPv6)"),
    ("https://[::ffff:a9fe:a9fe]/", "a link-local address (169.254.169.254 inside IPv6)"),
    ("https://[2002:7f00:1::]/", "a loopback address (127.0.0.1 inside IPv6)"),
    ("https://[64:ff9b::a00:5]/", "a private address (10.0.0.5 inside IPv6)"),
    ("https://2130706433/", "2130706433 is a loopback address"),
    ("https://0x7f.1/", "0x7f.1 is a loopback address"),
    ("https://017700000001/", "017700000001 is a loopback address"),
    ("https://127.0.0.1./", "127.0.0.1 is a loopback address"),
    ("https://localhost:8000/admin/", "localhost is this machine, a loopback address"),
    ("https://localhost./", "localhost is this machine, a loopback address"),
    ("https://api.localhost/", "api.localhost is this machine, a loopback address"),
    ("https://evil@example.com/", "Leave the user name and password"),
    ("https://evil:pw@127.0.0.1/", "Leave the user name and password"),
    ("http://hooks.example/", "Give an https:// address."),
    ("ftp://hooks.example/", "Give an https:// address."),
    ("https:///nohost", "The address has no host."),
    ("https://hooks.example:0/", "Port 0 is not a port"),
    ("https://hooks.example:99999/", "is not a valid address"),
    ("https://hooks.example/a b", "Remove the spaces and control characters"),
    ("https://hooks.example/\r\nHost: x", "Remove the spaces and control characters"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED_LITERALS)
def test_it_refuses_addresses_that_are_not_public_https(url: str, reason: str) -> None:
    with pytest.raises(TargetRefusedError) as refused:
        target_check(url)
    assert reason in refused.value.reason


def test_it_names_the_address_a_host_resolves_to_and_why_it_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_dns(monkeypatch, {"intranet.example": ["10.1.2.3"]})
    with pytest.raises(TargetRefusedError) as refused:
        target_check("https://intranet.example/hooks")
    assert refused.value.reason == (
        "intranet.example resolves to 10.1.2.3, a private address; webhooks go to public "
        "addresses only (an internal host must be listed in WEBHOOK_ALLOWED_HOSTS)."
    )


def test_it_refuses_a_host_when_any_of_its_addresses_is_internal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_dns(monkeypatch, {"mixed.example": [PUBLIC, "::ffff:127.0.0.1"]})
    with pytest.raises(TargetRefusedError, match=r"resolves to ::ffff:127\.0\.0\.1, a loopback"):
        target_check("https://mixed.example/")


def test_it_resolves_a_trailing_dot_name_and_judges_what_it_resolves_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = fake_dns(monkeypatch, {"sneaky.example": ["127.0.0.1"]})
    with pytest.raises(TargetRefusedError, match=r"sneaky\.example resolves to 127\.0\.0\.1"):
        target_check("https://sneaky.example./")
    assert asked == ["sneaky.example"]


def test_it_refuses_a_host_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {})
    with pytest.raises(TargetUnresolvedError, match=r"nowhere\.example does not resolve"):
        target_check("https://nowhere.example/")


def test_it_accepts_a_public_https_address_and_keeps_the_addresses_it_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_dns(monkeypatch, {"crm.example": [PUBLIC, "2606:2800:220:1::1"]})
    target = target_check("https://CRM.example/hooks/icp?team=ops#frag")
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "crm.example",
        443,
        "/hooks/icp?team=ops",
    )
    assert target.addresses == (PUBLIC, "2606:2800:220:1::1")


def test_http_needs_the_setting(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"crm.example": [PUBLIC]})
    settings.WEBHOOK_ALLOW_HTTP = True
    assert target_check("http://crm.example:8080/").port == 8080
    with pytest.raises(TargetRefusedError, match="a loopback address"):
        target_check("http://127.0.0.1:8080/")


def test_allowed_hosts_let_named_internal_hosts_through(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"hooks.internal": ["10.0.0.7"]})
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.internal", "[::1]"]
    assert target_check("https://hooks.internal./in").addresses == ("10.0.0.7",)
    assert target_check("https://[::1]:8443/").addresses == ("::1",)
    with pytest.raises(TargetRefusedError, match="a loopback address"):
        target_check("https://127.0.0.1/")
    with pytest.raises(TargetRefusedError, match="user name and password"):
        target_check("https://x@hooks.internal/")


# --- At subscribe time, through the service ----------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://0.0.0.0/",
        "https://169.254.169.254/",
        "https://localhost:8000/admin/",
        "https://[::ffff:127.0.0.1]/",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://evil@127.0.0.1/",
    ],
)
def test_the_service_stores_no_subscription_to_a_refused_address(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        webhook_subscription_create(actor=None, url=url, events=["version.approved"])
    assert list(refused.value.message_dict) == ["url"]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
def test_changing_the_address_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"crm.example": [PUBLIC]})
    made = webhook_subscription_create(
        actor=None, url="https://crm.example/", events=["version.approved"]
    )
    with pytest.raises(ValidationError, match="a link-local address"):
        webhook_subscription_update(actor=None, subscription=made, url="https://169.254.169.254/")
    made.refresh_from_db()
    assert made.url == "https://crm.example/"


@pytest.mark.django_db
def test_a_subscription_whose_host_stopped_resolving_can_still_be_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dns = {"crm.example": [PUBLIC]}
    fake_dns(monkeypatch, dns)
    made = webhook_subscription_create(
        actor=None, url="https://crm.example/", events=["version.approved"]
    )
    del dns["crm.example"]
    webhook_subscription_update(actor=None, subscription=made, is_active=False)
    made.refresh_from_db()
    assert made.is_active is False


# --- At delivery time ----------------------------------------------------------------


class Receiver:
    """A local HTTP server recording each POST; answers `status` with `headers`."""

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.received: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(self.path)
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _pending_delivery(url: str) -> WebhookDelivery:
    subscription = WebhookSubscription.objects.create(
        url=url, secret=SECRET, events=["override.accepted"]
    )
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event="override.accepted",
        event_id="00000000-0000-0000-0000-000000000001",
        payload={"event": "override.accepted"},
    )


@pytest.mark.django_db
def test_a_delivery_whose_host_now_resolves_inside_is_refused_unsent_and_not_retried(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    dns = {"crm.example": [PUBLIC]}
    asked = fake_dns(monkeypatch, dns)
    subscription = webhook_subscription_create(
        actor=None, url="https://crm.example/hooks", events=["override.accepted"]
    )
    dns["crm.example"] = ["127.0.0.1"]
    connects: list[Any] = []
    monkeypatch.setattr(socket.socket, "connect", lambda *a: connects.append(a))
    from scoring.webhooks import webhooks_emit

    with django_capture_on_commit_callbacks(execute=True):
        [delivery_id] = webhooks_emit("override.accepted", {"account": "crm-1"})
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.subscription == subscription
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        DeliveryStatus.REFUSED,
        0,
        None,
    )
    assert delivery.last_error == (
        "Not sent: crm.example resolves to 127.0.0.1, a loopback address; webhooks go to "
        "public addresses only (an internal host must be listed in WEBHOOK_ALLOWED_HOSTS)."
    )
    assert delivery.last_attempt_at is not None
    assert asked == ["crm.example", "crm.example"]
    assert connects == []
    assert webhook_deliver_task.delay(delivery_id).get() == "nothing to send"


@pytest.mark.django_db
def test_a_delivery_to_an_address_refused_since_is_refused_without_a_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = fake_dns(monkeypatch, {})
    delivery = _pending_delivery("http://127.0.0.1:9/hooks")
    assert webhook_deliver_task.delay(delivery.pk).get() == "refused"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.REFUSED
    assert delivery.last_error == "Not sent: Give an https:// address."
    assert asked == []


@pytest.mark.django_db
def test_a_delivery_connects_to_the_address_it_checked_not_a_second_lookup(
    settings: Any, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    """The name resolves once, when checked; a second answer (a DNS rebind
    to another address) is never asked for."""
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.internal"]
    answers = iter([["127.0.0.1"], ["10.9.9.9"]])
    asked: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in next(answers)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    delivery = _pending_delivery(f"http://hooks.internal:{receiver.port}/in")
    assert webhook_deliver_task.delay(delivery.pk).get() == "succeeded"
    assert receiver.received == ["/in"]
    assert asked == ["hooks.internal"]


@pytest.mark.django_db
def test_a_redirect_is_not_followed(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    inside = Receiver()
    redirecting = Receiver(302, {"Location": f"http://127.0.0.1:{inside.port}/admin/"})
    try:
        delivery = _pending_delivery(f"http://127.0.0.1:{redirecting.port}/hooks")
        from scoring.webhooks import webhook_deliver

        after = webhook_deliver(delivery.pk)
    finally:
        inside.close()
        redirecting.close()
    assert after is not None
    assert (after.status, after.response_status) == (DeliveryStatus.PENDING, 302)
    assert after.last_error == "HTTP 302 Found; redirects are not followed"
    assert redirecting.received == ["/hooks"]
    assert inside.received == []


@pytest.mark.django_db
def test_the_connection_dials_the_checked_addresses_in_turn_without_a_lookup(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    """Nothing listens on 127.0.0.2 (the receiver is on 127.0.0.1 only), so
    the first address is refused and the second answers."""
    asked = fake_dns(monkeypatch, {})
    target = Target("http", "crm.example", receiver.port, "/in", ("127.0.0.2", "127.0.0.1"))
    connection = target_connection(target, timeout=5)
    connection.request("POST", target.path, body=b"{}")
    assert connection.getresponse().status == 200
    connection.close()
    assert receiver.received == ["/in"]
    assert asked == []
    https = target_connection(Target("https", "crm.example", 443, "/", (PUBLIC,)), timeout=5)
    assert isinstance(https, http.client.HTTPSConnection)
    assert https.host == "crm.example"


def test_the_settings_default_to_https_and_no_internal_hosts_and_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.settings_loader import load_settings

    monkeypatch.delenv("WEBHOOK_ALLOW_HTTP", raising=False)
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS", raising=False)
    plain = load_settings(monkeypatch)
    assert (plain.WEBHOOK_ALLOW_HTTP, plain.WEBHOOK_ALLOWED_HOSTS) == (False, [])
    on_premises = load_settings(
        monkeypatch, WEBHOOK_ALLOW_HTTP="true", WEBHOOK_ALLOWED_HOSTS="hooks.corp, 10.0.0.7,"
    )
    assert on_premises.WEBHOOK_ALLOW_HTTP is True
    assert on_premises.WEBHOOK_ALLOWED_HOSTS == ["hooks.corp", "10.0.0.7"]
