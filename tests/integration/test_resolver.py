"""DNS answers checked address by address, with a fake getaddrinfo standing in for DNS."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping, Sequence

import pytest

from livehook.delivery.resolver import (
    AddrInfo,
    UnresolvableHostError,
    check_url_resolves_safely,
    resolve_checked,
)
from livehook.domain.addresses import UnsafeURLError


class FakeDNS:
    """Answers from a table; unknown names fail like NXDOMAIN. Records every lookup."""

    def __init__(self, records: Mapping[str, Sequence[str]], *, delay: float = 0.0) -> None:
        self.records = records
        self.delay = delay
        self.lookups: list[tuple[str, int]] = []

    async def __call__(
        self, host: str, port: int, *, family: int = 0, type: int = 0
    ) -> list[AddrInfo]:
        self.lookups.append((host, port))
        await asyncio.sleep(self.delay)
        if host not in self.records:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        infos: list[AddrInfo] = []
        for address in self.records[host]:
            if ":" in address and family in (socket.AF_UNSPEC, socket.AF_INET6):
                infos.append((socket.AF_INET6, type, 6, "", (address, port, 0, 0)))
            elif ":" not in address and family in (socket.AF_UNSPEC, socket.AF_INET):
                infos.append((socket.AF_INET, type, 6, "", (address, port)))
        return infos


DNS = FakeDNS(
    {
        "public.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "twice.example": ["93.184.215.14", "93.184.215.14"],
        "private.example": ["10.0.0.5"],
        "metadata.example": ["169.254.169.254"],
        "mixed.example": ["93.184.215.14", "127.0.0.1"],
        "mapped.example": ["::ffff:192.168.1.1"],
        "nat64.example": ["64:ff9b::5db8:d70e"],
        "empty.example": [],
    }
)


async def resolved_hosts(host: str, port: int, *, allow_local: bool) -> list[str]:
    """The addresses ``host`` resolves to, all checked, as the sender connects to them."""
    answers = await resolve_checked(host, port, allow_local=allow_local, getaddrinfo=DNS)
    return [answer.host for answer in answers]


async def test_public_name_resolves_to_all_its_addresses() -> None:
    addresses = await resolved_hosts("public.example", 443, allow_local=False)
    assert addresses == ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]


async def test_lookup_passes_the_family_through() -> None:
    answers = await resolve_checked(
        "public.example", 443, allow_local=False, getaddrinfo=DNS, family=socket.AF_INET
    )
    assert [answer.host for answer in answers] == ["93.184.215.14"]


async def test_duplicate_answers_are_returned_once_with_family_and_port() -> None:
    answers = await resolve_checked("twice.example", 8443, allow_local=False, getaddrinfo=DNS)
    assert [(a.host, a.port, a.family) for a in answers] == [
        ("93.184.215.14", 8443, socket.AF_INET)
    ]


async def test_nat64_answer_for_a_public_address_is_accepted() -> None:
    addresses = await resolved_hosts("nat64.example", 443, allow_local=False)
    assert addresses == ["64:ff9b::5db8:d70e"]


async def test_name_resolving_to_a_private_address_is_refused_naming_it() -> None:
    with pytest.raises(UnsafeURLError) as refused:
        await resolved_hosts("private.example", 443, allow_local=False)
    assert refused.value.reason == "10.0.0.5 is a private address (resolved from private.example)"


async def test_name_resolving_to_a_mix_is_refused_as_a_whole() -> None:
    with pytest.raises(UnsafeURLError) as refused:
        await resolved_hosts("mixed.example", 443, allow_local=False)
    assert "127.0.0.1 is a loopback address (resolved from mixed.example)" in str(refused.value)


async def test_ipv4_mapped_answer_is_judged_by_its_ipv4_address() -> None:
    with pytest.raises(UnsafeURLError) as refused:
        await resolved_hosts("mapped.example", 443, allow_local=False)
    assert "IPv4-mapped form of 192.168.1.1, a private address" in str(refused.value)


async def test_allow_local_accepts_private_answers_but_never_metadata() -> None:
    assert await resolved_hosts("mixed.example", 80, allow_local=True) == [
        "93.184.215.14",
        "127.0.0.1",
    ]
    with pytest.raises(UnsafeURLError) as refused:
        await resolved_hosts("metadata.example", 80, allow_local=True)
    assert refused.value.reason.startswith("169.254.169.254 is a cloud metadata address")


@pytest.mark.parametrize("host", ["nxdomain.example", "empty.example"])
async def test_name_without_addresses_is_unresolvable(host: str) -> None:
    with pytest.raises(UnresolvableHostError) as failed:
        await resolved_hosts(host, 443, allow_local=False)
    assert failed.value.host == host
    assert str(failed.value).startswith(f"could not resolve {host}")


async def test_registration_accepts_a_name_that_does_not_resolve_yet() -> None:
    target = await check_url_resolves_safely(
        "https://nxdomain.example/hook", allow_local=False, getaddrinfo=DNS
    )
    assert target.url == "https://nxdomain.example/hook"


async def test_registration_accepts_when_dns_is_slower_than_its_timeout() -> None:
    slow = FakeDNS({"slow.example": ["10.0.0.5"]}, delay=5.0)
    target = await check_url_resolves_safely(
        "https://slow.example/", allow_local=False, getaddrinfo=slow, dns_timeout=0.05
    )
    assert target.host == "slow.example"


async def test_registration_refuses_a_name_that_resolves_to_a_private_address() -> None:
    with pytest.raises(UnsafeURLError) as refused:
        await check_url_resolves_safely(
            "https://private.example/hook", allow_local=False, getaddrinfo=DNS
        )
    assert str(refused.value) == (
        "10.0.0.5 is a private address (resolved from private.example); "
        "webhooks must target a public address"
    )


async def test_registration_checks_the_url_port_and_accepts_public_names() -> None:
    dns = FakeDNS(DNS.records)
    target = await check_url_resolves_safely(
        "https://public.example:8443/in", allow_local=False, getaddrinfo=dns
    )
    assert (target.host, target.port) == ("public.example", 8443)
    assert dns.lookups == [("public.example", 8443)]


async def test_registration_of_a_literal_ip_skips_dns() -> None:
    dns = FakeDNS({})
    target = await check_url_resolves_safely(
        "https://93.184.215.14/", allow_local=False, getaddrinfo=dns
    )
    assert str(target.literal_ip) == "93.184.215.14"
    assert dns.lookups == []


async def test_registration_runs_the_url_rules_before_dns() -> None:
    dns = FakeDNS({})
    with pytest.raises(UnsafeURLError, match="URL must use https"):
        await check_url_resolves_safely(
            "http://public.example/", allow_local=False, getaddrinfo=dns
        )
    assert dns.lookups == []
