"""`livehook serve` with its delivery worker in processes of its own: a child killed is
replaced and nothing is lost, stopping serve stops its children, serve killed outright leaves
no worker behind. Real processes, a real receiver on 127.0.0.1, the test's database."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from typing import TypeVar

import psutil

from livehook.config import Settings
from livehook.domain.deliveries import PENDING, SUCCEEDED
from livehook.services.registry import Services
from tests.support.deliveries import enqueue, new_account, new_webhook, stored
from tests.support.processes import env_sharing, serving
from tests.support.receivers import running_receiver

HANG_GUARD_S = 60.0
T = TypeVar("T")


def worker_children(serve_pid: int) -> list[int]:
    """The delivery worker processes of the serve ``serve_pid``, alive."""
    try:
        children = psutil.Process(serve_pid).children()
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if "livehook.worker_processes" in child.cmdline() and _alive(child.pid):
                found.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def until(probe: Callable[[], T]) -> T:
    """``probe()`` once it is truthy; the guard only ends a hang."""
    async with asyncio.timeout(HANG_GUARD_S):
        # The process table has no event to wait on: it is read again and again.
        while not (value := probe()):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return value


async def test_a_worker_process_killed_is_replaced_and_nothing_is_lost(
    settings: Settings, services: Services
) -> None:
    account = await new_account(services)
    env = env_sharing(settings, LIVEHOOK_WORKER_PROCESSES="1")
    async with running_receiver() as receiver:
        hangs = await new_webhook(services, account, receiver.url("/hang"), timeout_seconds=30)
        quick = await new_webhook(services, account, receiver.url("/ok/after"))
        with serving(env) as server:
            [first] = await until(lambda: worker_children(server.proc.pid))
            in_flight = await enqueue(services, account, webhook=hangs.webhook)
            await receiver.wait_for(1, within=HANG_GUARD_S, path="/hang")
            os.kill(first, signal.SIGKILL)  # mid-send: no chance to hand anything back
            [second] = await until(
                lambda: [pid for pid in worker_children(server.proc.pid) if pid != first]
            )
            # The killed child's row waits for its lease to end, neither sent again nor failed.
            kept = await stored(services, in_flight.id)
            assert (kept.status, kept.attempt_count) == (PENDING, 0)
            after = await enqueue(services, account, webhook=quick.webhook)
            await receiver.wait_for(1, within=HANG_GUARD_S, path="/ok/after")
            await until(lambda: worker_children(server.proc.pid) == [second])
    assert (await stored(services, after.id)).status == SUCCEEDED
    assert receiver.at("/ok/after")[0].event_id == after.event_id
    assert "delivery worker process exited; starting another" in server.output


async def test_stopping_serve_stops_its_worker_processes(
    settings: Settings, services: Services
) -> None:
    env = env_sharing(settings, LIVEHOOK_WORKER_PROCESSES="2")
    with serving(env) as server:
        children = await until(
            lambda: found if len(found := worker_children(server.proc.pid)) == 2 else []
        )
    assert not [pid for pid in children if _alive(pid)]
    assert "runs in 2 processes beside the API" in server.output


async def test_serve_killed_outright_leaves_no_worker_process_behind(
    settings: Settings, services: Services
) -> None:
    env = env_sharing(settings, LIVEHOOK_WORKER_PROCESSES="1")
    with serving(env) as server:
        [child] = await until(lambda: worker_children(server.proc.pid))
        server.proc.kill()  # SIGKILL: serve cannot stop it; the end of its stdin tells it
        await until(lambda: not _alive(child))


async def test_worker_processes_zero_runs_the_worker_inside_serve(
    settings: Settings, services: Services
) -> None:
    account = await new_account(services)
    env = env_sharing(settings, LIVEHOOK_WORKER_PROCESSES="0")
    async with running_receiver() as receiver:
        hook = await new_webhook(services, account, receiver.url("/ok/inline"))
        with serving(env) as server:
            assert worker_children(server.proc.pid) == []
            delivery = await enqueue(services, account, webhook=hook.webhook)
            await receiver.wait_for(1, within=HANG_GUARD_S)
            assert worker_children(server.proc.pid) == []
    assert (await stored(services, delivery.id)).status == SUCCEEDED
    assert "delivery worker runs in this process" in server.output
