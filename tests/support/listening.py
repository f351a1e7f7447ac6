"""`livehook listen` as a subprocess, and the local server it forwards to (threads, no loop)."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.processes import LIVEHOOK

LOCAL_ANSWER_BODY = b"hello from the local server"
LOCAL_ANSWER_STATUS = 202


@dataclass
class LocalTarget:
    """What the developer's local server received: (path, exact body, headers in order)."""

    port: int = 0
    received: list[tuple[str, bytes, list[tuple[str, str]]]] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def wait_for(self, count: int, timeout: float = 20) -> None:
        with self.lock:
            if not self.lock.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"{len(self.received)} of {count} deliveries arrived")

    def event_types(self) -> list[str]:
        return [dict(h)["X-Webhook-Event"] for _, _, h in self.received]


@contextmanager
def local_target() -> Iterator[LocalTarget]:
    target = LocalTarget()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with target.lock:
                target.received.append((self.path, body, list(self.headers.items())))
                target.lock.notify_all()
            self.send_response(LOCAL_ANSWER_STATUS)
            self.send_header("X-Local", "yes")
            self.send_header("Content-Length", str(len(LOCAL_ANSWER_BODY)))
            self.end_headers()
            self.wfile.write(LOCAL_ANSWER_BODY)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    target.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield target
    finally:
        server.shutdown()
        server.server_close()


class Listen:
    """A running `livehook listen --print-json`; ``lines`` are the JSON lines it printed."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"type": "text", "text": raw}
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        with self._changed:
            return [line for line in self.lines if line.get("type") == kind]

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 30
    ) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self.lines), timeout):
                raise AssertionError(f"livehook listen never got there; it printed {self.lines}")

    def wait_ready(self, count: int = 1, timeout: float = 30) -> dict[str, Any]:
        self.wait_for(lambda lines: sum(1 for x in lines if x["type"] == "ready") >= count, timeout)
        return self.of_type("ready")[count - 1]

    def interrupt(self, timeout: float = 15) -> int:
        """Ctrl-C, as a person presses it; the exit code."""
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code


@contextmanager
def listening(env: dict[str, str], *args: str) -> Iterator[Listen]:
    proc = subprocess.Popen(
        [*LIVEHOOK, "listen", "--print-json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Listen(proc)
    try:
        yield running
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        running._reader.join(5)
        if proc.stdout is not None:
            proc.stdout.close()
