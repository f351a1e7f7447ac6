"""The outbox fan-out: who gets a delivery row, with what body, written atomically."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import text

from livehook.domain.accounts import Principal
from livehook.domain.catalog import SESSION_EVENT_TYPES
from livehook.domain.event_schemas import schema_for
from livehook.domain.payloads import webhook_disabled_data
from livehook.domain.sessions import Event, Session, Verdict
from livehook.domain.webhooks import Webhook
from livehook.services import fanout
from livehook.services.errors import Conflict
from livehook.services.registry import Services
from livehook.services.sessions import SessionDraft, SessionService
from livehook.storage.database import Transaction
from livehook.storage.notify import PostgresListener, SqliteWatcher, asyncpg_dsn
from livehook.storage.repositories.webhooks import WebhookRepository
from livehook.storage.wakeup import Wakeup
from tests.support.http import auth, data
from tests.support.sessions import (
    FAKE,
    MODEL,
    count_rows,
    create_session,
    create_webhook,
    delivery_rows,
    drive,
    event_rows,
    force_stage,
    post_failure,
    post_result,
    post_stage,
)

JOURNEY = ["verification.started", "consent.granted", "liveness.started"]


async def principal_of(services: Services, key: str) -> Principal:
    principal = await services.keys.authenticate(key)
    assert principal is not None
    return principal


async def pass_through(url: str) -> str:
    return url


def types_by_webhook(rows: Sequence[Any]) -> dict[str | None, set[str]]:
    grouped: dict[str | None, set[str]] = defaultdict(set)
    for row in rows:
        grouped[row.webhook_id].add(row.event_type)
    return grouped


async def test_each_webhook_gets_exactly_the_events_it_asked_for(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    everything = await create_webhook(client, full_key, "all")
    completed_only = await create_webhook(
        client, full_key, "done", events=["verification.completed"]
    )
    same_model = await create_webhook(
        client, full_key, "m30", model=MODEL, events=["liveness.started"]
    )
    other_model = await create_webhook(client, full_key, "m60", model="mixed-60-v2")
    disabled = await create_webhook(client, full_key, "off")
    patch = {"status": "disabled"}
    data(await client.patch(f"/v1/webhooks/{disabled['id']}", json=patch, headers=auth(full_key)))
    operational = await create_webhook(client, full_key, "ops", events=["webhook.disabled"])
    sibling_key = (await services.keys.create(account_name="acme", name="ci")).plaintext
    await create_webhook(client, sibling_key, "sibling")
    foreign_key = (await services.keys.create(account_name="globex")).plaintext
    await create_webhook(client, foreign_key, "foreign")

    session_id = (await create_session(client, full_key))["id"]
    await drive(client, full_key, session_id, JOURNEY)
    data(await post_result(client, full_key, session_id))

    rows = await delivery_rows(services.db)
    assert types_by_webhook(rows) == {
        everything["id"]: {
            "verification.initialized",
            *JOURNEY,
            "liveness.passed",
            "verification.completed",
        },
        completed_only["id"]: {"verification.completed"},
        same_model["id"]: {"liveness.started"},
    }
    assert len(rows) == 6 + 1 + 1  # one row per (event, webhook)
    assert other_model["id"] and operational["id"]  # registered, and rightly silent


async def test_a_report_reaches_the_webhooks_its_key_has_when_it_is_made(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    # A report looks at whether its key has an active webhook (SQLite reads it with the
    # session): one added after the session began gets the next report, one disabled since
    # does not, and another key's webhook never counts.
    sibling_key = (await services.keys.create(account_name="acme", name="ci")).plaintext
    await create_webhook(client, sibling_key, "sibling")
    session_id = (await create_session(client, full_key))["id"]
    assert await delivery_rows(services.db) == []

    webhook = await create_webhook(client, full_key, "late")
    assert (await post_stage(client, full_key, session_id, "verification.started")).is_success
    assert types_by_webhook(await delivery_rows(services.db)) == {
        webhook["id"]: {"verification.started"}
    }

    patch = {"status": "disabled"}
    data(await client.patch(f"/v1/webhooks/{webhook['id']}", json=patch, headers=auth(full_key)))
    data(await post_result(client, full_key, session_id))
    assert types_by_webhook(await delivery_rows(services.db)) == {
        webhook["id"]: {"verification.started"}
    }


async def test_delivery_rows_are_pending_now_with_the_webhooks_settings(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    webhook = await create_webhook(
        client, full_key, "sw", payload_format="thin", signature_scheme="standard-webhooks"
    )
    principal = await principal_of(services, full_key)
    created = await create_session(client, full_key)

    [row] = await delivery_rows(services.db)
    [event] = await event_rows(services.db)
    assert row.id.startswith("dlv_") and row.event_id == event.id
    assert (row.account_id, row.api_key_id) == (principal.account_id, principal.key_id)
    assert (row.webhook_id, row.target_url) == (webhook["id"], webhook["url"])
    assert (row.session_id, row.model, row.event_type) == (
        created["id"],
        MODEL,
        "verification.initialized",
    )
    assert (row.payload_format, row.signature_scheme) == ("thin", "standard-webhooks")
    assert (row.status, row.attempt_count, row.lease_token, row.is_test) == (
        "pending",
        0,
        None,
        False,
    )
    assert row.next_attempt_at == row.created_at == row.updated_at == event.created_at
    assert json.loads(row.request_body) == {
        "id": event.id,
        "event": "verification.initialized",
        "session_id": created["id"],
        "timestamp": created["created_at"],
    }


@pytest.mark.parametrize("outcome", ["verification.completed", "verification.failed"])
@pytest.mark.parametrize("fmt", ["full", "thin"])
async def test_callback_url_gets_only_the_outcome_in_the_sessions_format(
    client: httpx.AsyncClient, services: Services, full_key: str, outcome: str, fmt: str
) -> None:
    principal = await principal_of(services, full_key)
    callback = "http://127.0.0.1:9/session-callback"
    session_id = (
        await create_session(client, full_key, callback_url=callback, callback_format=fmt)
    )["id"]
    await drive(client, full_key, session_id, JOURNEY)
    if outcome == "verification.completed":
        data(await post_result(client, full_key, session_id))
    else:
        data(await post_failure(client, full_key, session_id))

    [row] = await delivery_rows(services.db)
    assert row.webhook_id is None and row.target_url == callback
    assert (row.event_type, row.payload_format) == (outcome, fmt)
    assert (row.signature_scheme, row.api_key_id) == ("hmac-sha256", principal.key_id)
    body = json.loads(row.request_body)
    assert body["event"] == outcome and body["session_id"] == session_id
    assert ("data" in body) is (fmt == "full")


async def drive_every_session_event(
    client: httpx.AsyncClient, services: Services, key: str
) -> None:
    """Sessions that between them emit every session event type."""
    happy = (await create_session(client, key, external_id="u1", tenant_metadata={"a": 1}))["id"]
    await drive(client, key, happy, ["verification.started", "account.created", *JOURNEY[1:]])
    data(await post_result(client, key, happy))
    fake = (await create_session(client, key))["id"]
    data(await post_result(client, key, fake, **FAKE))
    cancelled = (await create_session(client, key, external_tracker="spring"))["id"]
    await drive(client, key, cancelled, ["liveness.started", "liveness.cancelled"])
    data(await post_failure(client, key, cancelled))
    collision = (await create_session(client, key))["id"]
    await drive(client, key, collision, ["liveness.started"])
    await force_stage(services.db, collision, "liveness.passed")
    data(await post_stage(client, key, collision, "face.collision", trust_score=0.2))
    data(await post_result(client, key, collision))


async def test_stored_bodies_match_the_event_schemas_in_both_formats(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    full = await create_webhook(client, full_key, "full")
    twin = await create_webhook(client, full_key, "twin")
    thin = await create_webhook(client, full_key, "thin", payload_format="thin")
    await drive_every_session_event(client, services, full_key)

    events = {e.id: e for e in await event_rows(services.db)}
    rows = await delivery_rows(services.db)
    assert {r.event_type for r in rows} == set(SESSION_EVENT_TYPES)
    for row in rows:
        body = json.loads(row.request_body)
        schema = schema_for(row.event_type, row.payload_format)
        Draft202012Validator(schema, format_checker=FormatChecker()).validate(body)
        event = events[row.event_id]
        assert (body["id"], body["event"], body["session_id"]) == (
            event.id,
            event.type,
            event.session_id,
        )
        if row.payload_format == "full":
            assert body["data"] == event.data
    by_event: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows:
        by_event[row.event_id][row.webhook_id] = row.request_body
    for bodies in by_event.values():
        assert bodies[full["id"]] == bodies[twin["id"]]  # one body per (event, format)
        assert len(bodies[thin["id"]]) < len(bodies[full["id"]])


async def test_operational_events_reach_only_webhooks_that_name_them(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    everything = await create_webhook(client, full_key, "all")
    named = await create_webhook(client, full_key, "ops", events=["webhook.disabled"])
    sibling_key = (await services.keys.create(account_name="acme", name="ci")).plaintext
    sibling_named = await create_webhook(client, sibling_key, "ops2", events=["webhook.disabled"])
    principal = await principal_of(services, full_key)
    now = datetime.now(UTC)
    event = Event(
        id="evt_01kh4x2m3n09q8r9s0t1v2w3x4",
        account_id=principal.account_id,
        session_id=None,
        type="webhook.disabled",
        data=webhook_disabled_data(
            webhook_id=everything["id"], url=everything["url"], reason="410 Gone", disabled_at=now
        ),
        created_at=now,
    )
    async with services.db.transaction() as tx:
        candidates = await WebhookRepository(tx).active_for_account(principal.account_id)
        assert await fanout.emit(tx, [event], candidates=candidates, now=now) == 2

    rows = await delivery_rows(services.db)
    assert {r.webhook_id for r in rows} == {named["id"], sibling_named["id"]}
    assert all(r.session_id is None and r.model is None for r in rows)
    body = json.loads(rows[0].request_body)
    schema = schema_for("webhook.disabled", "full")
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(body)


class FailingFanOut:
    """Writes the deliveries of the first call, then fails: a crash in the middle."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(
        self,
        tx: Transaction,
        events: Sequence[Event],
        *,
        candidates: Sequence[Webhook],
        session: Session | None = None,
        now: datetime,
    ) -> int:
        self.calls += 1
        written = await fanout.fan_out(tx, events, candidates=candidates, session=session, now=now)
        assert written > 0
        raise RuntimeError("crash after writing deliveries")


async def test_a_failure_mid_fan_out_stores_neither_change_nor_event_nor_deliveries(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    await create_webhook(client, full_key, "all")
    principal = await principal_of(services, full_key)
    session_id = (await create_session(client, full_key))["id"]
    before = await count_rows(services.db)
    failing = FailingFanOut()
    broken = SessionService(services.db, pass_through, fan_out=failing)

    with pytest.raises(RuntimeError):
        await broken.create(principal, SessionDraft(model=MODEL))
    with pytest.raises(RuntimeError):
        await broken.report_stage(principal, session_id, "verification.started")
    with pytest.raises(RuntimeError):
        await broken.report_result(principal, session_id, _verdict())

    assert failing.calls == 3
    assert await count_rows(services.db) == before
    view = await services.sessions.get(principal, session_id)
    assert (view.session.stage, len(view.stages)) == ("verification.initialized", 1)


def _verdict() -> Verdict:
    return Verdict("live", 0.9, 0.9, "rest_frames", 100, 30)


async def test_on_enqueued_runs_after_commits_that_wrote_deliveries(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    principal = await principal_of(services, full_key)
    wakes: list[int] = []
    service = SessionService(services.db, pass_through, on_enqueued=lambda: wakes.append(1))
    quiet = await service.create(principal, SessionDraft(model=MODEL))
    assert wakes == []  # nobody to tell: no deliveries, no wake-up
    await create_webhook(client, full_key, "all", events=["verification.started"])
    await service.report_stage(principal, quiet.session.id, "verification.started")
    assert wakes == [1]
    await service.report_stage(principal, quiet.session.id, "liveness.started")
    assert wakes == [1]
    with pytest.raises(Conflict):
        await service.report_stage(principal, quiet.session.id, "verification.started")
    assert wakes == [1]


async def test_the_enqueue_wakes_workers_here_and_in_other_processes(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    """The queue's enqueue wakes a worker of this process (the services' ``Wakeup``, set after
    the commit) and one of another process, listening as ``livehook worker`` does: NOTIFY at
    commit on PostgreSQL (no other commit of the test sends one), the file's change counter on
    SQLite (which any commit changes). A commit that queues nothing wakes no worker here."""
    elsewhere = Wakeup()
    db = services.db
    listener: PostgresListener | SqliteWatcher
    if db.dialect == "postgresql":
        listener = PostgresListener(asyncpg_dsn(db.engine), elsewhere)
    else:
        assert db.sqlite_path is not None
        listener = SqliteWatcher(db.sqlite_path, elsewhere)
    await listener.start()
    try:
        await asyncio.wait_for(listener.connected.wait(), 5)
        await create_webhook(client, full_key, "all")
        assert await services.wakeup.wait(0) is False  # nothing queued, nobody woken
        await elsewhere.wait(0)  # the listener's own wake-up as it connected
        await create_session(client, full_key)
        assert (await count_rows(db))["deliveries"] >= 1
        assert await services.wakeup.wait(0) is True  # set right after the commit
        assert await elsewhere.wait(5) is True
    finally:
        await listener.stop()


class PausingFanOut:
    """The real fan-out, paused inside its transaction until told to go on."""

    def __init__(self) -> None:
        self.inside = asyncio.Event()
        self.go_on = asyncio.Event()

    async def __call__(
        self,
        tx: Transaction,
        events: Sequence[Event],
        *,
        candidates: Sequence[Webhook],
        session: Session | None = None,
        now: datetime,
    ) -> int:
        self.inside.set()
        await self.go_on.wait()
        return await fanout.fan_out(tx, events, candidates=candidates, session=session, now=now)


async def test_a_report_that_waited_for_another_on_the_same_session_answers_with_its_stage_too(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    # The answer's stages are read after the session's lock is granted: a report that queued
    # behind another one sees the stage that one recorded, on either database.
    principal = await principal_of(services, full_key)
    session_id = (await create_session(client, full_key))["id"]
    paused = PausingFanOut()
    first = asyncio.create_task(
        SessionService(services.db, pass_through, fan_out=paused).report_stage(
            principal, session_id, "verification.started"
        )
    )
    await asyncio.wait_for(paused.inside.wait(), 30)  # holds the session's lock now
    second = asyncio.create_task(
        services.sessions.report_stage(principal, session_id, "liveness.started")
    )
    await _waiting_for_the_lock(services)
    assert not second.done()
    paused.go_on.set()
    before, after = await asyncio.wait_for(asyncio.gather(first, second), 30)

    assert [s.stage for s in before.stages] == ["verification.initialized", "verification.started"]
    assert [s.stage for s in after.stages] == [
        "verification.initialized",
        "verification.started",
        "liveness.started",
    ]
    polled = await services.sessions.get(principal, session_id)
    assert polled.stages == after.stages


async def _waiting_for_the_lock(services: Services) -> None:
    """Until a report waits for the session's lock: a row lock on PostgreSQL (seen in
    pg_stat_activity); on SQLite the write transactions of a process queue in order, so a few
    turns of the loop are enough for the second to be in that queue."""
    if services.db.dialect != "postgresql":
        for _ in range(20):
            await asyncio.sleep(0)
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    for _ in range(3000):  # a hang guard, not a measure
        async with services.db.read() as tx:
            if (await tx.conn.execute(waiting)).scalar_one():
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the second report never waited for the session's lock")
