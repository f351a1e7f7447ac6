"""The sender against a real aiohttp.web receiver on 127.0.0.1 (plain and TLS)."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from livehook.delivery.sender import RESPONSE_EXCERPT_BYTES, Sender
from livehook.sockets import bind_tcp
from tests.integration.test_resolver import FakeDNS

BODY = b'{"id":"evt_1","event":"verification.completed","data":{"verdict":"live","n":"\\u00e9"}}'
HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "Livehook-Webhook/1.0",
    "X-Webhook-Id": "evt_1",
    "X-Webhook-Signature": "sha256=" + "ab" * 32,
}
BIG = bytes(range(256)) * 40  # 10 KiB


@dataclass
class Receiver:
    """A webhook receiver with one route per behaviour; records every request it gets."""

    port: int
    tls_port: int
    seen: list[web.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    peers: list[object] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def tls_url(self, path: str, host: str) -> str:
        return f"https://{host}:{self.tls_port}{path}"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/echo", self.echo)
        app.router.add_post("/redirect", self.redirect)
        app.router.add_post("/big", self.big)
        app.router.add_post("/endless", self.endless)
        app.router.add_post("/hang", self.hang)
        app.router.add_post("/busy", self.busy)
        return app

    async def record(self, request: web.Request) -> None:
        self.seen.append(request)
        self.bodies.append(await request.read())
        assert request.transport is not None
        self.peers.append(request.transport.get_extra_info("peername"))

    async def echo(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(status=200, body=b"thanks")

    async def redirect(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(status=302, headers={"Location": "/echo"})

    async def big(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(status=200, body=BIG)

    async def endless(self, request: web.Request) -> web.StreamResponse:
        await self.record(request)
        response = web.StreamResponse(headers={"Content-Length": str(1 << 30)})
        await response.prepare(request)
        chunk = b"x" * 65536
        try:
            while not self.release.is_set():
                await response.write(chunk)
        except ConnectionError:
            pass  # the sender hung up after its excerpt, as it should
        return response

    async def hang(self, request: web.Request) -> web.Response:
        await self.record(request)
        await self.release.wait()
        return web.Response(status=200)

    async def busy(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(status=429, headers={"Retry-After": "120"}, text="slow down")


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    server_context: ssl.SSLContext


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Certificates]:
    """A private CA and a server certificate for hooks.test only."""
    directory = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "livehook test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.test")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.test")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = (
        directory / "ca.pem",
        directory / "cert.pem",
        directory / "key.pem",
    )
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    yield Certificates(ca_file, server_context)


@pytest.fixture
async def receiver(certificates: Certificates) -> AsyncIterator[Receiver]:
    plain, tls = bind_tcp("127.0.0.1", 0), bind_tcp("127.0.0.1", 0)
    state = Receiver(port=plain.getsockname()[1], tls_port=tls.getsockname()[1])
    runner = web.AppRunner(state.app(), handler_cancellation=True)
    await runner.setup()
    await web.SockSite(runner, plain).start()
    await web.SockSite(runner, tls, ssl_context=certificates.server_context).start()
    yield state
    state.release.set()
    await runner.cleanup()


@pytest.fixture
async def local_sender() -> AsyncIterator[Sender]:
    async with Sender(allow_local=True) as sender:
        yield sender


async def test_body_and_headers_arrive_exactly_as_given(
    receiver: Receiver, local_sender: Sender
) -> None:
    result = await local_sender.send(receiver.url("/echo"), BODY, HEADERS, timeout=5.0)
    assert (result.status, result.body_excerpt, result.error) == (200, b"thanks", None)
    assert receiver.bodies == [BODY]
    sent = [(name.decode(), value.decode()) for name, value in receiver.seen[0].raw_headers]
    assert sorted(sent) == sorted(
        [
            *HEADERS.items(),
            ("Host", f"127.0.0.1:{receiver.port}"),
            ("Content-Length", str(len(BODY))),
        ]
    )


async def test_requests_to_one_host_reuse_one_connection(
    receiver: Receiver, local_sender: Sender
) -> None:
    for _ in range(3):
        assert (await local_sender.send(receiver.url("/echo"), BODY, HEADERS, 5.0)).status == 200
    assert len(set(receiver.peers)) == 1


async def test_redirect_is_returned_not_followed(receiver: Receiver, local_sender: Sender) -> None:
    result = await local_sender.send(receiver.url("/redirect"), BODY, HEADERS, timeout=5.0)
    assert result.status == 302
    assert result.headers["Location"] == "/echo"
    assert [request.path for request in receiver.seen] == ["/redirect"]


async def test_response_body_is_kept_to_its_first_4096_bytes(
    receiver: Receiver, local_sender: Sender
) -> None:
    result = await local_sender.send(receiver.url("/big"), BODY, HEADERS, timeout=5.0)
    assert result.status == 200
    assert result.body_excerpt == BIG[:RESPONSE_EXCERPT_BYTES]
    assert result.headers["Content-Length"] == str(len(BIG))


async def test_a_gigabyte_response_is_not_read_past_the_excerpt(
    receiver: Receiver, local_sender: Sender
) -> None:
    """Reading on would only end at the 5 s timeout, which would set ``error``."""
    result = await local_sender.send(receiver.url("/endless"), BODY, HEADERS, timeout=5.0)
    assert (result.status, result.body_excerpt, result.error) == (200, b"x" * 4096, None)


async def test_hanging_endpoint_times_out_on_time_and_says_so(
    receiver: Receiver, local_sender: Sender
) -> None:
    """The hang never ends: only the sender's own timeout can return (the outer guard is 10 s,
    a hang guard, not a measure of time)."""
    send = local_sender.send(receiver.url("/hang"), BODY, HEADERS, timeout=0.5)
    result = await asyncio.wait_for(send, 10)
    assert result.timed_out is True
    assert result.status is None
    assert result.error == "timed out after 0.5 s"
    assert [request.path for request in receiver.seen] == ["/hang"]
    assert not receiver.release.is_set()  # still hanging: the answer came from the timeout


async def test_connection_refused_is_a_result_not_an_exception(local_sender: Sender) -> None:
    closed = bind_tcp("127.0.0.1", 0)
    port = closed.getsockname()[1]
    closed.close()
    result = await local_sender.send(f"http://127.0.0.1:{port}/", BODY, HEADERS, timeout=5.0)
    assert (result.status, result.error, result.timed_out) == (None, "connection refused", False)


async def _serve_raw(answer: bytes) -> asyncio.Server:
    """A TCP server that reads the request head, writes ``answer`` and hangs up."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"", "server closed the connection without answering"),
        (b"SMTP READY\r\n\r\n", "invalid HTTP response"),
    ],
)
async def test_broken_answers_are_results_with_a_plain_error(
    local_sender: Sender, answer: bytes, error: str
) -> None:
    server = await _serve_raw(answer)
    port = server.sockets[0].getsockname()[1]
    async with server:
        result = await local_sender.send(f"http://127.0.0.1:{port}/", BODY, HEADERS, 5.0)
    assert (result.status, result.error, result.timed_out) == (None, error, False)


async def test_retry_after_is_captured_with_the_status(
    receiver: Receiver, local_sender: Sender
) -> None:
    result = await local_sender.send(receiver.url("/busy"), BODY, HEADERS, timeout=5.0)
    assert (result.status, result.retry_after, result.body_excerpt) == (429, "120", b"slow down")
    assert result.succeeded is False


async def test_header_injection_attempt_is_a_result_that_does_not_echo_the_value(
    receiver: Receiver, local_sender: Sender
) -> None:
    headers = {**HEADERS, "X-Custom": "secret-value\r\nX-Injected: 1"}
    result = await local_sender.send(receiver.url("/echo"), BODY, headers, timeout=5.0)
    assert result.error == "invalid request header (control character in a name or value)"
    assert receiver.seen == []


async def test_name_connects_to_the_address_its_checked_resolver_returned(
    receiver: Receiver,
) -> None:
    dns = FakeDNS({"hooks.test": ["127.0.0.1"]})
    async with Sender(allow_local=True, getaddrinfo=dns) as sender:
        result = await sender.send(receiver.url("/echo", "hooks.test"), BODY, HEADERS, 5.0)
    assert result.status == 200
    assert receiver.seen[0].headers["Host"] == f"hooks.test:{receiver.port}"
    assert dns.lookups == [("hooks.test", receiver.port)]


async def test_dns_rebinding_to_loopback_is_refused_without_connecting(receiver: Receiver) -> None:
    dns = FakeDNS({"rebind.example": ["127.0.0.1"]})
    async with Sender(allow_local=False, getaddrinfo=dns) as sender:
        result = await sender.send(
            f"https://rebind.example:{receiver.port}/echo", BODY, HEADERS, timeout=5.0
        )
    assert result.error == "refused: 127.0.0.1 is a loopback address (resolved from rebind.example)"
    assert result.status is None
    assert dns.lookups == [("rebind.example", receiver.port)]
    assert receiver.seen == []


async def test_name_resolving_to_a_public_and_a_private_address_is_refused(
    receiver: Receiver,
) -> None:
    dns = FakeDNS({"mixed.example": ["93.184.215.14", "10.0.0.5"]})
    async with Sender(getaddrinfo=dns) as sender:
        result = await sender.send("https://mixed.example/", BODY, HEADERS, timeout=5.0)
    assert result.error == "refused: 10.0.0.5 is a private address (resolved from mixed.example)"
    assert receiver.seen == []


async def test_production_sender_refuses_loopback_literals_without_connecting(
    receiver: Receiver,
) -> None:
    async with Sender(allow_local=False) as sender:
        plain = await sender.send(receiver.url("/echo"), BODY, HEADERS, timeout=5.0)
        tls = await sender.send(receiver.tls_url("/echo", "127.0.0.1"), BODY, HEADERS, 5.0)
        legacy = await sender.send(f"https://2130706433:{receiver.tls_port}/", BODY, HEADERS, 5.0)
    assert plain.error == "refused: URL must use https"
    assert tls.error == "refused: 127.0.0.1 is a loopback address"
    assert legacy.error == "refused: 2130706433 (that is 127.0.0.1) is a loopback address"
    assert receiver.seen == []


async def test_unresolvable_name_is_reported_as_such() -> None:
    async with Sender(getaddrinfo=FakeDNS({})) as sender:
        result = await sender.send("https://nowhere.example/", BODY, HEADERS, timeout=5.0)
    assert result.error == "could not resolve nowhere.example (name or service not known)"


async def test_untrusted_certificate_fails_verification(
    receiver: Receiver, local_sender: Sender
) -> None:
    result = await local_sender.send(receiver.tls_url("/echo", "127.0.0.1"), BODY, HEADERS, 5.0)
    assert result.error == "TLS certificate verify failed (unable to get local issuer certificate)"
    assert receiver.seen == []


async def test_tls_verifies_the_url_hostname_not_the_resolved_address(
    receiver: Receiver, certificates: Certificates
) -> None:
    trusting = ssl.create_default_context(cafile=certificates.ca_file)
    dns = FakeDNS({"hooks.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    async with Sender(allow_local=True, getaddrinfo=dns, ssl_context=trusting) as sender:
        right = await sender.send(receiver.tls_url("/echo", "hooks.test"), BODY, HEADERS, 5.0)
        wrong = await sender.send(receiver.tls_url("/echo", "other.test"), BODY, HEADERS, 5.0)
    assert (right.status, right.error) == (200, None)
    assert wrong.status is None
    assert wrong.error is not None
    assert wrong.error.startswith("TLS certificate verify failed (Hostname mismatch")
    assert len(receiver.seen) == 1


async def test_tls_to_a_plain_http_port_is_a_handshake_failure(
    receiver: Receiver, local_sender: Sender
) -> None:
    result = await local_sender.send(f"https://127.0.0.1:{receiver.port}/", BODY, HEADERS, 5.0)
    assert result.error is not None
    assert result.error.startswith("TLS handshake failed")


def test_a_context_that_does_not_verify_is_refused() -> None:
    with pytest.raises(ValueError, match="must verify certificates and hostnames"):
        Sender(ssl_context=ssl._create_unverified_context())


async def test_close_is_idempotent_and_a_closed_sender_reopens_on_use(receiver: Receiver) -> None:
    sender = Sender(allow_local=True)
    await sender.close()
    assert (await sender.send(receiver.url("/echo"), BODY, HEADERS, 5.0)).status == 200
    await sender.close()
    await sender.close()
