"""DNS resolution that only ever hands out addresses which passed ``address_problem``.

A name that resolves to several addresses is refused as a whole when any one of them is not a
valid target: a mix of public and private answers is the shape of a DNS-rebinding attempt, and
connecting to "the good one" would depend on which address the socket layer tries first.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Protocol

from livehook.domain.addresses import (
    PUBLIC_HINT,
    IPAddress,
    TargetURL,
    UnsafeURLError,
    address_problem,
    check_url,
)

# Registration waits this long for DNS before accepting the URL unresolved (send time rechecks).
REGISTRATION_DNS_TIMEOUT_SECONDS = 5.0

# (family, type, proto, canonical name, sockaddr) as ``loop.getaddrinfo`` returns them.
AddrInfo = tuple[int, int, int, str, tuple[str | int | bytes, ...]]


class GetAddrInfo(Protocol):
    """The shape of ``loop.getaddrinfo``; tests pass a fake to answer without DNS."""

    def __call__(
        self, host: str, port: int, *, family: int = ..., type: int = ...
    ) -> Awaitable[Sequence[AddrInfo]]: ...


class UnresolvableHostError(Exception):
    """The name does not resolve (NXDOMAIN, no records, or the lookup failed)."""

    def __init__(self, host: str, detail: str | None = None) -> None:
        self.host = host
        super().__init__(f"could not resolve {host}" + (f" ({detail})" if detail else ""))


@dataclass(frozen=True, slots=True)
class ResolvedAddress:
    """One checked answer: ``host`` is the numeric address as the socket layer spelled it."""

    ip: IPAddress
    host: str
    port: int
    family: int
    proto: int


async def resolve_checked(
    host: str,
    port: int,
    *,
    allow_local: bool,
    family: int = socket.AF_UNSPEC,
    getaddrinfo: GetAddrInfo | None = None,
) -> list[ResolvedAddress]:
    """Resolve ``host``; raise ``UnsafeURLError`` if any answer is not a valid target."""
    lookup: GetAddrInfo = getaddrinfo or asyncio.get_running_loop().getaddrinfo
    try:
        infos = await lookup(host, port, family=family, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHostError(host, _gai_detail(exc)) from None
    resolved: dict[str, ResolvedAddress] = {}
    for info_family, _type, proto, _canonical, sockaddr in infos:
        if info_family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = str(sockaddr[0])
        ip = ip_address(address)
        problem = address_problem(ip, allow_local=allow_local)
        if problem is not None:
            raise UnsafeURLError(f"{ip} is {problem} (resolved from {host})", hint=PUBLIC_HINT)
        answer = ResolvedAddress(ip, address, port, info_family, proto)
        resolved.setdefault(address, answer)
    if not resolved:
        raise UnresolvableHostError(host, "no addresses")
    return list(resolved.values())


async def check_url_resolves_safely(
    url: str,
    *,
    allow_local: bool,
    getaddrinfo: GetAddrInfo | None = None,
    dns_timeout: float = REGISTRATION_DNS_TIMEOUT_SECONDS,
) -> TargetURL:
    """Registration check: the URL rules, then DNS.

    A name that does not resolve now (or not within ``dns_timeout`` seconds) is accepted:
    receivers often register before their DNS is live, and every send checks again. A name that
    resolves to a non-public address is refused with ``UnsafeURLError``.
    """
    target = check_url(url, allow_local=allow_local)
    if target.literal_ip is not None:
        return target
    with contextlib.suppress(UnresolvableHostError, TimeoutError):
        async with asyncio.timeout(dns_timeout):
            await resolve_checked(
                target.host, target.port, allow_local=allow_local, getaddrinfo=getaddrinfo
            )
    return target


def _gai_detail(exc: Exception) -> str | None:
    if isinstance(exc, socket.gaierror) and exc.strerror:
        return exc.strerror.rstrip(".").lower()
    return None
