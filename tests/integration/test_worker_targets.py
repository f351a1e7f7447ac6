"""Serve's worker and its worker processes split the queue: one claims only the deliveries of
`livehook listen` endpoints, the other every other one; a row is never left to neither."""

from __future__ import annotations

from livehook.delivery.config import Targets, WorkerConfig
from livehook.delivery.relay import ListenerHub
from livehook.delivery.sender import Sender
from livehook.delivery.worker import Worker
from livehook.domain.deliveries import PENDING, SUCCEEDED
from livehook.domain.listening import NOT_CONNECTED, listen_url
from livehook.services.registry import Services
from tests.support.deliveries import enqueue, new_account, new_webhook, stored
from tests.support.receivers import Receiver


def worker(services: Services, targets: Targets) -> Worker:
    config = WorkerConfig(retention=None, listen=False, targets=targets)
    # A hub with no socket: a listen target is attempted and "not connected".
    sender = Sender(allow_local=True, relay=ListenerHub().send)
    return Worker(services.db, services.webhooks, services.box, sender, config=config)


async def test_each_side_claims_only_its_own_targets(
    services: Services, receiver: Receiver
) -> None:
    account = await new_account(services)
    http = await new_webhook(services, account, receiver.url("/ok/http"))
    cli = await new_webhook(services, account, listen_url(account.principal.key_id))
    to_http = await enqueue(services, account, webhook=http.webhook)
    to_cli = await enqueue(services, account, webhook=cli.webhook)

    processes = worker(services, "except_listen")
    try:
        assert await processes.run_burst() == 1
    finally:
        await processes.close()
    assert (await stored(services, to_http.id)).status == SUCCEEDED
    untouched = await stored(services, to_cli.id)
    assert (untouched.status, untouched.attempt_count) == (PENDING, 0)
    assert [r.event_id for r in receiver.received] == [to_http.event_id]

    serves_own = worker(services, "listen_only")
    try:
        assert await serves_own.run_burst() == 1
    finally:
        await serves_own.close()
    attempted = await stored(services, to_cli.id)
    assert (attempted.status, attempted.attempt_count) == (PENDING, 1)
    assert attempted.last_error == NOT_CONNECTED
    assert len(receiver.received) == 1  # nothing more went out over HTTP
