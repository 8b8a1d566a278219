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


def _public(address: IpAddress) -> bool:
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    if mapped is not None:
        return _public(mapped)
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
    default = 443 if parts.scheme == "https" else 80
    return parts, parts.hostname, port or default


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
