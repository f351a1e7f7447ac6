"""Which async HTTP client should the sender use? Posts signed 1 KB bodies to a local receiver.

    python bench/http_clients.py [--requests 5000] [--concurrency 50] [--rounds 3]

The receiver runs in its own process (a raw asyncio protocol answering 200 with keep-alive) so
it costs the clients no CPU. Each client gets the same pre-signed bodies, a warm-up, and
``--rounds`` timed rounds, interleaved so that machine noise hits them alike; the median round
is reported. `delivery/sender.py` uses aiohttp, chosen from these figures (see also
encode/httpx#3215).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection

import aiohttp
import httpx

from livehook.delivery.sender import Sender

SECRET = b"whsec_benchmark-secret-not-a-real-one"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
WARM_UP_REQUESTS = 500

Post = Callable[[bytes, dict[str, str]], Awaitable[int]]


class ReceiverProtocol(asyncio.Protocol):
    """Answers each complete request with 200; handles pipelining and split packets."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) != -1:
            length = 0
            for line in bytes(self.buffer[:end]).split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            assert self.transport is not None
            self.transport.write(RESPONSE)


def serve(port_out: Connection) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(ReceiverProtocol, "127.0.0.1", 0, backlog=1024)
        port_out.send(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def signed_requests(count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Bodies of ~1 KB with the delivery headers, signed before the clock starts."""
    requests = []
    for index in range(count):
        payload = {
            "id": f"evt_{index:026d}",
            "event": "verification.completed",
            "session_id": "6f1c2a9e-3b7d-4e0f-9a51-2c8d7e4b1f30",
            "timestamp": 1_700_000_000 + index,
            "data": {"verdict": "live", "real_score": 0.97, "padding": "x" * 780},
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Livehook-Webhook/1.0",
            "X-Webhook-Event": "verification.completed",
            "X-Webhook-Id": str(payload["id"]),
            "X-Webhook-Timestamp": str(payload["timestamp"]),
            "X-Webhook-Signature": f"sha256={signature}",
        }
        requests.append((body, headers))
    return requests


@dataclass(frozen=True)
class Round:
    client: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float


async def drive(
    post: Post, requests: list[tuple[bytes, dict[str, str]]], concurrency: int
) -> tuple[float, list[float]]:
    """Send every request with ``concurrency`` workers; returns (seconds, latencies in ms)."""
    pending: Iterator[tuple[bytes, dict[str, str]]] = iter(requests)
    latencies: list[float] = []

    async def worker() -> None:
        for body, headers in pending:
            started = time.perf_counter()
            status = await post(body, headers)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"receiver answered {status}")

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    return time.perf_counter() - started, latencies


async def measure(
    name: str, post: Post, requests: list[tuple[bytes, dict[str, str]]], concurrency: int
) -> Round:
    seconds, latencies = await drive(post, requests, concurrency)
    cuts = statistics.quantiles(latencies, n=100)
    return Round(name, len(requests) / seconds, cuts[49], cuts[98])


async def run(url: str, count: int, concurrency: int, rounds: int) -> list[Round]:
    requests = signed_requests(count)
    connector = aiohttp.TCPConnector(limit=concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        httpx.AsyncClient(limits=limits) as client,
        Sender(allow_local=True, limit=concurrency, limit_per_host=concurrency) as sender,
    ):

        async def post_aiohttp(body: bytes, headers: dict[str, str]) -> int:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status

        async def post_httpx(body: bytes, headers: dict[str, str]) -> int:
            response = await client.post(url, content=body, headers=headers)
            return response.status_code

        async def post_sender(body: bytes, headers: dict[str, str]) -> int:
            return (await sender.send(url, body, headers, timeout=5.0)).status or 0

        clients: list[tuple[str, Post]] = [
            (f"aiohttp {aiohttp.__version__}", post_aiohttp),
            (f"httpx {httpx.__version__}", post_httpx),
            ("livehook Sender (aiohttp + checks)", post_sender),
        ]
        for _name, post in clients:
            await drive(post, requests[:WARM_UP_REQUESTS], concurrency)
        results = []
        for _ in range(rounds):
            for name, post in clients:
                results.append(await measure(name, post, requests, concurrency))
        return results


def report(results: list[Round], count: int, concurrency: int) -> None:
    print(f"{count} POSTs of ~1 KB, concurrency {concurrency}, median of rounds by requests/s")
    print(f"{'client':<36} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}   rounds (req/s)")
    names = list(dict.fromkeys(r.client for r in results))
    for name in names:
        rounds = sorted(
            (r for r in results if r.client == name), key=lambda r: r.requests_per_second
        )
        median = rounds[len(rounds) // 2]
        spread = ", ".join(f"{r.requests_per_second:.0f}" for r in rounds)
        print(
            f"{name:<36} {median.requests_per_second:>9.0f} {median.p50_ms:>8.2f} "
            f"{median.p99_ms:>8.2f}   {spread}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    port_in, port_out = context.Pipe(duplex=False)
    receiver = context.Process(target=serve, args=(port_out,), daemon=True)
    receiver.start()
    try:
        port = port_in.recv()
        url = f"http://127.0.0.1:{port}/webhook"
        results = asyncio.run(run(url, args.requests, args.concurrency, args.rounds))
        report(results, args.requests, args.concurrency)
    finally:
        receiver.terminate()
        receiver.join()


if __name__ == "__main__":
    main()
