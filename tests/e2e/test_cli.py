"""The `livehook` command as a user runs it: a real process, real HTTP, a real database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from livehook import __version__
from tests.support.processes import env_for, run_cli, serving, serving_on_a_terminal

KEY_PATTERN = re.compile(r"lh_[A-Za-z0-9_-]{40,}")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "livehook-home"


def test_version(home: Path) -> None:
    result = run_cli("--version", env=env_for(home))
    assert result.returncode == 0 and __version__ in result.stdout


def test_serve_creates_default_key_once_and_it_works(home: Path) -> None:
    env = env_for(home)
    with serving_on_a_terminal(env) as server:
        me = httpx.get(f"{server.base}/v1/me", headers={"Authorization": "Bearer nope"})
        assert me.status_code == 401
    keys = set(KEY_PATTERN.findall(server.output))
    assert len(keys) == 1, server.output
    assert f"{server.base}/docs" in server.output.replace("\n", "")
    assert (home / "secret.key").exists()

    with serving(env) as server:
        me = httpx.get(f"{server.base}/v1/me", headers={"Authorization": f"Bearer {keys.pop()}"})
        assert me.status_code == 200 and me.json()["data"]["account_name"] == "default"
    assert not KEY_PATTERN.findall(server.output)  # shown once


def test_the_first_key_never_reaches_a_log_file(home: Path) -> None:
    """With its output going to a file or a pipe (a container's log), serve prints no secret."""
    with serving(env_for(home)) as server:
        pass
    assert not KEY_PATTERN.findall(server.output), server.output
    assert "livehook keys create --account default" in server.output.replace("\n", "")


def test_keys_create_json_then_revoke(home: Path) -> None:
    env = env_for(home)
    created = run_cli("keys", "create", "--account", "acme", "--name", "ci", "--json", env=env)
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert {"id", "key", "scopes", "callback_secret"} <= set(key) and key["scopes"] == []
    scoped = json.loads(
        run_cli(
            "keys", "create", "--account", "acme", "--scope", "stats:read", "--json", env=env
        ).stdout
    )
    assert scoped["scopes"] == ["stats:read"]

    listing = run_cli("keys", "list", env=env)
    assert key["id"] in listing.stdout and key["key"] not in listing.stdout

    with serving(env) as server:
        base = server.base
        headers = {"Authorization": f"Bearer {key['key']}"}
        me = httpx.get(f"{base}/v1/me", headers=headers).json()["data"]
        assert me["account_name"] == "acme" and me["key_id"] == key["id"]
        refused = httpx.get(f"{base}/v1/keys", headers={"Authorization": f"Bearer {scoped['key']}"})
        assert refused.status_code == 403

        revoked = run_cli("keys", "revoke", key["id"], env=env)
        assert revoked.returncode == 0, revoked.stderr
        assert httpx.get(f"{base}/v1/me", headers=headers).status_code == 401


def test_unknown_scope_is_a_clean_error(home: Path) -> None:
    result = run_cli("keys", "create", "--account", "a", "--scope", "root", env=env_for(home))
    assert result.returncode == 1
    assert "unknown scope" in result.stderr and "Traceback" not in result.stderr


def test_postgres_without_secret_key_is_a_clear_startup_error(home: Path) -> None:
    env = env_for(home, LIVEHOOK_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test")
    result = run_cli("serve", env=env)
    assert result.returncode == 1
    assert "LIVEHOOK_SECRET_KEY is required" in result.stderr


@pytest.mark.parametrize("command", [("migrate",), ("keys", "list")])
def test_a_setting_that_cannot_work_is_a_clean_error_naming_it(
    home: Path, command: tuple[str, ...]
) -> None:
    result = run_cli(*command, env=env_for(home, LIVEHOOK_RETENTION_DAYS="a month"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "LIVEHOOK_RETENTION_DAYS must be a whole number" in result.stderr
