"""The peer: the same deliveries through Celery (Redis broker, prefork workers, ``requests``).

The worker runs as ``celery -A bench.celery_tasks worker --pool=prefork --concurrency=<cores>``
in its own process tree. This process plays the application: it publishes one task per delivery,
each body carrying ``reported_at_ns`` (when it was published), and the receiver says when each
arrived. Throughput is deliveries over first publish to last arrival; latency is arrival minus
publish. The queue is purged before and after, so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import orjson
import psutil  # type: ignore[import-untyped]  # stubs are types-psutil, not installed
import redis

from bench.celery_tasks import BROKER_ENV, DEFAULT_BROKER, QUEUE, app, deliver
from bench.limit import BENCH_SECRET, EVENT_TYPE, delivery_payload
from bench.receiver import ReceiverHandle
from bench.report import p50_p99
from livehook.domain.payloads import JSONObject

RUN_PATH = "/ok/celery/run"
WARM_UP_PATH = "/ok/celery/warm-up"
WORKER_START_SECONDS = 60.0  # the prefork pool imports Celery and requests in every child
_REPO_ROOT = Path(__file__).resolve().parents[1]


class PeerUnavailableError(RuntimeError):
    """Redis is unreachable or the Celery worker never delivered its warm-up tasks."""


@dataclass(frozen=True)
class PeerResult:
    published: int
    deliveries: int  # arrivals the receiver answered 200
    seconds: float  # first publish to last arrival
    publish_seconds: float  # how long publishing alone took
    p50_ms: float | None
    p99_ms: float | None
    peak_rss_mb: float  # the worker tree (main process and pool children), summed
    workers: int

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds if self.seconds > 0 else 0.0


class ProcessTreePeakRss:
    """Samples the summed RSS of a process and all its descendants on a background thread.

    Forked children share pages with their parent, which a sum counts once per process: the
    figure is what ``ps`` would add up, an upper bound on the memory really in use.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def _sample(self) -> int:
        total = 0
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue  # a child that exited between listing and reading
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._sample())
            self._stop.wait(self.interval)

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20

    def __enter__(self) -> ProcessTreePeakRss:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()


def redis_version(url: str = DEFAULT_BROKER) -> str:
    try:
        info = redis.Redis.from_url(url, socket_timeout=3).info("server")
    except redis.RedisError as exc:
        return f"unreachable ({type(exc).__name__})"
    return str(info["redis_version"])


def purge(broker_url: str) -> int:
    """Drop every task waiting in the bench queue; returns how many there were."""
    app.conf.broker_url = broker_url
    with app.connection_for_write() as connection:
        discarded: int = connection.default_channel.queue_purge(QUEUE) or 0
    return discarded


def publish(url: str, payloads: list[JSONObject]) -> int:
    """Publish one task per payload, stamping its publish time; returns the first stamp (ns)."""
    first = time.time_ns()
    for payload in payloads:
        payload["data"]["tenant_metadata"]["reported_at_ns"] = time.time_ns()
        body_text = orjson.dumps(payload).decode()
        deliver.delay(url, body_text, BENCH_SECRET, payload["id"], EVENT_TYPE)
    return first


async def _start_worker(broker_url: str, workers: int, log: Path) -> asyncio.subprocess.Process:
    command = [sys.executable, "-m", "celery", "-A", "bench.celery_tasks", "worker"]
    command += ["--pool=prefork", f"--concurrency={workers}", "-Q", QUEUE, "--loglevel=WARNING"]
    # Gossip and mingle only cost start-up time and broker chatter in a one-worker cluster.
    command += ["--without-gossip", "--without-mingle"]
    with log.open("wb") as log_file:
        return await asyncio.create_subprocess_exec(
            *command,
            cwd=_REPO_ROOT,
            env={**os.environ, BROKER_ENV: broker_url},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log_file,
        )


async def _stop_worker(worker: asyncio.subprocess.Process) -> None:
    """Warm shutdown (SIGTERM); the pool children are killed only if it does not finish."""
    if worker.returncode is not None:
        return
    children = psutil.Process(worker.pid).children(recursive=True)
    worker.terminate()
    try:
        await asyncio.wait_for(worker.wait(), 15)
    except TimeoutError:
        for child in children:
            if child.is_running():
                child.kill()
        worker.kill()
        await worker.wait()


async def run_celery_peer(
    receiver: ReceiverHandle,
    count: int,
    *,
    broker_url: str = DEFAULT_BROKER,
    workers: int | None = None,
    give_up_after: float = 600.0,
) -> PeerResult:
    """Start the worker tree, warm it up, publish ``count`` deliveries, wait for the receiver."""
    workers = workers or os.cpu_count() or 1
    version = redis_version(broker_url)
    if version.startswith("unreachable"):
        raise PeerUnavailableError(f"Redis at {broker_url} is {version}")
    payloads = [delivery_payload(index, 0) for index in range(count)]
    warm_up = [delivery_payload(count + index, 0) for index in range(workers * 4)]
    purge(broker_url)
    with tempfile.TemporaryDirectory(prefix="livehook-celery-") as directory:
        log = Path(directory) / "worker.log"
        worker = await _start_worker(broker_url, workers, log)
        try:
            with ProcessTreePeakRss(worker.pid) as memory:
                publish(receiver.url(WARM_UP_PATH), warm_up)
                seen = await receiver.wait_for(
                    len(warm_up), path_prefix=WARM_UP_PATH, give_up_after=WORKER_START_SECONDS
                )
                if seen < len(warm_up):
                    tail = log.read_text(errors="replace")[-2000:]
                    raise PeerUnavailableError(
                        f"the Celery worker delivered {seen} warm-ups:\n{tail}"
                    )
                await receiver.reset()
                started = time.perf_counter()
                first_ns = publish(receiver.url(RUN_PATH), payloads)
                publish_seconds = time.perf_counter() - started
                await receiver.wait_for(count, path_prefix=RUN_PATH, give_up_after=give_up_after)
        finally:
            await _stop_worker(worker)
            purge(broker_url)
    records = await receiver.records()
    arrivals = [
        (arrival, sent)
        for arrival, sent, path in zip(
            records["arrival_ns"], records["field"], records["path"], strict=True
        )
        if path == RUN_PATH and sent is not None
    ]
    last_ns = max((arrival for arrival, _ in arrivals), default=first_ns)
    p50, p99 = p50_p99([(arrival - sent) / 1e6 for arrival, sent in arrivals])
    return PeerResult(
        published=count,
        deliveries=len(arrivals),
        seconds=(last_ns - first_ns) / 1e9,
        publish_seconds=publish_seconds,
        p50_ms=p50,
        p99_ms=p99,
        peak_rss_mb=memory.peak_mb,
        workers=workers,
    )
