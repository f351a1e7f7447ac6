"""`livehook keys|webhooks|deliveries` listings: JSON on request, ids whole at any width."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.processes import env_for, run_cli


def cli_json(*args: str, env: dict[str, str]) -> object:
    done = run_cli(*args, "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def test_listings_give_json_and_whole_ids_on_a_narrow_terminal(tmp_path: Path) -> None:
    env = env_for(tmp_path / "home", COLUMNS="80")
    created = cli_json("keys", "create", "--account", "acme", env=env)
    assert isinstance(created, dict)
    key = created["key"]

    [listed_key] = cli_json("keys", "list", env=env)  # type: ignore[misc]
    assert listed_key["id"] == created["id"] and "key" not in listed_key
    assert created["id"] in run_cli("keys", "list", env=env).stdout

    webhook = cli_json(
        "webhooks",
        "create",
        "https://example.com/hooks",
        "--key",
        key,
        "--event",
        "verification.completed",
        env=env,
    )
    assert isinstance(webhook, dict) and webhook["secret"].startswith("whsec_")
    [listed] = cli_json("webhooks", "list", "--key", key, env=env)  # type: ignore[misc]
    assert listed["id"] == webhook["id"] and "secret" not in listed
    assert webhook["id"] in run_cli("webhooks", "list", "--key", key, env=env).stdout

    queued = run_cli("trigger", "verification.completed", "--key", key, "--no-wait", env=env)
    assert "1 deliveries queued" in queued.stdout, queued.stdout + queued.stderr
    [delivery] = cli_json("deliveries", "list", "--key", key, env=env)  # type: ignore[misc]
    assert delivery["webhook_id"] == webhook["id"]
    assert delivery["event_type"] == "verification.completed"
    assert delivery["via_cli"] is False
    assert delivery["id"] in run_cli("deliveries", "list", "--key", key, env=env).stdout

    detail = cli_json("deliveries", "get", delivery["id"], "--key", key, env=env)
    assert isinstance(detail, dict)
    assert json.loads(detail["request_body"])["event"] == "verification.completed"
    assert detail["attempts"] == []

    again = run_cli("deliveries", "redeliver", delivery["id"], "--key", key, env=env)
    assert again.returncode == 0 and f"{delivery['id']} queued again" in again.stdout

    missing = run_cli("deliveries", "get", "dlv_nope", "--key", key, env=env)
    assert missing.returncode == 1 and "delivery dlv_nope not found" in missing.stderr
    assert missing.stdout == ""
