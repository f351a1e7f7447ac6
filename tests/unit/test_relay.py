"""The hub that sends `livehook listen` deliveries down a socket and turns answers into results."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from livehook.delivery.relay import NOT_CONNECTED, ListenerHub, result_of_answer

URL = "livehook-listen://key_1"


class Socket:
    """The server side of a socket: what was sent down it, and whether it was closed."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed: tuple[int, str | None] | None = None
        self.frame = asyncio.Event()

    async def send_json(self, data: Any, mode: str = "text") -> None:
        assert mode == "text"
        self.sent.append(data)
        self.frame.set()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = (code, reason)


async def test_no_listener_is_a_failed_attempt_saying_so() -> None:
    result = await ListenerHub().send(URL, b"{}", {}, 1.0)
    assert (result.status, result.error) == (None, NOT_CONNECTED)


async def test_the_exact_bytes_go_down_and_the_answer_comes_back_as_the_result() -> None:
    hub, socket = ListenerHub(), Socket()
    await hub.attach(URL, "wh_1", socket)
    body = b'{"id": "evt_1", "\xc3\xa9": 1}'
    sending = asyncio.create_task(hub.send(URL, body, {"X-Webhook-Id": "evt_1"}, 5.0))
    await socket.frame.wait()
    [frame] = socket.sent
    assert base64.b64decode(frame["body"]) == body
    assert frame["headers"] == {"X-Webhook-Id": "evt_1"}
    answer = {
        "request_id": frame["request_id"],
        "status": 201,
        "headers": {"retry-after": "3"},
        "body": base64.b64encode(b"ok").decode(),
        "duration_ms": 4.5,
    }
    assert hub.answer(URL, socket, answer)
    result = await sending
    assert (result.status, result.body_excerpt, result.duration_ms) == (201, b"ok", 4.5)
    assert result.retry_after == "3"
    assert not hub.answer(URL, socket, answer)  # answered once only


async def test_a_disconnect_fails_what_is_in_flight() -> None:
    hub, socket = ListenerHub(), Socket()
    await hub.attach(URL, "wh_1", socket)
    sending = asyncio.create_task(hub.send(URL, b"{}", {}, 5.0))
    await socket.frame.wait()
    hub.detach(URL, socket)
    result = await sending
    assert result.status is None
    assert result.error == "livehook listen disconnected before answering"
    assert not hub.connected(URL)


async def test_no_answer_in_time_is_a_timeout() -> None:
    hub, socket = ListenerHub(), Socket()
    await hub.attach(URL, "wh_1", socket)
    result = await hub.send(URL, b"{}", {}, 0.01)
    assert result.timed_out
    assert result.error == "no answer from livehook listen within 0.01 s"


async def test_a_newer_listener_takes_over_and_the_worker_is_told() -> None:
    hub, old, new = ListenerHub(), Socket(), Socket()
    told: list[str] = []
    hub.on_connect.append(told.append)
    await hub.attach(URL, "wh_1", old)
    await hub.attach(URL, "wh_1", new)
    assert old.closed is not None and old.closed[0] == 4409
    hub.detach(URL, old)  # the old socket's end does not unhook the new one
    assert hub.connected(URL)
    assert told == ["wh_1", "wh_1"]


def test_a_local_error_or_nonsense_status_is_a_failure_with_its_reason() -> None:
    refused = result_of_answer({"status": None, "error": "connection refused"})
    assert (refused.status, refused.error) == (None, "local target: connection refused")
    nonsense = result_of_answer({"status": 99999, "body": "not base64!"})
    assert nonsense.status is None and nonsense.body_excerpt == b""
