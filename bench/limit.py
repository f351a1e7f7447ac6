"""The limit: livehook's HTTP client posting pre-signed deliveries, with no database at all.

    python -m bench.limit --url http://127.0.0.1:PORT/ok/limit --count 20000 --concurrency 100
                          [--client aiohttp|sender]

``aiohttp`` is one ``ClientSession`` with the connector and session settings of
``livehook.delivery.sender.Sender``; ``sender`` goes through ``Sender.send`` itself, so the
two figures show what the sender's checks and result building cost. Bodies are realistic
``verification.completed`` payloads (~600 bytes) signed with ``signature_headers`` before the
clock starts. ``run.py`` runs each client in its own process so peak RSS is the client's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
import orjson

from bench.receiver import ReceiverHandle
from bench.report import p50_p99
from livehook.delivery.sender import Sender
from livehook.domain.event_schemas import example_for
from livehook.domain.ids import sortable_id
from livehook.domain.payloads import JSONObject, encode_body
from livehook.domain.signing import SCHEME_HMAC_SHA256, signature_headers

# A fixed, obviously fake secret: the bench signs, it never verifies.
BENCH_SECRET = "whsec_YmVuY2htYXJrLXNlY3JldC1ub3QtYS1yZWFsLW9uZQ"
EVENT_TYPE = "verification.completed"
SEND_TIMEOUT_SECONDS = 5.0  # domain/webhooks.py: DEFAULT_TIMEOUT_SECONDS
_EPOCH_MS = 1_770_000_000_000  # event ids are time-ordered; any fixed millisecond will do
_REPO_ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ("aiohttp", "sender")
LIMIT_PATH = "/ok/limit"

Signed = tuple[bytes, dict[str, str]]
Post = Callable[[bytes, dict[str, str]], Awaitable[bool]]


def delivery_payload(index: int, reported_at_ns: int) -> JSONObject:
    """The example ``verification.completed`` payload, with a unique id and a larger metadata.

    ``tenant_metadata`` carries ``reported_at_ns`` so the receiver can time a delivery from the
    moment its result was reported (0 where nobody measures that).
    """
    example = _example()
    payload = dict(example)
    payload["id"] = sortable_id("evt", _EPOCH_MS, index.to_bytes(10, "big"))
    payload["data"] = dict(example["data"])
    payload["data"]["tenant_metadata"] = {
        "plan": "pro",
        "customer_ref": "cus_8Hq2LmX4pT0v",
        "flow": "signup-v3",
        "region": "eu-west-1",
        "app_version": "4.12.0",
        "device": "ios-17.4",
        "reported_at_ns": reported_at_ns,
    }
    return payload


@functools.cache
def _example() -> JSONObject:
    # Built once: the harness's own CPU is taken from the engine it measures on two cores.
    return example_for(EVENT_TYPE, "full")


def signed_delivery(payload: JSONObject, secret: str, timestamp: int) -> Signed:
    """The body and every header of one attempt, as livehook sends it (hmac-sha256 scheme)."""
    # orjson's bytes keep their whole growth buffer (~4-8 KiB for a 600-byte body, orjson 3.13):
    # a tight copy keeps 20,000 pre-signed bodies from inflating the peak RSS measured here.
    body = bytes(memoryview(encode_body(payload)))
    event_id = str(payload["id"])
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Livehook-Webhook/1.0",
        "X-Webhook-Event": str(payload["event"]),
        "X-Webhook-Session": str(payload["session_id"]),
        "X-Webhook-Id": event_id,
        "X-Webhook-Timestamp": str(timestamp),
        **signature_headers(SCHEME_HMAC_SHA256, [secret], event_id, timestamp, body),
    }
    return body, headers


def signed_deliveries(count: int, *, first_index: int = 0) -> list[Signed]:
    timestamp = int(time.time())
    return [
        signed_delivery(delivery_payload(index, 0), BENCH_SECRET, timestamp)
        for index in range(first_index, first_index + count)
    ]


@dataclass(frozen=True)
class LimitResult:
    client: str
    deliveries: int  # 2xx answers
    failures: int
    seconds: float
    p50_ms: float | None
    p99_ms: float | None
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds if self.seconds > 0 else 0.0


async def drive(
    post: Post, deliveries: list[Signed], concurrency: int
) -> tuple[float, list[float]]:
    """Send everything with ``concurrency`` workers; (seconds, latency ms of each success)."""
    pending: Iterator[Signed] = iter(deliveries)
    latencies: list[float] = []

    async def worker() -> None:
        for body, headers in pending:
            started = time.perf_counter()
            if await post(body, headers):
                latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    return time.perf_counter() - started, latencies


def _raw_session(concurrency: int) -> aiohttp.ClientSession:
    """What ``Sender`` builds, minus its checked resolver (a literal 127.0.0.1 never resolves)."""
    connector = aiohttp.TCPConnector(
        limit=concurrency, limit_per_host=concurrency, ttl_dns_cache=10, ssl=True
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        auto_decompress=False,
    )


async def run_limit(
    url: str, count: int, concurrency: int, client: str, *, warm_up_url: str | None = None
) -> LimitResult:
    """Post ``count`` pre-signed deliveries to ``url``; warm the pool first on ``warm_up_url``."""
    if client not in CLIENTS:
        raise ValueError(f"client is one of {', '.join(CLIENTS)}")
    deliveries = signed_deliveries(count)
    warm_up = signed_deliveries(concurrency * 2, first_index=count)
    timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT_SECONDS)
    async with (
        _raw_session(concurrency) as session,
        Sender(allow_local=True, limit=concurrency, limit_per_host=concurrency) as sender,
    ):
        target = url

        async def post_raw(body: bytes, headers: dict[str, str]) -> bool:
            async with session.post(
                target, data=body, headers=headers, allow_redirects=False, timeout=timeout
            ) as response:
                await response.read()
                return 200 <= response.status < 300

        async def post_sender(body: bytes, headers: dict[str, str]) -> bool:
            result = await sender.send(target, body, headers, SEND_TIMEOUT_SECONDS)
            return result.succeeded

        post = post_raw if client == "aiohttp" else post_sender
        if warm_up_url is not None:
            target = warm_up_url
            await drive(post, warm_up, concurrency)
            target = url
        seconds, latencies = await drive(post, deliveries, concurrency)
    p50, p99 = p50_p99(latencies)
    return LimitResult(
        client=client,
        deliveries=len(latencies),
        failures=count - len(latencies),
        seconds=seconds,
        p50_ms=p50,
        p99_ms=p99,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


async def measure_limit(
    url: str, count: int, concurrency: int, client: str, *, warm_up_url: str | None = None
) -> LimitResult:
    """``run_limit`` in a fresh ``python -m bench.limit`` process; its result read as JSON."""
    arguments = ["--url", url, "--count", str(count), "--concurrency", str(concurrency)]
    arguments += ["--client", client] + (["--warm-up-url", warm_up_url] if warm_up_url else [])
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.limit",
        *arguments,
        cwd=_REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"bench.limit --client {client} exited with {process.returncode}")
    return LimitResult(**orjson.loads(output))


@dataclass(frozen=True)
class LimitRound:
    result: LimitResult
    arrived: int  # what the receiver recorded on LIMIT_PATH
    receiver_cpu_us: float  # receiver CPU per request, warm-up included


async def limit_round(
    receiver: ReceiverHandle, count: int, concurrency: int, client: str
) -> LimitRound:
    await receiver.reset()
    result = await measure_limit(
        receiver.url(LIMIT_PATH), count, concurrency, client, warm_up_url=receiver.url("/ok/w")
    )
    stats = await receiver.stats()
    cpu_us = stats["cpu_seconds"] / max(stats["requests"], 1) * 1e6
    return LimitRound(result, stats["by_path"].get(LIMIT_PATH, 0), cpu_us)


async def limit_rounds(
    receiver: ReceiverHandle, count: int, concurrency: int, rounds: int
) -> dict[str, list[LimitRound]]:
    """Rounds interleave the clients so machine noise hits both alike."""
    # An unmeasured pass first: the receiver's first requests cost it page faults, not work.
    await limit_round(receiver, min(count, 5_000), concurrency, "aiohttp")
    by_client: dict[str, list[LimitRound]] = {client: [] for client in CLIENTS}
    for _ in range(rounds):
        for client, results in by_client.items():
            results.append(await limit_round(receiver, count, concurrency, client))
    return by_client


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the HTTP limit: pre-signed POSTs, no database")
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--client", choices=CLIENTS, default="aiohttp")
    parser.add_argument("--warm-up-url", help="opens the connection pool before the clock starts")
    args = parser.parse_args(argv)
    result = asyncio.run(
        run_limit(args.url, args.count, args.concurrency, args.client, warm_up_url=args.warm_up_url)
    )
    sys.stdout.buffer.write(orjson.dumps(asdict(result)) + b"\n")


if __name__ == "__main__":
    main()
