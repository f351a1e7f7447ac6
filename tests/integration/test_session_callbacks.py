"""Session callbacks made whole: a retry policy per session, a delivery log per session and per
key, redelivery, and a rotatable callback secret."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import standardwebhooks

from livehook.receiver import WebhookVerificationError, verify
from livehook.services.registry import Services
from tests.support.deliveries import FakeClock, WorkerFactory
from tests.support.http import auth, data
from tests.support.receivers import Receiver
from tests.support.sessions import post_failure, post_result, post_stage


async def new_session(client: httpx.AsyncClient, key: str, url: str, **fields: Any) -> str:
    body = {"model": "mixed-30-v2", "callback_url": url} | fields
    return str(data(await client.post("/v1/sessions", json=body, headers=auth(key)), 201)["id"])


async def attempts(client: httpx.AsyncClient, key: str, delivery_id: str) -> list[Any]:
    detail = data(await client.get(f"/v1/deliveries/{delivery_id}", headers=auth(key)))
    return list(detail["attempts"])


async def callbacks(client: httpx.AsyncClient, key: str, query: str = "") -> list[Any]:
    return list(data(await client.get(f"/v1/callbacks{query}", headers=auth(key)))["items"])


async def test_a_verifeye_callback_is_one_attempt_and_one_retry(
    client: httpx.AsyncClient,
    full_key: str,
    receiver: Receiver,
    make_worker: WorkerFactory,
    clock: FakeClock,
) -> None:
    session = await new_session(
        client, full_key, receiver.url("/fail/ve"), callback_profile="verifeye"
    )
    assert (
        data(await client.get(f"/v1/sessions/{session}", headers=auth(full_key)))[
            "callback_profile"
        ]
        == "verifeye"
    )
    data(await post_failure(client, full_key, session))
    worker = make_worker(clock)
    for _ in range(4):  # long past every delay the standard policy would have used
        await worker.run_burst()
        clock.advance(3600)
    [callback] = await callbacks(client, full_key)
    assert (callback["status"], callback["attempt_count"]) == ("failed", 2)
    assert len(receiver.at("/fail/ve")) == 2


async def test_a_sessions_own_retry_policy_wins_over_its_profiles(
    client: httpx.AsyncClient,
    full_key: str,
    receiver: Receiver,
    make_worker: WorkerFactory,
    clock: FakeClock,
) -> None:
    session = await new_session(
        client,
        full_key,
        receiver.url("/fail/own"),
        callback_profile="verifeye",
        callback_retry_policy=[10, 10, 10],
    )
    data(await post_failure(client, full_key, session))
    worker = make_worker(clock)
    for _ in range(6):
        await worker.run_burst()
        clock.advance(11)
    assert len(receiver.at("/fail/own")) == 4


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"callback_profile": "svix"}, "callback_profile"),
        ({"callback_retry_policy": [0]}, "callback_retry_policy"),
        ({"callback_retry_policy": "twice"}, "callback_retry_policy"),
    ],
)
async def test_a_bad_callback_setting_is_a_clear_422(
    client: httpx.AsyncClient, full_key: str, fields: dict[str, Any], field: str
) -> None:
    body = {"model": "mixed-30-v2", "callback_url": "http://127.0.0.1:9/cb"} | fields
    answer = await client.post("/v1/sessions", json=body, headers=auth(full_key))
    assert answer.status_code == 422 and field in answer.text


async def test_session_delivery_log_filters_and_redelivers_a_callback(
    client: httpx.AsyncClient,
    services: Services,
    full_key: str,
    receiver: Receiver,
    make_worker: WorkerFactory,
    clock: FakeClock,
) -> None:
    hook = {"url": receiver.url("/ok/hook")}
    data(await client.post("/v1/webhooks", json=hook, headers=auth(full_key)), 201)
    callback_url = receiver.script("/script/cb", 500, 500, 500, 500, 500, 500, 500, 500)
    session = await new_session(client, full_key, callback_url, callback_retry_policy="once")
    data(await post_stage(client, full_key, session, "liveness.started"))
    data(await post_result(client, full_key, session))
    worker = make_worker(clock)
    await worker.run_burst()
    clock.advance(6)
    await worker.run_burst()

    log = f"/v1/sessions/{session}/deliveries"
    every = data(await client.get(log, headers=auth(full_key)))["items"]
    assert len(every) == 5  # initialized, liveness started and passed, completed; the callback
    [failed] = data(await client.get(f"{log}?status=failed", headers=auth(full_key)))["items"]
    assert failed["webhook_id"] is None and failed["event_type"] == "verification.completed"
    completed = data(
        await client.get(f"{log}?event=verification.completed", headers=auth(full_key))
    )
    assert len(completed["items"]) == 2
    assert [c["id"] for c in await callbacks(client, full_key, "?status=failed")] == [failed["id"]]

    other = (await services.keys.create(account_name="other")).plaintext
    assert (await client.get(log, headers=auth(other))).status_code == 404
    assert await callbacks(client, other) == []

    receiver._scripts["/script/cb"].clear()  # the receiver is fixed
    redelivered = f"/v1/deliveries/{failed['id']}/redeliver"
    data(await client.post(redelivered, headers=auth(full_key)), 202)
    clock.advance(1)
    await worker.run_burst()
    [callback] = await callbacks(client, full_key)
    assert (callback["status"], callback["attempt_count"]) == ("succeeded", 3)


async def test_a_rotated_callback_secret_is_shown_once_and_overlaps(
    client: httpx.AsyncClient,
    services: Services,
    receiver: Receiver,
    make_worker: WorkerFactory,
    clock: FakeClock,
) -> None:
    created = await services.keys.create(account_name="acme", name="admin")
    key, old = created.plaintext, created.callback_secret
    rotate = f"/v1/keys/{created.key.id}/rotate-callback-secret"
    rotated = data(await client.post(rotate, json={"overlap_seconds": 3600}, headers=auth(key)))
    new = rotated["callback_secret"]
    assert new.startswith("whsec_") and new != old and rotated["previous_secret_expires_at"]

    session = await new_session(client, key, receiver.url("/ok/cb"))
    data(await post_failure(client, key, session))
    await make_worker(clock).run_burst()
    [got] = receiver.at("/ok/cb")
    now = clock().timestamp()
    for secret in (new, old):  # either one alone verifies during the overlap
        assert verify(got.body, got.headers, secret, now=now)["event"] == "verification.failed"
    [delivery] = await callbacks(client, key)
    [attempt] = await attempts(client, key, delivery["id"])
    assert new not in json.dumps(attempt) and old not in json.dumps(attempt)

    data(await client.post(rotate, json={"overlap_seconds": 0}, headers=auth(key)))
    session = await new_session(client, key, receiver.url("/ok/cb2"))
    data(await post_failure(client, key, session))
    await make_worker(clock).run_burst()
    [got] = receiver.at("/ok/cb2")
    with pytest.raises(WebhookVerificationError):
        verify(got.body, got.headers, new, now=clock().timestamp())

    other = (await services.keys.create(account_name="other")).plaintext
    assert (await client.post(rotate, headers=auth(other))).status_code == 404


async def test_callbacks_of_two_accounts_to_one_url_are_each_signed_with_their_keys_secret(
    client: httpx.AsyncClient,
    services: Services,
    receiver: Receiver,
    make_worker: WorkerFactory,
    clock: FakeClock,
) -> None:
    url = receiver.url("/ok/shared")
    keys = [await services.keys.create(account_name=name) for name in ("acme", "globex")]
    for key in keys:
        session = await new_session(client, key.plaintext, url)
        data(await post_failure(client, key.plaintext, session))
    await make_worker(clock).run_burst()  # one batch: both share the endpoint

    assert len(receiver.at("/ok/shared")) == 2
    now = clock().timestamp()
    signers = []
    for got in receiver.at("/ok/shared"):
        verified = []
        for key in keys:
            try:
                verify(got.body, got.headers, key.callback_secret, now=now)
                verified.append(key.account.name)
            except WebhookVerificationError:
                pass
        signers.append(verified)
    assert sorted(signers) == [["acme"], ["globex"]]


async def test_a_session_shows_the_callback_policy_in_force(
    client: httpx.AsyncClient, full_key: str
) -> None:
    url = "http://127.0.0.1:9/cb"
    shown = []
    for fields in ({}, {"callback_profile": "verifeye"}, {"callback_retry_policy": [30]}):
        session = await new_session(client, full_key, url, **fields)
        polled = data(await client.get(f"/v1/sessions/{session}", headers=auth(full_key)))
        shown.append((polled["callback_profile"], polled["callback_retry_policy"]))
    assert shown == [("livehook", "standard"), ("verifeye", "once"), ("livehook", [30])]


async def test_callbacks_of_several_profiles_to_one_url_each_keep_their_own_signature(
    client: httpx.AsyncClient,
    services: Services,
    receiver: Receiver,
    make_worker: WorkerFactory,
    clock: FakeClock,
) -> None:
    created = await services.keys.create(account_name="acme")
    key, secret = created.plaintext, created.callback_secret
    url = receiver.url("/ok/shared")
    for profile in ("standard-webhooks", "verifyyou", "livehook"):
        session = await new_session(client, key, url, callback_profile=profile)
        data(await post_failure(client, key, session))
    await make_worker(clock).run_burst()  # one batch, one endpoint

    by_profile = {}
    for got in receiver.at("/ok/shared"):
        names = {name.lower() for name, _ in got.headers}
        profile = (
            "standard-webhooks"
            if "webhook-signature" in names
            else "verifyyou"
            if "x-verifyyou-signature" in names
            else "livehook"
        )
        by_profile[profile] = verify(got.body, got.headers, secret, now=clock().timestamp())
    assert set(by_profile) == {"standard-webhooks", "verifyyou", "livehook"}
    assert by_profile["verifyyou"]["stage"] == "verification_failed"
    assert (
        standardwebhooks.Webhook(secret).verify(
            next(g.body for g in receiver.at("/ok/shared") if g.header("webhook-id")),
            dict(next(g.headers for g in receiver.at("/ok/shared") if g.header("webhook-id"))),
        )["event"]
        == "verification.failed"
    )
