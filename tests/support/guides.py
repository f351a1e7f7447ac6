"""Receivers written from each provider's published guide, run for real on 127.0.0.1.

The guides' own code is kept here as published and run unchanged: Moveris' Python
``verify_webhook`` (exec'd from its text) and VerifyYou's Node ``verify`` (TypeScript annotations
stripped mechanically, run by the machine's ``node`` inside a plain ``node:http`` server). The
other receivers use only the field and header names their guide documents. Every receiver
answers 200 with a JSON object of what it read, which livehook keeps in the attempt log; a
receiver that cannot read a delivery answers 4xx/5xx, as a real one would. The Python receivers
also check each delivery with ``livehook.receiver.verify`` and say so in their answer.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import standardwebhooks
from aiohttp import web
from multidict import CIMultiDictProxy

from livehook.receiver import WebhookVerificationError, verify

# Moveris Webhook Setup Guide, "Verifying the Signature", as published.
MOVERIS_PYTHON_SNIPPET = """
import hmac
import hashlib

def verify_webhook(payload_bytes: bytes, signature_header: str, secret: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), payload_bytes, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature_header)
"""

# VerifyYou webhooks guide, "Verifying the signature" (Node), as published.
VERIFYYOU_NODE_SNIPPET = """
import crypto from "node:crypto";

function verify(rawBody: Buffer, signatureHeader: string, secret: string): boolean {
  const expected =
    "sha256=" + crypto.createHmac("sha256", secret).update(rawBody).digest("hex");
  return (
    signatureHeader.length === expected.length &&
    crypto.timingSafeEqual(Buffer.from(signatureHeader), Buffer.from(expected))
  );
}
"""

# Only the TypeScript annotations go: `: Buffer`, `: string`, `: boolean`.
_TS_ANNOTATION = re.compile(r"(?<=[\w)]): (?:Buffer|string|boolean)\b")


def node_snippet() -> str:
    return _TS_ANNOTATION.sub("", VERIFYYOU_NODE_SNIPPET)


# A VerifyYou customer's server around the guide's function: verify, parse, read the fields.
_NODE_SERVER = """
import http from "node:http";
import fs from "node:fs";

const secretFile = process.argv[2];
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    try {
      const rawBody = Buffer.concat(chunks);
      const secret = fs.readFileSync(secretFile, "utf8").trim();
      if (!verify(rawBody, req.headers["x-verifyyou-signature"], secret)) {
        res.writeHead(401);
        res.end("invalid signature");
        return;
      }
      const event = JSON.parse(rawBody.toString("utf8"));
      const read = {
        stage: event.stage,
        step: event.step,
        occurred_at: event.occurred_at,
        verification_id: event.verification_id,
        external_id: event.external_id,
        external_tracker: event.external_tracker,
        trust_score: event.trust_score,
        event_header: req.headers["x-verifyyou-event"],
      };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(read));
    } catch (error) {
      res.writeHead(500);
      res.end(String(error));
    }
  });
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
"""


def moveris_verify_webhook() -> Callable[[bytes, str, str], bool]:
    scope: dict[str, Any] = {}
    exec(MOVERIS_PYTHON_SNIPPET, scope)
    function: Callable[[bytes, str, str], bool] = scope["verify_webhook"]
    return function


@dataclass
class NodeReceiver:
    port: int
    secret_file: Path

    def url(self, path: str = "/webhooks/verifyyou") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def use_secret(self, secret: str) -> None:
        """The customer swaps in a new secret (after a rotation)."""
        self.secret_file.write_text(secret)


@asynccontextmanager
async def running_node_receiver(directory: Path, secret: str) -> AsyncIterator[NodeReceiver]:
    node = shutil.which("node")
    assert node is not None, "the VerifyYou guide's receiver runs on node"
    script = directory / "verifyyou-receiver.mjs"
    script.write_text(node_snippet() + _NODE_SERVER)
    secret_file = directory / "verifyyou-secret"
    secret_file.write_text(secret)
    process = await asyncio.create_subprocess_exec(
        node, str(script), str(secret_file), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 10)
        yield NodeReceiver(int(line), secret_file)
    finally:
        process.terminate()
        await process.wait()


Judge = Callable[[bytes, CIMultiDictProxy[str], str], dict[str, Any]]


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def moveris_receiver(body: bytes, headers: CIMultiDictProxy[str], secret: str) -> dict[str, Any]:
    """A Moveris customer: an agent allow-list, the guide's snippet, then event/session/data."""
    if headers.get("User-Agent") != "Moveris-Webhook/1.0":
        raise Refused(403, "unknown agent")
    if not moveris_verify_webhook()(body, headers["X-Webhook-Signature"], secret):
        raise Refused(401, "invalid signature")
    event = json.loads(body)
    read = {
        "event": event["event"],
        "session_id": event["session_id"],
        "timestamp": event["timestamp"],
        "event_header": headers["X-Webhook-Event"],
        "session_header": headers["X-Webhook-Session"],
    }
    if event["event"] == "verification.completed":
        read["verdict"] = event["data"]["verdict"]
        read["score"] = event["data"]["score"]
    elif event["event"] == "verification.failed":
        read["error"] = event["data"]
    return read


def verifeye_receiver(body: bytes, headers: CIMultiDictProxy[str], secret: str) -> dict[str, Any]:
    """A VerifEye customer: the guide's two fields, nothing else (the guide signs nothing)."""
    del headers, secret
    event = json.loads(body)
    if event["event"] != "VerificationCompleted":
        raise Refused(400, "unexpected event")
    return {"event": event["event"], "verificationSessionId": event["verificationSessionId"]}


def verifyyou_receiver(body: bytes, headers: CIMultiDictProxy[str], secret: str) -> dict[str, Any]:
    """A VerifyYou customer in Python: the guide's header names and flat fields."""
    import hashlib
    import hmac

    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, headers["X-VerifyYou-Signature"]):
        raise Refused(401, "invalid signature")
    event = json.loads(body)
    if event["stage"] != headers["X-VerifyYou-Event"]:
        raise Refused(400, "event header and body disagree")
    fields = ("stage", "step", "occurred_at", "verification_id", "external_id")
    return {name: event[name] for name in (*fields, "external_tracker", "trust_score")}


def standard_webhooks_receiver(
    body: bytes, headers: CIMultiDictProxy[str], secret: str
) -> dict[str, Any]:
    """A Standard Webhooks consumer: the reference `standardwebhooks` verifier."""
    try:
        event = standardwebhooks.Webhook(secret).verify(body, dict(headers))
    except standardwebhooks.WebhookVerificationError as error:
        raise Refused(401, str(error)) from None
    return {"event": event["event"], "id": event["id"], "webhook_id": headers["webhook-id"]}


@dataclass
class GuideReceivers:
    """One aiohttp server; each path runs one guide's receiver with the customer's secrets."""

    now: Callable[[], float]
    port: int = 0
    judges: dict[str, Judge] = field(default_factory=dict)
    secrets: dict[str, list[str]] = field(default_factory=dict)  # newest first
    fail_next: dict[str, int] = field(default_factory=dict)
    answers: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)

    def mount(self, path: str, judge: Judge, secret: str) -> str:
        self.judges[path] = judge
        self.secrets[path] = [secret]
        return f"http://127.0.0.1:{self.port}{path}"

    def read(self, path: str) -> list[dict[str, Any]]:
        return [read for at, status, read in self.answers if at == path and status == 200]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        path = request.path
        if self.fail_next.get(path):
            self.fail_next[path] -= 1
            self.answers.append((path, 503, {}))
            return web.Response(status=503, text="down for a deploy")
        secrets = self.secrets[path]
        try:
            read = self.judges[path](body, request.headers, secrets[0])
            # The same delivery, checked by livehook's own verifier with every live secret.
            verified = verify(body, request.headers, secrets, now=self.now())
        except Refused as refused:
            self.answers.append((path, refused.status, {}))
            return web.Response(status=refused.status, text=str(refused))
        except (KeyError, ValueError, TypeError, WebhookVerificationError) as error:
            self.answers.append((path, 500, {}))
            return web.Response(status=500, text=f"{type(error).__name__}: {error}")
        read["livehook_verified"] = verified == json.loads(body)
        self.answers.append((path, 200, read))
        return web.json_response(read)


@asynccontextmanager
async def running_guide_receivers(now: Callable[[], float]) -> AsyncIterator[GuideReceivers]:
    receivers = GuideReceivers(now)
    app = web.Application()
    app.router.add_post("/{tail:.*}", receivers.handle)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receivers.port = runner.addresses[0][1]
    try:
        yield receivers
    finally:
        await runner.cleanup()
