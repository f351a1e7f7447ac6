"""URL safety through the API: hostile targets refused with a clear 422, public ones accepted.

The app here runs as in production (``allow_local_urls=False``). DNS is a fake table, so the
tests are the same with or without a network.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from livehook.config import Settings
from tests.support.app import in_process_client, running_services
from tests.support.http import auth, data, error

FAKE_DNS: dict[str, list[str]] = {
    "public.acme.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "private.acme.example": ["10.0.0.5"],
    "loopback.acme.example": ["127.0.0.1"],
    "loopback6.acme.example": ["::1"],
    "metadata.acme.example": ["169.254.169.254"],
    "mixed.acme.example": ["93.184.215.14", "192.168.0.10"],  # a DNS-rebinding shape
    "mapped.acme.example": ["::ffff:10.1.2.3"],
}

# (URL, a phrase the message must contain): each one is refused with 422.
HOSTILE: list[tuple[str, str]] = [
    ("https://127.0.0.1/", "127.0.0.1 is a loopback address"),
    ("https://127.0.0.1:8443/hook", "127.0.0.1 is a loopback address"),
    ("https://[::1]/", "::1 is a loopback address"),
    ("https://169.254.169.254/latest/meta-data", "169.254.169.254 is a cloud metadata address"),
    ("https://169.254.1.1/", "link-local"),
    ("https://[fd00:ec2::254]/", "cloud metadata"),
    ("https://100.100.100.200/", "cloud metadata"),
    ("http://example.com/", "must use https"),
    ("ftp://example.com/", "must use https"),
    ("javascript:alert(1)", "must be absolute"),
    ("https://user:pass@example.com/", "user info"),
    ("https://user@example.com/", "user info"),
    ("https://10.0.0.1/", "10.0.0.1 is a private address"),
    ("https://172.16.5.4/", "172.16.5.4 is a private address"),
    ("https://192.168.1.1/", "192.168.1.1 is a private address"),
    ("https://100.64.0.1/", "carrier-grade NAT"),
    ("https://0.0.0.0/", '"this network"'),
    ("https://0/", '"this network"'),
    ("https://224.0.0.1/", "multicast"),
    ("https://240.0.0.1/", "reserved"),
    ("https://255.255.255.255/", "broadcast"),
    ("https://192.0.2.1/", "documentation"),
    ("https://[fe80::1]/", "fe80::1 is a link-local address"),
    ("https://[fe80::1%25eth0]/", "zone identifier"),
    ("https://[fc00::1]/", "unique local (private)"),
    ("https://[fd12:3456::1]/", "unique local (private)"),
    ("https://[ff02::1]/", "multicast"),
    ("https://[::ffff:127.0.0.1]/", "IPv4-mapped form of 127.0.0.1, a loopback address"),
    ("https://[::ffff:169.254.169.254]/", "cloud metadata"),
    ("https://[64:ff9b::7f00:1]/", "NAT64 form of 127.0.0.1"),
    ("https://[::]/", "unspecified"),
    ("https://2130706433/", "2130706433 (that is 127.0.0.1) is a loopback address"),
    ("https://017700000001/", "(that is 127.0.0.1) is a loopback"),
    ("https://0177.0.0.1/", "0177.0.0.1 (that is 127.0.0.1) is a loopback address"),
    ("https://0x7f.0.0.1/", "0x7f.0.0.1 (that is 127.0.0.1) is a loopback address"),
    ("https://0x7f000001/", "0x7f000001 (that is 127.0.0.1) is a loopback address"),
    ("https://127.1/", "127.1 (that is 127.0.0.1) is a loopback address"),
    ("https://0xa9fea9fe/", "(that is 169.254.169.254) is a cloud metadata"),
    (
        "https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/",
        "(that is 127.0.0.1) is a loopback",
    ),  # full-width
    ("https://%31%32%37.0.0.1/", "percent-encoded"),
    ("https://localhost/", "localhost is a local hostname"),
    ("HTTPS://LOCALHOST./", "localhost is a local hostname"),
    ("https://foo.localhost/", "foo.localhost is a local hostname"),
    ("https://printer.local/", "local hostname"),
    ("https://metadata.google.internal/", "metadata.google.internal is a local hostname"),
    ("https://intranet/", "single-label"),
    ("https://example.com/" + "a" * 3000, "2048"),
    ("not a url", "spaces"),
    ("notaurl", "must be absolute"),
    ("https:///nohost", "must include a host"),
    ("https://", "must include a host"),
    ("https://[::1/", "unclosed"),
    ("https://example.com:0/", "port must be a number from 1 to 65535"),
    ("https://example.com:99999/", "port must be a number from 1 to 65535"),
    ("https://example.com\\@127.0.0.1/", "backslash"),
    ("https://example.com/#frag", "fragment"),
    ("https://exa\tmple.com/", "control characters"),
    ("https://private.acme.example/", "10.0.0.5 is a private address (resolved from"),
    ("https://loopback.acme.example/", "127.0.0.1 is a loopback address (resolved from"),
    ("https://loopback6.acme.example/", "::1 is a loopback address"),
    ("https://metadata.acme.example/", "169.254.169.254 is a cloud metadata address"),
    ("https://mixed.acme.example/", "192.168.0.10 is a private address"),
    ("https://mapped.acme.example/", "IPv4-mapped form of 10.1.2.3"),
]

PUBLIC = [
    ("https://example.com/hook", "https://example.com/hook"),
    ("https://93.184.215.14/x", "https://93.184.215.14/x"),
    ("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/x", None),
    ("https://public.acme.example:8443/hooks?v=2", "https://public.acme.example:8443/hooks?v=2"),
    ("https://does-not-exist-livehook-test.invalid/", None),
    ("https://EXAMPLE.org", "https://example.org/"),
    ("https://bücher.example/hook", "https://xn--bcher-kva.example/hook"),
]


@pytest.fixture(autouse=True)
async def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names in FAKE_DNS resolve to their table entry, other names to nothing (NXDOMAIN)."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def getaddrinfo(host: Any, port: Any, **kwargs: Any) -> Any:
        if host in FAKE_DNS:
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port),
                )
                for a in FAKE_DNS[host]
            ]
        if isinstance(host, str) and host.replace(".", "").isdigit():
            return await real(host, port, **kwargs)  # the PostgreSQL driver connects by IP
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)


@pytest.fixture
def strict_settings(settings: Settings) -> Settings:
    return settings.replace(allow_local_urls=False)


@pytest.fixture
async def strict(strict_settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A production-like client (no local URLs) and a full-access key."""
    async with running_services(strict_settings) as services:
        key = (await services.keys.create(account_name="acme")).plaintext
        async with in_process_client(strict_settings, services) as c:
            yield c, key


def test_the_hostile_table_is_large_and_has_no_repeats() -> None:
    assert len(HOSTILE) >= 30 and len({url for url, _ in HOSTILE}) == len(HOSTILE)


async def test_every_hostile_url_is_refused_with_a_clear_422(
    strict: tuple[httpx.AsyncClient, str],
) -> None:
    client, key = strict
    wrong: list[str] = []
    for url, phrase in HOSTILE:
        response = await client.post("/v1/webhooks", json={"url": url}, headers=auth(key))
        body = response.json()
        if response.status_code != 422 or body["success"] or phrase not in body["message"]:
            wrong.append(f"{url[:60]!r}: {response.status_code} {body.get('message')!r}")
    assert wrong == []
    assert data(await client.get("/v1/webhooks", headers=auth(key)))["items"] == []


async def test_every_hostile_url_is_refused_by_patch_too(
    strict: tuple[httpx.AsyncClient, str],
) -> None:
    client, key = strict
    created = data(
        await client.post("/v1/webhooks", json={"url": PUBLIC[0][0]}, headers=auth(key)), 201
    )
    path = f"/v1/webhooks/{created['id']}"
    wrong: list[str] = []
    for url, phrase in HOSTILE:
        response = await client.patch(path, json={"url": url}, headers=auth(key))
        body = response.json()
        if response.status_code != 422 or phrase not in body["message"]:
            wrong.append(f"{url[:60]!r}: {response.status_code} {body.get('message')!r}")
    assert wrong == []
    assert data(await client.get(path, headers=auth(key)))["url"] == created["url"]


async def test_address_refusals_say_what_to_do_instead(
    strict: tuple[httpx.AsyncClient, str],
) -> None:
    client, key = strict
    for url in ("https://127.0.0.1/", "https://[::1]/", "https://169.254.169.254/"):
        response = await client.post("/v1/webhooks", json={"url": url}, headers=auth(key))
        body = error(response, 422, "invalid_request")
        assert "webhooks must target a public address" in body["message"], body
        assert body["details"] == {"field": "url"}


@pytest.mark.parametrize(("url", "stored"), PUBLIC)
async def test_ordinary_public_urls_are_accepted(
    strict: tuple[httpx.AsyncClient, str], url: str, stored: str | None
) -> None:
    client, key = strict
    created = data(await client.post("/v1/webhooks", json={"url": url}, headers=auth(key)), 201)
    assert created["url"] == (stored or url)


async def test_local_development_setting_allows_http_and_loopback_but_not_metadata(
    client: httpx.AsyncClient, full_key: str
) -> None:
    """The ``client`` fixture runs with allow_local_urls=True."""
    for url in ("http://localhost:8080/hook", "http://127.0.0.1:9000/", "https://10.1.2.3/"):
        data(await client.post("/v1/webhooks", json={"url": url}, headers=auth(full_key)), 201)
    for url, phrase in (
        ("https://169.254.169.254/", "cloud metadata"),
        ("https://[fe80::1]/", "link-local"),
        ("https://100.64.0.1/", "carrier-grade NAT"),
        ("https://0.0.0.0/", '"this network"'),
        ("ftp://localhost/", "must use https or http"),
        ("https://metadata.acme.example/", "cloud metadata"),
    ):
        response = await client.post("/v1/webhooks", json={"url": url}, headers=auth(full_key))
        assert phrase in error(response, 422)["message"], url


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://localhost:3000/hooks", True),
        ("https://127.0.0.1:8443/hook", True),
        ("https://private.acme.example/", True),
        ("https://metadata.acme.example/", False),  # refused even for local development
        ("notaurl", False),
    ],
)
async def test_a_refusal_only_for_being_local_says_how_to_allow_it(
    strict: tuple[httpx.AsyncClient, str], url: str, named: bool
) -> None:
    client, key = strict
    response = await client.post("/v1/webhooks", json={"url": url}, headers=auth(key))
    assert response.status_code == 422
    message = response.json()["message"]
    assert ("LIVEHOOK_ALLOW_LOCAL_URLS=true" in message) is named
    assert ("livehook listen --forward-to" in message) is named
