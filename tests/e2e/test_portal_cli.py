"""`livehook users` and the first start's one-time sign-in link (printed to a terminal only)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.processes import LIVEHOOK, env_for, free_port, serving, wait_ready

PASSWORD = "a long enough password"

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LINK = re.compile(r"http://127\.0\.0\.1:\d+/portal/link\?token=[A-Za-z0-9_-]+")


def _read_until(fd: int, marker: str, timeout: float = 30) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            seen += os.read(fd, 65536).decode(errors="replace")
    assert marker in seen, seen
    return seen


def test_piped_output_gets_no_link(tmp_path: Path) -> None:
    with serving(env_for(tmp_path / "home")) as server:
        pass
    # A log file keeps what it is given: neither the key nor a link goes there.
    assert "lh_" not in server.output
    assert "/portal/link" not in server.output


def test_terminal_gets_a_link_that_signs_in_once(tmp_path: Path) -> None:
    port = free_port()
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [*LIVEHOOK, "serve", "--port", str(port)],
        env=env_for(tmp_path / "home"),
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    try:
        printed = _read_until(primary, "listening on")
        links = LINK.findall(ANSI.sub("", printed))
        assert len(links) == 1, printed
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, 60)
        with httpx.Client(base_url=base, timeout=30) as browser:  # 30 s: a hang guard
            signed_in = browser.get(links[0])
            assert signed_in.status_code == 303
            assert signed_in.headers["location"] == "/portal/keys"
            keys = browser.get("/portal/keys")
            assert keys.status_code == 200 and "default" in keys.text
        assert httpx.get(links[0], timeout=30).status_code == 401  # used up
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        os.close(primary)


def _users_create(
    env: dict[str, str], email: str, password: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LIVEHOOK, "users", "create", "--account", "acme", "--email", email, "--password-stdin"],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_users_create_and_list(tmp_path: Path) -> None:
    env = env_for(tmp_path / "home")
    assert _users_create(env, "Dev@Acme.example", PASSWORD).returncode == 0
    duplicate = _users_create(env, "dev@acme.example", PASSWORD)
    assert duplicate.returncode == 1 and "exists" in duplicate.stderr
    weak = _users_create(env, "ops@acme.example", "short")
    assert weak.returncode == 1 and "at least 10 characters" in weak.stderr
    listing = subprocess.run(
        [*LIVEHOOK, "users", "list"], env=env, capture_output=True, text=True, check=False
    )
    assert "dev@acme.example" in listing.stdout and "acme" in listing.stdout
    assert "ops@acme.example" not in listing.stdout
    assert "argon2" not in listing.stdout and PASSWORD not in listing.stdout
