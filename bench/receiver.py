"""The benchmark's webhook receiver: its own process on 127.0.0.1, answering as fast as it can.

    python -m bench.receiver [--port 0] [--field reported_at_ns]

It is a raw ``asyncio.Protocol`` on one thread: measured against ``aiohttp.web`` (access log
off) it spends a quarter to a third of the CPU per request, so it takes little from the sender
it measures (the figures are in bench/README.md). The path chooses the answer:

- ``/fail/...`` answers 500;
- ``/hang/...`` never answers: the connection is held (the loop keeps serving others) until the
  client gives up and closes it;
- any other path answers 200.

Every request is recorded in memory: arrival (``time.time_ns()`` when the whole request is in),
``X-Webhook-Id``, path, and the integer value of one JSON body field (``--field``, found with a
regular expression rather than a JSON parse). ``/_bench/stats``, ``/_bench/records`` and
``/_bench/reset`` are the control endpoints; ``ReceiverHandle`` calls them.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

HOST = "127.0.0.1"
CONTROL_PREFIX = b"/_bench/"
DEFAULT_FIELD = "reported_at_ns"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
FAIL = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n"
    b"Content-Type: text/plain\r\n\r\nfail"
)
UNSUPPORTED = b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
MODES = ("ok", "fail", "hang")
# Lower-cased header markers, searched in the lower-cased head: no per-line split on the hot path.
_CONTENT_LENGTH = b"\r\ncontent-length:"
_WEBHOOK_ID = b"\r\nx-webhook-id:"
_CHUNKED = b"\r\ntransfer-encoding:"
_CLOSE = b"\r\nconnection: close"
_REPO_ROOT = Path(__file__).resolve().parents[1]


class Recorder:
    """Arrivals kept as parallel lists: cheap to append, cheap to serialize column by column."""

    def __init__(self, field: str) -> None:
        self.pattern = re.compile(rb'"' + re.escape(field.encode()) + rb'"\s*:\s*(\d+)')
        self.open_connections = 0
        self.hanging = 0
        self.reset()

    def reset(self) -> None:
        self.arrival_ns: list[int] = []
        self.webhook_id: list[str | None] = []
        self.path: list[str] = []
        self.field: list[int | None] = []
        self.by_mode = dict.fromkeys(MODES, 0)
        self.by_path: dict[str, int] = {}
        self.cpu_base = time.process_time()

    def record(self, path: str, mode: str, webhook_id: str | None, body: bytes) -> None:
        self.arrival_ns.append(time.time_ns())
        self.webhook_id.append(webhook_id)
        self.path.append(path)
        match = self.pattern.search(body)
        self.field.append(int(match[1]) if match else None)
        self.by_mode[mode] += 1
        self.by_path[path] = self.by_path.get(path, 0) + 1

    def stats(self) -> dict[str, Any]:
        return {
            "requests": len(self.arrival_ns),
            "by_mode": self.by_mode,
            "by_path": self.by_path,
            "first_arrival_ns": self.arrival_ns[0] if self.arrival_ns else None,
            "last_arrival_ns": self.arrival_ns[-1] if self.arrival_ns else None,
            "cpu_seconds": time.process_time() - self.cpu_base,
            "open_connections": self.open_connections,
            "hanging": self.hanging,
        }

    def records(self) -> dict[str, Any]:
        return {
            "arrival_ns": self.arrival_ns,
            "webhook_id": self.webhook_id,
            "path": self.path,
            "field": self.field,
        }


def _mode(path: str) -> str:
    if path.startswith("/fail/"):
        return "fail"
    return "hang" if path.startswith("/hang/") else "ok"


def _header(head: bytes, lowered: bytes, marker: bytes) -> bytes | None:
    start = lowered.find(marker)
    if start == -1:
        return None
    start += len(marker)
    end = head.find(b"\r\n", start)
    return head[start : end if end != -1 else len(head)].strip()


class ReceiverProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining; Content-Length bodies only (what clients send)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.hung = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.recorder.open_connections += 1

    def connection_lost(self, _exc: Exception | None) -> None:
        self.recorder.open_connections -= 1
        if self.hung:
            self.recorder.hanging -= 1

    def data_received(self, data: bytes) -> None:
        if self.hung:
            return  # answers are in order: nothing after a hung request can be answered
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) != -1:
            head = bytes(self.buffer[:end])
            lowered = head.lower()
            if _header(head, lowered, _CHUNKED) is not None:
                self._write_and_close(UNSUPPORTED)
                return
            length = int(_header(head, lowered, _CONTENT_LENGTH) or 0)
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            if not self._answer(head, lowered, body):
                return

    def _answer(self, head: bytes, lowered: bytes, body: bytes) -> bool:
        """Answers one request; False once the connection takes no more (hung or closing)."""
        assert self.transport is not None
        raw_path = head[: head.find(b"\r\n")].split(b" ")[1]
        if raw_path.startswith(CONTROL_PREFIX):
            self._write_and_close(self._control(raw_path))
            return False
        path = raw_path.decode("latin-1")
        webhook_id = _header(head, lowered, _WEBHOOK_ID)
        mode = _mode(path)
        self.recorder.record(path, mode, webhook_id.decode() if webhook_id else None, body)
        if mode == "hang":
            self.hung = True
            self.recorder.hanging += 1
            return False
        self.transport.write(OK if mode == "ok" else FAIL)
        if _CLOSE in lowered:
            self.transport.close()
            return False
        return True

    def _control(self, raw_path: bytes) -> bytes:
        command = raw_path[len(CONTROL_PREFIX) :].split(b"?")[0]
        if command == b"stats":
            payload = orjson.dumps(self.recorder.stats())
        elif command == b"records":
            payload = orjson.dumps(self.recorder.records())
        elif command == b"reset":
            self.recorder.reset()
            payload = b"{}"
        else:
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        return head.encode() + payload

    def _write_and_close(self, response: bytes) -> None:
        assert self.transport is not None
        self.transport.write(response)
        self.transport.close()


async def serve(port: int, field: str, announce: Callable[[int], None]) -> None:
    recorder = Recorder(field)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: ReceiverProtocol(recorder), HOST, port, backlog=4096, reuse_address=True
    )
    announce(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


class ReceiverError(RuntimeError):
    """The receiver process did not start or its control endpoint did not answer."""


@dataclass
class ReceiverHandle:
    """A running receiver process and its control endpoint."""

    process: asyncio.subprocess.Process
    port: int

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str) -> str:
        """``http://127.0.0.1:<port><path>``; the path's prefix chooses the answer."""
        return f"http://{HOST}:{self.port}{path}"

    async def stats(self) -> dict[str, Any]:
        """Counts (total, ``by_mode``, ``by_path``), first/last arrival ns, CPU seconds used."""
        return await self._control("stats")

    async def records(self) -> dict[str, Any]:
        """Columns ``arrival_ns``, ``webhook_id``, ``path``, ``field`` (the extracted integer)."""
        return await self._control("records")

    async def reset(self) -> None:
        """Forget every record and restart the CPU count (hung connections stay held)."""
        await self._control("reset")

    async def wait_for(
        self, count: int, *, path_prefix: str = "/", give_up_after: float = 60.0, poll: float = 0.05
    ) -> int:
        """Wait until ``count`` requests under ``path_prefix`` arrived; returns how many did.

        Gives up after ``give_up_after`` seconds and returns the count so far (a run that lost
        deliveries is reported, not raised)."""
        deadline = time.monotonic() + give_up_after
        while True:
            by_path: dict[str, int] = (await self.stats())["by_path"]
            seen = sum(n for path, n in by_path.items() if path.startswith(path_prefix))
            if seen >= count or time.monotonic() >= deadline:
                return seen
            await asyncio.sleep(poll)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()

    async def __aenter__(self) -> ReceiverHandle:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def _control(self, command: str) -> dict[str, Any]:
        try:
            reader, writer = await asyncio.open_connection(HOST, self.port)
        except OSError as exc:
            raise ReceiverError(f"receiver on port {self.port} unreachable: {exc}") from exc
        writer.write(f"GET /_bench/{command} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        response = await reader.read()
        writer.close()
        await writer.wait_closed()
        head, _, body = response.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise ReceiverError(f"control {command!r} answered {head[:40]!r}")
        result: dict[str, Any] = orjson.loads(body)
        return result


async def start_receiver(
    *, port: int = 0, field: str = DEFAULT_FIELD, startup_timeout: float = 10.0
) -> ReceiverHandle:
    """Spawn ``python -m bench.receiver`` and return once it listens."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.receiver",
        "--port",
        str(port),
        "--field",
        field,
        cwd=_REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), startup_timeout)
    except TimeoutError:
        line = b""
    if not line.startswith(b"listening "):
        if process.returncode is None:
            process.kill()
        await process.wait()
        raise ReceiverError(f"receiver did not start (exit code {process.returncode})")
    return ReceiverHandle(process=process, port=int(line.split()[1]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="benchmark webhook receiver")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--field", default=DEFAULT_FIELD, help="integer JSON field to record")
    args = parser.parse_args(argv)

    def announce(port: int) -> None:
        print(f"listening {port}", flush=True)

    asyncio.run(serve(args.port, args.field, announce))


if __name__ == "__main__":
    main()
