"""Tried as a migrating customer of each provider: the receiver written from that provider's guide,
pointed at livehook, verifies and reads every delivery with no change to its code.

Sessions go through the API to every ending (a live verdict after the whole journey, a fake one,
a pipeline failure, an abandoned liveness step); a real worker delivers to real receivers on
127.0.0.1 (tests/support/guides.py); then a test event, a retry after a failed attempt, and a
secret rotation. Every delivery of a webhook and of a session callback must reach a 2xx.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from livehook.receiver import verify
from livehook.services.registry import Services
from livehook.storage.delivery_queue_sql import DELIVERY_COLUMNS, WITH_BODY
from livehook.storage.repositories.delivery_log import DeliveryLogRepository
from livehook.storage.tables import deliveries
from tests.support.deliveries import FakeClock, WorkerFactory
from tests.support.guides import (
    GuideReceivers,
    Judge,
    moveris_receiver,
    running_guide_receivers,
    running_node_receiver,
    standard_webhooks_receiver,
    verifeye_receiver,
    verifyyou_receiver,
)
from tests.support.http import auth, data
from tests.support.sessions import FAKE, LIVE, post_failure, post_result, post_stage

JOURNEY = ["verification.started", "account.created", "consent.granted", "liveness.started"]
# Session events of the four sessions `drive_every_ending` runs, in catalog names.
EVERY_EVENT = Counter(
    ["verification.initialized"] * 5
    + JOURNEY
    + ["liveness.passed", "verification.completed"]
    + ["liveness.started", "liveness.passed", "face.collision", "verification.completed"]
    + ["liveness.started", "liveness.failed", "verification.completed"]
    + ["verification.started", "verification.failed"]
    + ["liveness.started", "liveness.cancelled"]
)
ENDINGS = Counter(["verification.completed"] * 3 + ["verification.failed", "liveness.cancelled"])


def livehook_receiver(body: bytes, headers: Any, secret: str) -> dict[str, Any]:
    """A livehook customer: `livehook.receiver` alone (the GuideReceivers run it on all)."""
    del secret
    event = json.loads(body)
    return {"event": event["event"], "id": event["id"], "event_header": headers["X-Webhook-Event"]}


@dataclass
class Customer:
    client: httpx.AsyncClient
    key: str
    callback_secret: str
    clock: FakeClock

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.key)

    async def session(
        self, callback_url: str | None = None, profile: str = "livehook", **fields: Any
    ) -> str:
        body = {
            "model": "mixed-30-v2",
            "external_id": "user_123",
            "external_tracker": "signup-campaign",
            "callback_url": callback_url,
            "callback_profile": profile,
        } | fields
        created = await self.client.post("/v1/sessions", json=body, headers=self.headers)
        return str(data(created, 201)["id"])

    async def stages(self, session_id: str, *stages: str) -> None:
        for stage in stages:
            data(await post_stage(self.client, self.key, session_id, stage, trust_score=0.8))


@pytest.fixture
async def customer(client: httpx.AsyncClient, services: Services) -> Customer:
    created = await services.keys.create(account_name="acme", name="admin")
    # A minute ahead of the API's clock: what the API queues now is due for the worker.
    clock = FakeClock(datetime.now(UTC) + timedelta(minutes=1))
    return Customer(client, created.plaintext, created.callback_secret, clock)


@pytest.fixture
async def receivers(customer: Customer) -> AsyncIterator[GuideReceivers]:
    async with running_guide_receivers(lambda: customer.clock().timestamp()) as running:
        yield running


async def drive_every_ending(customer: Customer, callback_url: str, profile: str) -> list[str]:
    """Five sessions: live after the whole journey, a face collision, fake, failed, abandoned
    liveness."""
    c = customer
    sessions = [await c.session(callback_url, profile) for _ in range(5)]
    live, collision, fake, failed, cancelled = sessions
    await c.stages(live, *JOURNEY)
    data(await post_result(c.client, c.key, live))
    await c.stages(collision, "liveness.started")
    data(await post_result(c.client, c.key, collision, face_collision=True))
    await c.stages(fake, "liveness.started")
    data(await post_result(c.client, c.key, fake, **FAKE))
    await c.stages(failed, "verification.started")
    data(await post_failure(c.client, c.key, failed))
    await c.stages(cancelled, "liveness.started", "liveness.cancelled")
    return sessions


async def statuses(services: Services) -> Counter[str]:
    async with services.db.transaction() as tx:
        rows = (await tx.conn.execute(select(deliveries.c.status))).all()
    return Counter(r.status for r in rows)


async def webhook(customer: Customer, url: str, profile: str, **fields: Any) -> Any:
    body = {"url": url, "wire_profile": profile} | fields
    return data(
        await customer.client.post("/v1/webhooks", json=body, headers=customer.headers), 201
    )


GUIDES: dict[str, tuple[Judge, Callable[[str], str]]] = {
    "livehook": (livehook_receiver, lambda event: event),
    "standard-webhooks": (standard_webhooks_receiver, lambda event: event),
    "moveris": (moveris_receiver, lambda event: event),
    "verifeye": (verifeye_receiver, lambda _: "VerificationCompleted"),
    "verifyyou": (verifyyou_receiver, lambda event: event.replace(".", "_")),
}
WEBHOOK_EVENTS = {
    "livehook": EVERY_EVENT,
    "standard-webhooks": EVERY_EVENT,
    "moveris": Counter({"verification.completed": 3, "verification.failed": 1}),
    "verifeye": ENDINGS,
    "verifyyou": EVERY_EVENT - Counter({"verification.failed": 1}),
}


def names_read(reads: list[dict[str, Any]]) -> Counter[str]:
    return Counter(r.get("event") or r.get("stage") for r in reads)


@pytest.mark.parametrize("profile", list(GUIDES))
async def test_the_guides_receiver_reads_every_delivery_of_every_ending(
    profile: str,
    customer: Customer,
    receivers: GuideReceivers,
    services: Services,
    make_worker: WorkerFactory,
) -> None:
    judge, wire_name = GUIDES[profile]
    created = await webhook(customer, receivers.mount("/hook", judge, ""), profile)
    receivers.secrets["/hook"] = [created["secret"]]
    callback = receivers.mount("/callback", judge, customer.callback_secret)
    worker = make_worker(customer.clock)

    sessions = await drive_every_ending(customer, callback, profile)
    await worker.run_burst()

    callbacks = sum(ENDINGS.values())
    assert await statuses(services) == {
        "succeeded": sum(WEBHOOK_EVENTS[profile].values()) + callbacks
    }
    expected = Counter(wire_name(e) for e in WEBHOOK_EVENTS[profile].elements())
    assert names_read(receivers.read("/hook")) == expected
    assert names_read(receivers.read("/callback")) == Counter(
        wire_name(e) for e in ENDINGS.elements()
    )
    assert all(
        r["livehook_verified"] for r in receivers.read("/hook") + receivers.read("/callback")
    )
    ids_read = {
        r.get("verificationSessionId") or r.get("verification_id") or r.get("session_id")
        for r in receivers.read("/callback")
    }
    if profile != "livehook" and profile != "standard-webhooks":
        assert ids_read == set(sessions)


async def test_moveris_receiver_blocks_the_livehook_agent_and_accepts_the_documented_one(
    customer: Customer, receivers: GuideReceivers, make_worker: WorkerFactory
) -> None:
    plain = await webhook(customer, receivers.mount("/plain", moveris_receiver, ""), "livehook")
    receivers.secrets["/plain"] = [plain["secret"]]
    moveris = await webhook(customer, receivers.mount("/moveris", moveris_receiver, ""), "moveris")
    receivers.secrets["/moveris"] = [moveris["secret"]]
    session = await customer.session(receivers.mount("/cb", moveris_receiver, "x"), "moveris")
    await customer.stages(session, "liveness.started")
    data(await post_result(customer.client, customer.key, session))
    await make_worker(customer.clock).run_burst()

    assert {(path, status) for path, status, _ in receivers.answers if path == "/plain"} == {
        ("/plain", 403)
    }
    [completed] = [r for r in receivers.read("/moveris") if r["event"] == "verification.completed"]
    assert completed["verdict"] == LIVE["verdict"] and completed["score"] == 94.0
    assert completed["session_id"] == completed["session_header"] == session


async def test_verifyyou_completion_carries_step_six_and_the_sessions_labels(
    customer: Customer, receivers: GuideReceivers, make_worker: WorkerFactory
) -> None:
    hook = await webhook(customer, receivers.mount("/vy", verifyyou_receiver, ""), "verifyyou")
    receivers.secrets["/vy"] = [hook["secret"]]
    session = await customer.session(receivers.mount("/cb", verifyyou_receiver, ""), "livehook")
    await customer.stages(session, *JOURNEY)
    data(await post_result(customer.client, customer.key, session))
    await make_worker(customer.clock).run_burst()

    [completed] = [r for r in receivers.read("/vy") if r["stage"] == "verification_completed"]
    assert completed | {"occurred_at": None} == {
        "stage": "verification_completed",
        "step": 6,
        "occurred_at": None,
        "verification_id": session,
        "external_id": "user_123",
        "external_tracker": "signup-campaign",
        "trust_score": 0.8,
        "livehook_verified": True,
    }
    assert completed["occurred_at"].endswith("+00:00")


async def send_test(customer: Customer, webhook_id: str, event_type: str) -> None:
    body = {"event_type": event_type}
    sent = customer.client.post(
        f"/v1/webhooks/{webhook_id}/test", json=body, headers=customer.headers
    )
    data(await sent, 202)


async def test_test_event_retry_and_rotation_reach_each_guides_receiver(
    customer: Customer, receivers: GuideReceivers, services: Services, make_worker: WorkerFactory
) -> None:
    worker = make_worker(customer.clock)
    hooks = {}
    for profile, (judge, _) in GUIDES.items():
        hooks[profile] = hook = await webhook(
            customer, receivers.mount(f"/{profile}", judge, ""), profile
        )
        receivers.secrets[f"/{profile}"] = [hook["secret"]]
        await send_test(customer, hook["id"], "verification.completed")
    await worker.run_burst()
    for profile in GUIDES:
        assert len(receivers.read(f"/{profile}")) == 1, profile

    # A deploy on every receiver: the first attempt fails, the retry after 5 s is read.
    for profile in GUIDES:
        receivers.fail_next[f"/{profile}"] = 1
    session = await customer.session()
    data(await post_failure(customer.client, customer.key, session))
    await worker.run_burst()
    customer.clock.advance(6)
    await worker.run_burst()
    for profile in GUIDES:
        answers = [status for path, status, _ in receivers.answers if path == f"/{profile}"]
        assert answers[1] == 503 and answers[-1] == 200, (profile, answers)

    # Rotation: the customer swaps in the new secret; the old one still signs beside it.
    for profile in GUIDES:
        rotate = customer.client.post(
            f"/v1/webhooks/{hooks[profile]['id']}/rotate-secret", json={}, headers=customer.headers
        )
        secret = data(await rotate)["secret"]
        receivers.secrets[f"/{profile}"] = [secret, hooks[profile]["secret"]]
    before = {profile: len(receivers.read(f"/{profile}")) for profile in GUIDES}
    session = await customer.session()
    await customer.stages(session, "liveness.started")
    data(await post_result(customer.client, customer.key, session))
    await worker.run_burst()

    assert set(await statuses(services)) == {"succeeded"}
    for profile in GUIDES:
        assert len(receivers.read(f"/{profile}")) > before[profile], profile
        assert all(r["livehook_verified"] for r in receivers.read(f"/{profile}"))
        assert {status for path, status, _ in receivers.answers if path == f"/{profile}"} == {
            200,
            503,
        }


async def test_verifyyou_node_receiver_from_the_guide_reads_every_delivery(
    customer: Customer, services: Services, make_worker: WorkerFactory, tmp_path: Path
) -> None:
    async with running_node_receiver(tmp_path, "pending") as node:
        hook = await webhook(customer, node.url(), "verifyyou")
        node.use_secret(hook["secret"])
        session = await customer.session(node.url("/callback"), "verifyyou")
        await customer.stages(session, *JOURNEY)
        data(await post_result(customer.client, customer.key, session))
        worker = make_worker(customer.clock)
        await worker.run_burst()
        rotated = data(
            await customer.client.post(
                f"/v1/webhooks/{hook['id']}/rotate-secret", json={}, headers=customer.headers
            )
        )
        node.use_secret(rotated["secret"])
        sent = await customer.client.post(
            f"/v1/webhooks/{hook['id']}/test",
            json={"event_type": "liveness.started"},
            headers=customer.headers,
        )
        assert sent.status_code < 300, sent.text
        await worker.run_burst()

    async with services.db.transaction() as tx:
        rows = (
            await tx.conn.execute(
                select(*DELIVERY_COLUMNS)
                .select_from(WITH_BODY)
                .where(deliveries.c.webhook_id == hook["id"])
            )
        ).all()
        log = DeliveryLogRepository(tx)
        attempts = {row.id: await log.attempts(row.id) for row in rows}
    assert {row.status for row in rows} == {"succeeded"}
    read = [json.loads(a[-1].response_body or "{}") for a in attempts.values()]
    stages = Counter(r["stage"] for r in read)
    assert stages == Counter(
        [
            "verification_initialized",
            "verification_started",
            "account_created",
            "consent_granted",
            "liveness_started",
            "liveness_started",
            "liveness_passed",
            "verification_completed",
        ]
    )
    assert all(r["event_header"] == r["stage"] for r in read)
    [completed] = [r for r in read if r["stage"] == "verification_completed"]
    assert (completed["step"], completed["external_id"], completed["trust_score"]) == (
        6,
        "user_123",
        0.8,
    )
    # The same bytes and headers, as livehook logged them, verify with livehook.receiver.
    for row in rows:
        last = attempts[row.id][-1]
        verify(
            row.request_body.encode(),
            last.request_headers,
            [rotated["secret"], hook["secret"]],
            now=customer.clock().timestamp(),
        )
