"""The delivery worker processes of `livehook serve`: the supervisor serve runs, and the
child's ``main`` (``python -m livehook.worker_processes``).

A busy worker inside serve shares the API's event loop and delays every request; in a process
of its own it does not. Serve starts the processes with its app, starts another when one dies
(kill -9 loses nothing: the leases end and the rows come due again) and stops them with SIGTERM
when it stops, so sends in flight finish and are recorded. Each child claims every delivery
except those of `livehook listen` endpoints, whose sockets live in serve: serve's own worker
keeps those. A child's stdin is a pipe from serve: at its end (serve gone, even by kill -9) the
child stops too, so no worker outlives its serve. Its logs go to serve's output (standard
error); its standard output carries a snapshot of its delivery metrics every second, which
serve adds to its own `/metrics`, so an operator still reads one set of figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator

import orjson
import structlog
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from livehook import metrics
from livehook.config import Settings
from livehook.domain.webhooks import MAX_TIMEOUT_SECONDS

log = structlog.get_logger(__name__)

# A child that ran this long was healthy: the next restart comes at once, not backed off.
HEALTHY_AFTER_S = 30.0
# The wait before restarting a child that keeps dying, doubling up to the maximum.
RESTART_MIN_S = 0.5
RESTART_MAX_S = 30.0
# SIGTERM lets the slowest endpoint answer and the answers be recorded; then SIGKILL.
STOP_WITHIN_S = MAX_TIMEOUT_SECONDS + 10.0
# How often a child looks whether its delivery metrics moved, and reports them to serve if
# so: a scrape is at most this old (a report is about 2 KB; an idle child sends none).
METRICS_EVERY_S = 0.1
# The metrics a worker moves, reported by each child and summed into serve's own.
WORKER_METRICS: tuple[MetricWrapperBase, ...] = (
    metrics.DELIVERIES,
    metrics.ATTEMPT_SECONDS,
    metrics.ENDPOINTS_PAUSED,
    metrics.TRANSACTION_SECONDS,
)

# A sample as a child reports it: (name, sorted label pairs) -> value.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class WorkerProcesses:
    """Keeps ``count`` worker processes running, in the event loop of serve."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._children: dict[int, asyncio.subprocess.Process] = {}
        self._keepers: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.metrics = ChildrenMetrics(WORKER_METRICS)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._children.values() if p.returncode is None]

    def start(self) -> None:
        self.metrics.install()
        for slot in range(self._count):
            self._keepers.append(
                asyncio.create_task(self._keep(slot), name=f"livehook-worker-process-{slot}")
            )

    async def stop(self) -> None:
        """SIGTERM every child and wait for it (SIGKILL after ``STOP_WITHIN_S``)."""
        self._stopping.set()
        children = [p for p in self._children.values() if p.returncode is None]
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.terminate()
        for child in children:
            try:
                await asyncio.wait_for(child.wait(), STOP_WITHIN_S)
            except TimeoutError:
                log.error("a delivery worker process did not stop; killing it", pid=child.pid)
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                await child.wait()
        for keeper in self._keepers:
            keeper.cancel()
        await asyncio.gather(*self._keepers, return_exceptions=True)

    async def _keep(self, slot: int) -> None:
        delay = RESTART_MIN_S
        while not self._stopping.is_set():
            started = time.monotonic()
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "livehook.worker_processes",
                stdin=subprocess.PIPE,  # never written: its end tells the child serve is gone
                stdout=subprocess.PIPE,  # its metrics
            )
            self._children[slot] = child
            log.info("delivery worker process started", pid=child.pid)
            assert child.stdout is not None
            await self.metrics.follow(slot, child.stdout)
            code = await child.wait()
            self.metrics.retire(slot)
            if self._stopping.is_set():
                return
            log.error("delivery worker process exited; starting another", pid=child.pid, code=code)
            if time.monotonic() - started >= HEALTHY_AFTER_S:
                delay = RESTART_MIN_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, RESTART_MAX_S)


class ChildrenMetrics(Collector):
    """Serve's own ``worker_metrics`` plus what its children last reported, in their place in
    the registry. A child that ended keeps its counts (counters never go back)."""

    def __init__(self, worker_metrics: Iterable[MetricWrapperBase]) -> None:
        self._own = tuple(worker_metrics)
        # What a gauge said dies with its child; counts stay.
        self._gauges = {f.name for m in self._own for f in m.collect() if f.type == "gauge"}
        self._latest: dict[int, Samples] = {}
        self._retired: Samples = defaultdict(float)

    def install(self) -> None:
        for metric in self._own:
            with contextlib.suppress(KeyError):  # a test app may have installed it already
                REGISTRY.unregister(metric)
        with contextlib.suppress(ValueError):
            REGISTRY.register(self)

    async def follow(self, slot: int, lines: asyncio.StreamReader) -> None:
        """Read the child's reports until its output ends."""
        self._latest[slot] = {}
        while line := await lines.readline():
            try:
                reported = orjson.loads(line)
                self._latest[slot] = {(n, tuple(map(tuple, ls))): v for n, ls, v in reported}
            except (orjson.JSONDecodeError, TypeError, ValueError):
                log.warning("a worker process wrote something other than its metrics")

    def retire(self, slot: int) -> None:
        for (name, labels), value in self._latest.pop(slot, {}).items():
            if not name.endswith("_created") and name not in self._gauges:
                self._retired[name, labels] += value

    def collect(self) -> Iterator[Metric]:
        for metric in self._own:
            for family in metric.collect():
                totals: Samples = defaultdict(float)
                for sample in family.samples:
                    totals[sample.name, tuple(sorted(sample.labels.items()))] += sample.value
                # The family's own sample names (a child's `_created` times are not added up).
                names = {family.name + suffix for suffix in ("", "_total", "_bucket", "_count")}
                names.add(family.name + "_sum")
                for reported in (self._retired, *self._latest.values()):
                    for (name, labels), value in reported.items():
                        if name in names:
                            totals[name, labels] += value
                merged = Metric(family.name, family.documentation, family.type, family.unit)
                for (name, labels), value in totals.items():
                    merged.add_sample(name, dict(labels), value)
                yield merged


def report_metrics(worker_metrics: Iterable[MetricWrapperBase]) -> bytes:
    """One line of this process's ``worker_metrics`` for serve to add to its own."""
    samples = [
        [sample.name, sorted(sample.labels.items()), sample.value]
        for metric in worker_metrics
        for family in metric.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    ]
    return orjson.dumps(samples) + b"\n"


def main() -> None:
    """A worker process of serve: every target but `livehook listen`, until SIGTERM or until
    serve is gone."""
    from livehook import loops
    from livehook.logs import configure_logging
    from livehook.tracing import configure_tracing

    # Ctrl-C reaches the whole process group: serve stops its children itself, in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings = Settings()
    configure_logging(settings.log_level)
    configure_tracing()
    loops.run(_work(settings))


async def _work(settings: Settings) -> None:
    from livehook.composition import build_services, build_worker

    # As `livehook worker`: a dropped connection fails one claim, which is tried again.
    services = build_services(settings, pre_ping=False)
    worker = build_worker(settings, services, targets="except_listen")
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, worker.request_stop)

    def stop_at_end_of_stdin() -> None:
        sys.stdin.buffer.read()  # returns when serve's end of the pipe closes
        loop.call_soon_threadsafe(worker.request_stop)

    threading.Thread(target=stop_at_end_of_stdin, name="serve-watch", daemon=True).start()
    reporting = asyncio.create_task(_report_metrics_to_serve())
    gc.freeze()  # as `livehook worker`: what exists now lives as long as the process
    try:
        await worker.run()
    finally:
        await worker.close()
        await services.db.dispose()
        reporting.cancel()
        _write_to_serve(report_metrics(WORKER_METRICS))  # the last attempts recorded


async def _report_metrics_to_serve() -> None:
    last = b""
    while True:
        line = report_metrics(WORKER_METRICS)
        if line != last:
            _write_to_serve(line)
            last = line
        await asyncio.sleep(METRICS_EVERY_S)


def _write_to_serve(line: bytes) -> None:
    with contextlib.suppress(OSError):  # serve is gone: nobody to tell
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
