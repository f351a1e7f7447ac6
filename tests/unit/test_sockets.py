"""Connections accepted by `serve` and the demo's receiver send each write at once (NODELAY).

Without it, a response written as headers then body waited for the client's delayed ACK: every
keep-alive API call after the first took about 40 ms longer.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from livehook.sockets import bind_tcp


async def _accepted_nodelay(server_sock: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_connect(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=server_sock)
    async with server:
        port = server_sock.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        nodelay = await asyncio.wait_for(accepted, 10)
        writer.close()
    return nodelay


async def test_connections_accepted_on_a_bound_socket_have_nodelay() -> None:
    assert await _accepted_nodelay(bind_tcp("127.0.0.1", 0)) != 0


async def test_a_socket_made_without_naming_tcp_would_not_get_it() -> None:
    # The trap bind_tcp avoids; if asyncio ever sets NODELAY here too, this test says so.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    assert await _accepted_nodelay(sock) == 0


def test_a_taken_port_is_refused_and_the_socket_closed() -> None:
    first = bind_tcp("127.0.0.1", 0)
    try:
        first.listen()
        with pytest.raises(OSError):
            bind_tcp("127.0.0.1", first.getsockname()[1])
    finally:
        first.close()
