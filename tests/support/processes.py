"""Run `livehook` as a real subprocess, as a user would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from livehook.config import Settings
from tests.support.app import TEST_SECRET_KEY

LIVEHOOK = [sys.executable, "-m", "livehook"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHOOK_")}
    env.update({"LIVEHOOK_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "200"})
    env.update(extra)
    return env


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LIVEHOOK, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


class Server:
    """A running `livehook serve`; ``output`` holds what it printed once it has exited."""

    def __init__(self, base: str, proc: subprocess.Popen[str]) -> None:
        self.base = base
        self.proc = proc
        self.output = ""


@contextmanager
def serving(
    env: dict[str, str], *args: str, ready_timeout: float = 120, port: int | None = None
) -> Iterator[Server]:
    """`livehook serve` on ``port`` (a free one by default), yielded once /readyz answers
    200; SIGTERM after."""
    port = port or free_port()
    proc = subprocess.Popen(
        [*LIVEHOOK, "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(f"http://127.0.0.1:{port}", proc)
    # Read as it is written: a chatty server (an outage logs a line per request) must never
    # block on a full pipe.
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        _wait_ready(server, ready_timeout)
        yield server
    finally:
        _stop(proc)
        reader.join(timeout=5)
        proc.stdout.close()
        server.output = "".join(lines)


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, as a supervisor stops it; SIGKILL if it has not exited 15 s later."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_ready(server: Server, timeout: float) -> None:
    wait_ready(server.base, timeout, proc=server.proc)


def wait_ready(
    base: str, timeout: float = 120, *, proc: subprocess.Popen[str] | None = None
) -> None:
    """Until ``base``/readyz answers 200, asked every 0.1 s. One client for every ask: a
    client of its own per ask (``httpx.get``) loads the CA bundle each time, ~40 ms of CPU,
    which made waiting for a start on a loaded machine cost seconds of CPU."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"serve exited early (code {proc.returncode})")
            try:
                if client.get(f"{base}/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise AssertionError("serve did not become ready")


@contextmanager
def serving_on_a_terminal(env: dict[str, str], *args: str) -> Iterator[Server]:
    """`livehook serve` with its output on a pseudo-terminal, as a person starting it sees it."""
    import os
    import pty

    port = free_port()
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [*LIVEHOOK, "serve", "--port", str(port), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
        text=True,
    )
    os.close(secondary)
    server = Server(f"http://127.0.0.1:{port}", proc)
    try:
        _wait_ready(server, 120)
        yield server
    finally:
        _stop(proc)
        server.output = _drain(primary)


def _drain(fd: int) -> str:
    import os

    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's other side has closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")


def env_sharing(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `livehook` subprocess on this test's home, database and secret key,
    local URLs allowed (the receivers listen on 127.0.0.1)."""
    shared = {
        "LIVEHOOK_DATABASE_URL": settings.resolved_database_url,
        "LIVEHOOK_SECRET_KEY": TEST_SECRET_KEY,
        "LIVEHOOK_ALLOW_LOCAL_URLS": "1",
    }
    return env_for(settings.home, **(shared | extra))
