"""Where a webhook may be sent: the one rule, checked when a subscription is
made or changed and again immediately before every delivery.

A target is an `https://` address (`http://` too when WEBHOOK_ALLOW_HTTP is
on) without a user name or password, whose host resolves to public addresses
only: every address the host resolves to must be globally routable, so none
is loopback, private, link-local (cloud metadata at 169.254.169.254),
multicast, reserved or unspecified, whether IPv4 or IPv6, and an IPv4
address wrapped in IPv6 (::ffff:127.0.0.1, 6to4, NAT64) is judged by the
IPv4 address inside. Otherwise the worker would POST signed payloads into
the site's own network, and the delivery log's status and error text would
map it like a port scanner.

The check resolves the host itself and a delivery connects to exactly the
addresses it approved, so a name cannot be pointed elsewhere between the
check and the connection. Hosts named in WEBHOOK_ALLOWED_HOSTS (as written
in the URL, a name or an IP address) skip the address rule: an on-premises
receiver, or a test's own server.

Settings are read at each call, never at import.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

PUBLIC_ONLY = (
    "webhooks go to public addresses only (an internal host must be listed in "
    "WEBHOOK_ALLOWED_HOSTS)"
)
# IPv4 written the way inet_aton reads it: one to four parts, each decimal,
# octal (a leading 0) or hexadecimal (0x), e.g. 2130706433 or 0x7f.1.
NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$")
HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")
# NAT64's well-known prefix: the last 32 bits are the IPv4 address reached.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class TargetRefusedError(Exception):
    """The address breaks the rule; `reason` says how, for the person who gave it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TargetUnresolvedError(TargetRefusedError):
    """The host did not resolve: refused when subscribing, retried when delivering
    (a resolver can be down for a while)."""


@dataclass(frozen=True)
class Target:
    """An approved address: connect to one of `addresses`, nowhere else."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def _kind(address: IPAddress) -> str | None:
    """What keeps `address` from being public, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            kind = _kind(inner)
            return f"{kind} ({inner} inside IPv6)" if kind else None
        if address.is_site_local:
            return "a site-local address"
    for flag, kind in (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "an address that is not publicly routable"),
    ):
        if flag:
            return kind
    return None


def _literal(host: str) -> IPAddress | None:
    """The host as an IP address if it is written as one, in any notation the
    resolver accepts (so 2130706433 and 0x7f.1 are 127.0.0.1)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise TargetRefusedError(f"{host} is not a valid IP address.") from None
    return None


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetUnresolvedError(
            f"{host} does not resolve ({exc}); give an address that does."
        ) from None
    addresses = tuple(
        dict.fromkeys(
            str(info[4][0]) for info in found if info[0] in (socket.AF_INET, socket.AF_INET6)
        )
    )
    if not addresses:
        raise TargetUnresolvedError(f"{host} does not resolve to an IP address.")
    return addresses


def _allowed_hosts() -> set[str]:
    names: list[str] = getattr(settings, "WEBHOOK_ALLOWED_HOSTS", [])
    return {name.strip().lower().rstrip(".").strip("[]") for name in names if name.strip()}


def target_check(url: str) -> Target:
    """The address `url` may be delivered to, resolved now; TargetRefusedError
    (with the reason) when the rule says no."""
    parts, port = _parsed(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = (parts.hostname or "").rstrip(".")
    literal = _literal(host)
    if literal is None:
        host = _host_name(host)
    allowed = host in _allowed_hosts()
    if literal is not None:
        if not allowed and (kind := _kind(literal)):
            raise TargetRefusedError(f"{host} is {kind}; {PUBLIC_ONLY}.")
        return Target(parts.scheme, host, port, path, (str(literal),))
    if not allowed and (host == "localhost" or host.endswith(".localhost")):
        raise TargetRefusedError(f"{host} is this machine, a loopback address; {PUBLIC_ONLY}.")
    addresses = _resolve(host, port)
    if not allowed:
        for address in addresses:
            kind = _kind(ipaddress.ip_address(address))
            if kind:
                raise TargetRefusedError(f"{host} resolves to {address}, {kind}; {PUBLIC_ONLY}.")
    return Target(parts.scheme, host, port, path, addresses)


def _parsed(url: str) -> tuple[SplitResult, int]:
    """The address split into its parts and its port (the scheme's when it
    has none), or TargetRefusedError for what no webhook address may have."""
    allow_http = bool(getattr(settings, "WEBHOOK_ALLOW_HTTP", False))
    url = url.strip()
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise TargetRefusedError("Remove the spaces and control characters from the address.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefusedError(f"{url!r} is not a valid address ({exc}).") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise TargetRefusedError(
            "Give an https:// address."
            if not allow_http
            else "Give an https:// or http:// address."
        )
    if "@" in parts.netloc:
        raise TargetRefusedError(
            "Leave the user name and password (user@host) out of the address; the "
            "receiver checks the signature instead."
        )
    if not (parts.hostname or "").rstrip("."):
        raise TargetRefusedError("The address has no host.")
    if port == 0:
        raise TargetRefusedError("Port 0 is not a port; give one from 1 to 65535.")
    return parts, port or (443 if parts.scheme == "https" else 80)


def _host_name(host: str) -> str:
    """A host name in its ASCII (IDNA) form, or TargetRefusedError."""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise TargetRefusedError(f"{host} is not a valid host name.") from None
    if not HOST_NAME.match(host):
        raise TargetRefusedError(f"{host} is not a valid host name.")
    return host


# --- Connecting to the approved addresses only --------------------------------


class _Pinned:
    """Stands in for socket.create_connection: dials the approved addresses
    in turn, with no lookup at all (create_connection would resolve again)."""

    def __init__(self, addresses: tuple[str, ...]) -> None:
        self.addresses = addresses

    def __call__(
        self, address: tuple[str, int], timeout: float | None = None, source: Any = None
    ) -> socket.socket:
        error: OSError = OSError("No address to connect to.")
        for ip in self.addresses:
            family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                if source:
                    sock.bind(source)
                sock.connect((ip, address[1]))
            except OSError as exc:
                sock.close()
                error = exc
            else:
                return sock
        raise error


def target_connection(target: Target, *, timeout: float) -> http.client.HTTPConnection:
    """An HTTP(S) connection to `target` that connects only to its checked
    addresses; TLS still verifies the certificate against the host name.
    http.client follows no redirects."""
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    # http.client's own hook for how it dials; it has no public one.
    connection._create_connection = _Pinned(target.addresses)  # type: ignore[attr-defined]  # noqa: SLF001
    return connection
