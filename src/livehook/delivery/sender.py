"""The HTTP sender of the delivery worker: one POST per attempt, never an exception for the network.

aiohttp was chosen by measurement (``bench/http_clients.py``; httpx's pool is several times slower
under concurrency, encode/httpx#3215). The safety check lives in the connector: its resolver
returns only addresses that passed ``address_problem``, so the socket connects to exactly the
address that was checked and a DNS answer cannot change between check and connect. Literal IP
hosts never reach a resolver, so ``check_url`` judges them before the request.
"""

from __future__ import annotations

import errno
import functools
import math
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDictProxy
from yarl import URL

from livehook.delivery.resolver import GetAddrInfo, UnresolvableHostError, resolve_checked
from livehook.domain.addresses import UnsafeURLError, check_url
from livehook.domain.listening import is_listen_url

# The delivery contract: an attempt keeps the first 4 KiB of the response body.
RESPONSE_EXCERPT_BYTES = 4096
# aiohttp would otherwise add Accept, Accept-Encoding, its own User-Agent and, without ours, an
# octet-stream Content-Type: the receiver gets exactly the headers the delivery layer chose.
_SKIPPED_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
_NUMERIC_FLAGS = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
_ERRNO_MESSAGES = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by the server",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "connection timed out",
}
_NETWORK_ERRORS = (
    UnsafeURLError,
    UnresolvableHostError,
    TimeoutError,
    aiohttp.ClientError,
    OSError,
    ValueError,  # aiohttp refuses CR/LF in a header (a stored custom header): a result, not a crash
)


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one attempt produced. ``error`` is short, human-readable and holds no header value."""

    status: int | None
    headers: dict[str, str]
    body_excerpt: bytes
    duration_ms: float
    error: str | None
    timed_out: bool
    retry_after: str | None

    @property
    def succeeded(self) -> bool:
        """Only a 2xx answer counts as delivered."""
        return self.status is not None and 200 <= self.status < 300


# Sends one attempt another way than HTTP: (url, body, headers, timeout) -> result.
Relay = Callable[[str, bytes, Mapping[str, str], float], Awaitable[SendResult]]


class CheckedResolver(AbstractResolver):
    """aiohttp resolver that hands the connector only addresses that passed the check."""

    def __init__(self, *, allow_local: bool, getaddrinfo: GetAddrInfo | None = None) -> None:
        self._allow_local = allow_local
        self._getaddrinfo = getaddrinfo

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await resolve_checked(
            host, port, allow_local=self._allow_local, family=family, getaddrinfo=self._getaddrinfo
        )
        return [
            ResolveResult(
                hostname=host,
                host=answer.host,
                port=answer.port,
                family=answer.family,
                proto=answer.proto,
                flags=_NUMERIC_FLAGS,
            )
            for answer in answers
        ]

    async def close(self) -> None:
        return None


class Sender:
    """Posts webhook bodies over one pooled ``aiohttp.ClientSession``.

    The session is opened on first use (or by ``async with``) because aiohttp binds it to the
    running event loop. ``allow_local`` is the development setting of ``check_url``.
    ``ssl_context`` replaces the default verifying context (a private CA); it must still verify.
    """

    def __init__(
        self,
        *,
        allow_local: bool = False,
        limit: int = 500,
        limit_per_host: int = 100,
        dns_cache_seconds: int = 10,
        getaddrinfo: GetAddrInfo | None = None,
        ssl_context: ssl.SSLContext | None = None,
        relay: Relay | None = None,
    ) -> None:
        if limit < 1 or limit_per_host < 1:
            raise ValueError("limit and limit_per_host must be at least 1")
        if ssl_context is not None and not (
            ssl_context.check_hostname and ssl_context.verify_mode == ssl.CERT_REQUIRED
        ):
            raise ValueError("ssl_context must verify certificates and hostnames")
        self._allow_local = allow_local
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._dns_cache_seconds = dns_cache_seconds
        self._getaddrinfo = getaddrinfo
        self._ssl: ssl.SSLContext | bool = ssl_context or True
        self._client: aiohttp.ClientSession | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._relay = relay

    async def __aenter__(self) -> Sender:
        self._session()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def send(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float,  # noqa: ASYNC109 -- the per-attempt limit is the contract; aiohttp applies it
    ) -> SendResult:
        """POST ``body`` as is; redirects are not followed, TLS is verified."""
        if is_listen_url(url):  # down a `livehook listen` socket (delivery/relay.py)
            if self._relay is None:
                error = "livehook listen is served by the worker inside `livehook serve` only"
                return SendResult(None, {}, b"", 0.0, error, False, None)
            return await self._relay(url, body, headers, timeout)
        started = time.perf_counter()
        try:
            request_url = _checked_request_url(url, self._allow_local)
            client = self._client or self._session()
            async with client.post(
                request_url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=self._timeout(timeout),
            ) as response:
                excerpt = await _read_excerpt(response.content)
                return SendResult(
                    status=response.status,
                    headers=_flatten(response.headers),
                    body_excerpt=excerpt,
                    duration_ms=(time.perf_counter() - started) * 1000,
                    error=None,
                    timed_out=False,
                    retry_after=response.headers.get("Retry-After"),
                )
        except _NETWORK_ERRORS as exc:
            return SendResult(
                status=None,
                headers={},
                body_excerpt=b"",
                duration_ms=(time.perf_counter() - started) * 1000,
                error=describe_error(exc, timeout),
                timed_out=isinstance(exc, TimeoutError),
                retry_after=None,
            )

    def _session(self) -> aiohttp.ClientSession:
        if self._client is None:
            resolver = CheckedResolver(allow_local=self._allow_local, getaddrinfo=self._getaddrinfo)
            connector = aiohttp.TCPConnector(
                limit=self._limit,
                limit_per_host=self._limit_per_host,
                resolver=resolver,
                ttl_dns_cache=self._dns_cache_seconds,
                ssl=self._ssl,
            )
            self._client = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=_SKIPPED_AUTO_HEADERS,
                # Only an excerpt is kept: no CPU spent inflating bodies, no decompression bombs.
                auto_decompress=False,
            )
        return self._client

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            # aiohttp rounds deadlines above ceil_threshold up to a whole second; a receiver is
            # promised its timeout, not up to a second more.
            timeout = aiohttp.ClientTimeout(total=seconds, ceil_threshold=math.inf)
            self._timeouts[seconds] = timeout
        return timeout


def describe_error(exc: BaseException, timeout: float) -> str:
    """A short message for an attempt that got no HTTP answer; never echoes header values."""
    match exc:
        case UnsafeURLError():
            return f"refused: {exc.reason}"
        case UnresolvableHostError():
            return str(exc)
        case TimeoutError():
            shown = f"{timeout:.1f}" if timeout == round(timeout, 1) else f"{timeout:g}"
            return f"timed out after {shown} s"
        case aiohttp.ClientSSLError():
            return _tls_error_message(exc)
        case aiohttp.ClientConnectorDNSError():
            return f"could not resolve {exc.host}"
        case aiohttp.ServerDisconnectedError():
            return "server closed the connection without answering"
        case aiohttp.ClientResponseError():
            return "invalid HTTP response"
        case OSError():
            return _os_error_message(exc)
        case ValueError() if "header" in str(exc).lower():
            return "invalid request header (control character in a name or value)"
        case _:
            return f"request failed ({type(exc).__name__})"


def _tls_error_message(exc: aiohttp.ClientSSLError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        detail = getattr(exc.certificate_error, "verify_message", None)
        return "TLS certificate verify failed" + (f" ({detail})" if detail else "")
    reason = getattr(exc.os_error, "reason", None)
    detail = f" ({reason.lower().replace('_', ' ')})" if isinstance(reason, str) else ""
    return f"TLS handshake failed{detail}"


def _os_error_message(exc: OSError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        exc = exc.os_error
    if exc.errno in _ERRNO_MESSAGES:
        return _ERRNO_MESSAGES[exc.errno]
    if exc.errno is not None:
        return f"connection failed ({errno.errorcode.get(exc.errno, exc.errno)})"
    return "connection failed"


@functools.lru_cache(maxsize=4096)
def _checked_request_url(url: str, allow_local: bool) -> URL:
    """Check once per URL; the request goes to the normalized URL that was checked."""
    # check_url read the URL with yarl too: the host it judged is the host requested
    # (tests/unit/test_addresses.py holds the two to agreeing).
    return URL(check_url(url, allow_local=allow_local).url, encoded=True)


async def _read_excerpt(content: aiohttp.StreamReader) -> bytes:
    """Up to RESPONSE_EXCERPT_BYTES of the body; the rest is never read (the socket is closed)."""
    excerpt = bytearray()
    try:
        while len(excerpt) < RESPONSE_EXCERPT_BYTES:
            chunk = await content.read(RESPONSE_EXCERPT_BYTES - len(excerpt))
            if not chunk:
                break
            excerpt += chunk
    except (TimeoutError, aiohttp.ClientError):
        pass  # the status already arrived; a body cut short does not undo the answer
    return bytes(excerpt)


def _flatten(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, value in headers.items():
        flat[name] = f"{flat[name]}, {value}" if name in flat else value
    return flat
