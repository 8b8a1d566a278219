"""Where a webhook may be sent: public addresses only, unless the operator allows others.

A receiver's host name is resolved and every address it resolves to is checked (one private
address among public ones is enough to refuse it), at registration and again at each delivery,
since a name may resolve elsewhere later. Delivery then connects to an address checked here
(`Target.address`), so the name cannot be re-resolved in between.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from service.errors import InvalidInput

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedTarget(InvalidInput):
    """The URL is not one a webhook may be sent to."""


@dataclass(frozen=True, slots=True)
class Target:
    url: SplitResult
    host: str
    port: int
    address: IpAddress


# IPv6 prefixes whose addresses carry an IPv4 address in their last 32 bits (NAT64 well-known
# and local-use, IPv4-compatible, SIIT IPv4-translated): such an address reaches that IPv4 one.
_EMBEDDING_LAST_32 = tuple(
    ipaddress.IPv6Network(prefix)
    for prefix in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96")
)
# Deprecated site-local addresses: private, though not every Python says so.
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to (mapped, 6to4, Teredo and the prefixes
    above)."""
    found = [v4 for v4 in (address.ipv4_mapped, address.sixtofour) if v4 is not None]
    if address.teredo is not None:
        found.extend(address.teredo)  # the Teredo server and the client it leads to
    if any(address in network for network in _EMBEDDING_LAST_32):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address in _SITE_LOCAL:
            return False
        if not all(_public(v4) for v4 in _embedded_ipv4(address)):
            return False
    return address.is_global and not address.is_multicast


def parse(url: str) -> tuple[SplitResult, str, int]:
    """The URL split, its host and port; `RefusedTarget` when it is no http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedTarget(f"url: not a URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise RefusedTarget("url: must be http or https")
    if not parts.hostname:
        raise RefusedTarget("url: has no host")
    if parts.username is not None or parts.password is not None:
        raise RefusedTarget("url: must not carry credentials")
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    elif not 1 <= port <= 65535:
        raise RefusedTarget(f"url: port {port} is not a port (1 to 65535)")
    return parts, parts.hostname, port


def resolve(url: str, *, allow_private: bool) -> Target:
    """Check the URL and every address its host resolves to; the first of them to connect to.

    Raises `RefusedTarget` naming the reason: not http(s), unresolvable, or an address that is
    not public while `allow_private` is off (RETENTION_AUDIT_WEBHOOK_ALLOW_PRIVATE).
    """
    parts, host, port = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise RefusedTarget(f"url: host {host!r} does not resolve ({exc})") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise RefusedTarget(f"url: host {host!r} does not resolve")
    if not allow_private:
        for address in addresses:
            if not _public(address):
                raise RefusedTarget(
                    f"url: host {host!r} resolves to {address}, which is not a public address"
                    " (loopback, private, link-local or reserved); the operator may allow"
                    " such receivers with RETENTION_AUDIT_WEBHOOK_ALLOW_PRIVATE"
                )
    return Target(parts, host, port, addresses[0])
