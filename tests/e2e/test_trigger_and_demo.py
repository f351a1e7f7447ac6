"""`livehook trigger` and `livehook demo` as a person runs them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from livehook.config import Settings
from livehook.services.webhooks import WebhookDraft
from tests.support.app import build_services
from tests.support.processes import env_for, run_cli


def test_demo_shows_every_delivery_verified(tmp_path: Path) -> None:
    result = run_cli("demo", env=env_for(tmp_path / "home"), timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    verified = re.findall(
        r"✓ .* (\S+\.\S+)\s+evt_\S+\s+\d+ bytes, signature verified", result.stdout
    )
    # The verdict's two events are sent concurrently; the others arrive one report at a time.
    assert verified[:5] == [
        "verification.initialized",
        "verification.started",
        "account.created",
        "consent.granted",
        "liveness.started",
    ]
    assert sorted(verified[5:]) == ["liveness.passed", "verification.completed"]
    assert "All deliveries arrived and verified." in result.stdout
    assert result.stdout.count("succeeded") == 7


class _Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[bytes, dict[str, str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, dict(self.headers.items())))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _register_webhook(home: Path, key: str, url: str) -> str:
    async def register() -> str:
        services = build_services(Settings(home=home, allow_local_urls=True))
        try:
            principal = await services.keys.authenticate(key)
            assert principal is not None
            return (await services.webhooks.create(principal, WebhookDraft(url=url))).secret
        finally:
            await services.db.dispose()

    return asyncio.run(register())


def test_trigger_drives_a_session_and_its_webhook_gets_signed_deliveries(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    env = env_for(home, LIVEHOOK_ALLOW_LOCAL_URLS="true")
    key = json.loads(run_cli("keys", "create", "--account", "acme", "--json", env=env).stdout)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        secret = _register_webhook(home, key["key"], f"http://127.0.0.1:{server.server_port}/h")
        result = run_cli(
            "trigger", "liveness.failed", "--key", key["key"], "--send", env=env, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        server.shutdown()
        server.server_close()
    events = sorted(json.loads(body)["event"] for body, _ in _Recorder.received)
    # Sent concurrently: order is not guaranteed (docs/architecture.md, the queue), the set is.
    assert events == sorted(
        [
            "verification.initialized",
            "verification.started",
            "account.created",
            "consent.granted",
            "liveness.started",
            "liveness.failed",
            "verification.completed",
        ]
    )
    for body, headers in _Recorder.received:
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Webhook-Signature"] == expected


def test_trigger_refuses_unknown_events_and_bad_keys(tmp_path: Path) -> None:
    env = env_for(tmp_path / "home")
    unknown = run_cli("trigger", "verification.done", "--key", "lh_x", env=env)
    assert unknown.returncode == 1 and "cannot trigger" in unknown.stderr
    bad_key = run_cli("trigger", "verification.started", "--key", "lh_nope", env=env)
    assert bad_key.returncode == 1 and "invalid or revoked API key" in bad_key.stderr
