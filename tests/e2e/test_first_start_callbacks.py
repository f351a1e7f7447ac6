"""`livehook serve` as a VerifEye provider runs it: the first start shows the key's callback
secret beside the key, once, and a callback of that key's session verifies with it."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from livehook.receiver import verify
from tests.support.processes import env_for, serving, serving_on_a_terminal
from tests.support.readme import profile_snippets

KEY = re.compile(r"lh_[A-Za-z0-9_-]{40,}")
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=_-]{20,}")


class _Callbacks(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[bytes, dict[str, str]]]] = []
    arrived: ClassVar[threading.Event] = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, dict(self.headers.items())))
        self.send_response(200)
        self.end_headers()
        self.arrived.set()

    def log_message(self, *args: object) -> None:
        del args


@pytest.fixture
def callback_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Callbacks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_first_start_prints_the_callback_secret_once_and_it_verifies_callbacks(
    tmp_path: Path, callback_server: ThreadingHTTPServer
) -> None:
    env = env_for(
        tmp_path / "home", LIVEHOOK_ALLOW_LOCAL_URLS="1", LIVEHOOK_WIRE_PROFILE="verifeye"
    )
    with serving_on_a_terminal(env) as first:  # secrets are shown to a person only
        pass
    [key] = KEY.findall(first.output)
    [secret] = SECRET.findall(first.output)

    port = callback_server.server_address[1]
    with serving(env) as server:
        headers = {"Authorization": f"ApiKey {key}"}
        body = {
            "model": "mixed-30-v2",
            "webhookConfig": {"eventCallbackUrl": f"http://127.0.0.1:{port}/verifeye"},
        }
        created = httpx.post(f"{server.base}/v1/sessions", json=body, headers=headers)
        session = created.json()["data"]["id"]
        failure = {"code": "video_pipeline_error", "message": "The video could not be decoded."}
        httpx.post(f"{server.base}/v1/sessions/{session}/failure", json=failure, headers=headers)
        assert _Callbacks.arrived.wait(20)
        [(raw, sent)] = _Callbacks.received
        assert verify(raw, sent, secret) == {
            "event": "VerificationCompleted",
            "verificationSessionId": session,
        }
        # The README's verifeye receiver, as copied: verify, then the guide's result lookup.
        scope = {"verify": verify, "httpx": httpx, "raw_body": raw, "headers": sent}
        scope |= {"SECRET": secret, "BASE": server.base, "API_KEY": key}
        exec(profile_snippets()["verifeye"], scope)
        assert scope["result"]["id"] == session and scope["result"]["status"] == "failed"
    assert not SECRET.findall(server.output)  # shown once
