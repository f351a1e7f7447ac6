"""The benchmark receiver, as its own process: answers by path, records what arrived."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from bench.receiver import ReceiverHandle, start_receiver

BODY = b'{"id":"evt_1","data":{"tenant_metadata":{"reported_at_ns": 1700000000123456789}}}'


@pytest.fixture
async def receiver() -> AsyncIterator[ReceiverHandle]:
    handle = await start_receiver()
    try:
        yield handle
    finally:
        await handle.stop()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(client: aiohttp.ClientSession, url: str, webhook_id: str) -> tuple[int, bytes]:
    async with client.post(url, data=BODY, headers={"X-Webhook-Id": webhook_id}) as response:
        return response.status, await response.read()


async def test_ok_paths_answer_200_and_fail_paths_500(
    receiver: ReceiverHandle, client: aiohttp.ClientSession
) -> None:
    assert await post(client, receiver.url("/ok/a"), "evt_1") == (200, b"ok")
    assert await post(client, receiver.url("/anything"), "evt_2") == (200, b"ok")
    assert await post(client, receiver.url("/fail/b"), "evt_3") == (500, b"fail")


async def test_each_request_is_recorded_with_id_path_and_the_body_field(
    receiver: ReceiverHandle, client: aiohttp.ClientSession
) -> None:
    await post(client, receiver.url("/ok/a"), "evt_1")
    await post(client, receiver.url("/fail/b"), "evt_2")
    async with client.post(receiver.url("/ok/a"), data=b"{}") as response:
        assert response.status == 200

    records = await receiver.records()
    assert records["webhook_id"] == ["evt_1", "evt_2", None]
    assert records["path"] == ["/ok/a", "/fail/b", "/ok/a"]
    assert records["field"] == [1700000000123456789, 1700000000123456789, None]
    arrivals = records["arrival_ns"]
    assert arrivals == sorted(arrivals) and arrivals[0] > 1_700_000_000 * 10**9

    stats = await receiver.stats()
    assert stats["requests"] == 3
    assert stats["by_mode"] == {"ok": 2, "fail": 1, "hang": 0}
    assert stats["by_path"] == {"/ok/a": 2, "/fail/b": 1}
    assert (stats["first_arrival_ns"], stats["last_arrival_ns"]) == (arrivals[0], arrivals[-1])


async def test_a_hanging_path_holds_its_connection_while_others_are_served(
    receiver: ReceiverHandle, client: aiohttp.ClientSession
) -> None:
    hang = asyncio.create_task(post(client, receiver.url("/hang/x"), "evt_h"))
    assert await receiver.wait_for(1, path_prefix="/hang/", give_up_after=5) == 1
    assert await post(client, receiver.url("/ok/a"), "evt_1") == (200, b"ok")
    assert not hang.done()
    assert (await receiver.stats())["hanging"] == 1

    hang.cancel()  # the client gives up: the receiver lets the connection go
    with pytest.raises(asyncio.CancelledError):
        await hang
    await client.close()
    for _ in range(100):
        if (await receiver.stats())["hanging"] == 0:
            break
        await asyncio.sleep(0.01)
    assert (await receiver.stats())["hanging"] == 0


async def test_pipelined_and_split_requests_are_each_answered_in_order(
    receiver: ReceiverHandle,
) -> None:
    def request(path: str) -> bytes:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(BODY)}\r\n\r\n"
        return head.encode() + BODY

    reader, writer = await asyncio.open_connection("127.0.0.1", receiver.port)
    writer.write(request("/ok/1") + request("/fail/2"))
    third = request("/ok/3")
    writer.write(third[:30])
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.write(third[30:])
    answers = [await reader.readuntil(b"ok"), await reader.readuntil(b"fail")]
    answers.append(await reader.readuntil(b"ok"))
    writer.close()
    await writer.wait_closed()

    assert [answer.split(b" ")[1] for answer in answers] == [b"200", b"500", b"200"]
    assert (await receiver.records())["path"] == ["/ok/1", "/fail/2", "/ok/3"]


async def test_reset_forgets_every_record(
    receiver: ReceiverHandle, client: aiohttp.ClientSession
) -> None:
    await post(client, receiver.url("/ok/a"), "evt_1")
    await receiver.reset()
    stats = await receiver.stats()
    assert (stats["requests"], stats["by_path"], stats["first_arrival_ns"]) == (0, {}, None)
    assert (await receiver.records())["arrival_ns"] == []
