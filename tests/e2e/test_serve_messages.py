"""What `livehook serve` tells a person at start, and how it fails on a taken port."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.processes import env_for, run_cli, serving, serving_on_a_terminal

KEY_PATTERN = re.compile(r"lh_[A-Za-z0-9_-]{40,}")


def test_start_says_which_database_whether_the_worker_runs_and_local_urls(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with serving(env_for(home)) as server:
        pass
    assert f"database sqlite:///{home / 'livehook.db'}" in server.output
    assert "delivery worker runs in 1 process beside the API" in server.output
    assert "local webhook URLs refused (LIVEHOOK_ALLOW_LOCAL_URLS=true allows them" in server.output

    env = env_for(home, LIVEHOOK_RUN_WORKER="false", LIVEHOOK_ALLOW_LOCAL_URLS="true")
    with serving(env) as server:
        pass
    assert "delivery worker off (LIVEHOOK_RUN_WORKER=false): run `livehook worker`" in (
        server.output
    )
    assert "local webhook URLs allowed (LIVEHOOK_ALLOW_LOCAL_URLS=true" in server.output


def test_a_taken_port_fails_before_claiming_to_listen(tmp_path: Path) -> None:
    env = env_for(tmp_path / "home")
    with serving(env) as server:
        port = server.base.rsplit(":", 1)[1]
        second = run_cli("serve", "--port", port, env=env_for(tmp_path / "other"))
    assert second.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in second.stdout
    assert "listening" not in second.stdout
    assert not KEY_PATTERN.findall(second.stdout)  # nothing created for a server that never ran


def test_the_welcome_key_comes_when_only_scoped_keys_were_made_before(tmp_path: Path) -> None:
    env = env_for(tmp_path / "home")
    scoped = run_cli("keys", "create", "--account", "acme", "--scope", "stats:read", env=env)
    assert scoped.returncode == 0, scoped.stderr
    with serving_on_a_terminal(env) as server:  # secrets are shown to a person only
        pass
    assert len(KEY_PATTERN.findall(server.output)) == 1, server.output
    assert "Welcome to livehook" in server.output
    with serving_on_a_terminal(env) as server:
        pass
    assert not KEY_PATTERN.findall(server.output)  # once: a full-access key exists now
