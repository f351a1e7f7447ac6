"""`livehook trigger` reports what really happened: through a running serve, or alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.listening import LOCAL_ANSWER_STATUS, LocalTarget, local_target
from tests.support.processes import env_for, run_cli, serving

HAPPY_PATH = 7


@pytest.fixture
def target() -> Iterator[LocalTarget]:
    with local_target() as running:
        yield running


def new_key(env: dict[str, str]) -> str:
    created = run_cli("keys", "create", "--account", "acme", "--json", env=env)
    assert created.returncode == 0, created.stderr
    return str(json.loads(created.stdout)["key"])


def register(base: str, key: str, url: str) -> None:
    response = httpx.post(
        f"{base}/v1/webhooks", json={"url": url}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 201, response.text


def test_through_a_running_server_it_waits_and_prints_each_outcome(
    tmp_path: Path, target: LocalTarget
) -> None:
    env = env_for(tmp_path / "home", LIVEHOOK_ALLOW_LOCAL_URLS="true")
    key = new_key(env)
    with serving(env) as server:
        register(server.base, key, target.url)
        done = run_cli(
            "trigger",
            "verification.completed",
            "--key",
            key,
            env=env_for(tmp_path / "home", LIVEHOOK_API_URL=server.base),
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Sent by the livehook serve at {server.base}" in done.stdout
    assert done.stdout.count(f"{target.url}  {LOCAL_ANSWER_STATUS}") == HAPPY_PATH
    assert f"✓ {HAPPY_PATH} of {HAPPY_PATH} deliveries succeeded" in done.stdout
    assert len(target.received) == HAPPY_PATH


def test_alone_it_sends_itself_and_says_why_a_local_url_was_refused(
    tmp_path: Path, target: LocalTarget
) -> None:
    home = tmp_path / "home"
    key = new_key(env_for(home))
    registered = run_cli(
        "webhooks",
        "create",
        target.url,
        "--key",
        key,
        env=env_for(home, LIVEHOOK_ALLOW_LOCAL_URLS="true"),
    )
    assert registered.returncode == 0, registered.stdout + registered.stderr
    # Local URLs allowed where it was registered only: this process refuses them, and says how
    # to allow them.
    done = run_cli("trigger", "verification.started", "--key", key, env=env_for(home))
    assert done.returncode == 1
    assert "No livehook serve answers for this database: sending from here" in done.stdout
    assert done.stdout.count("refused: URL must use https") == 2
    assert "LIVEHOOK_ALLOW_LOCAL_URLS=true" in done.stdout
    assert "✗ 0 of 2 deliveries succeeded" in done.stdout
    assert "debug" not in done.stderr  # logs at the configured level (info)
    assert target.received == []

    allowed = run_cli(
        "trigger",
        "verification.started",
        "--key",
        key,
        env=env_for(home, LIVEHOOK_ALLOW_LOCAL_URLS="true"),
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "✓ 2 of 2 deliveries succeeded" in allowed.stdout


def test_with_no_webhook_it_says_nothing_was_sent_and_why(tmp_path: Path) -> None:
    env = env_for(tmp_path / "home")
    done = run_cli("trigger", "verification.completed", "--key", new_key(env), env=env)
    assert done.returncode == 0
    assert "Nothing was sent: no active webhook of this API key subscribes" in done.stdout
    assert "livehook listen" in done.stdout
