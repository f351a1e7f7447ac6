"""The delivery worker processes of `livehook serve`: the supervisor serve runs, and the
child's ``main`` (``python -m livehook.worker_processes``).

A busy worker inside serve shares the API's event loop and delays every request; in a process
of its own it does not. Serve starts the processes with its app, starts another when one dies
(kill -9 loses nothing: the leases end and the rows come due again) and stops them with SIGTERM
when it stops, so sends in flight finish and are recorded. Each child claims every delivery
except those of `livehook listen` endpoints, whose sockets live in serve: serve's own worker
keeps those. A child's stdin is a pipe from serve: at its end (serve gone, even by kill -9) the
child stops too, so no worker outlives its serve. Its logs go to serve's output.
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

import structlog

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


class WorkerProcesses:
    """Keeps ``count`` worker processes running, in the event loop of serve."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._children: dict[int, asyncio.subprocess.Process] = {}
        self._keepers: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._children.values() if p.returncode is None]

    def start(self) -> None:
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
            )
            self._children[slot] = child
            log.info("delivery worker process started", pid=child.pid)
            code = await child.wait()
            if self._stopping.is_set():
                return
            log.error("delivery worker process exited; starting another", pid=child.pid, code=code)
            if time.monotonic() - started >= HEALTHY_AFTER_S:
                delay = RESTART_MIN_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, RESTART_MAX_S)


def main() -> None:
    """A worker process of serve: every target but `livehook listen`, until SIGTERM or until
    serve is gone."""
    from livehook.logs import configure_logging
    from livehook.tracing import configure_tracing

    # Ctrl-C reaches the whole process group: serve stops its children itself, in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings = Settings()
    configure_logging(settings.log_level)
    configure_tracing()
    asyncio.run(_work(settings))


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
    gc.freeze()  # as `livehook worker`: what exists now lives as long as the process
    try:
        await worker.run()
    finally:
        await worker.close()
        await services.db.dispose()


if __name__ == "__main__":
    main()
