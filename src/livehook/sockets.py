"""Listening sockets made before the server that serves them (`serve`, the demo's receiver)."""

from __future__ import annotations

import socket


def bind_tcp(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (0: any free port), not yet listening.

    The protocol is named, not left 0: asyncio sets TCP_NODELAY only on sockets whose ``proto``
    says TCP, and connections accepted from a ``proto=0`` socket inherit the 0. Without
    NODELAY a response written in two pieces (headers, then body) waits for the client's
    delayed ACK: about 40 ms on every keep-alive request after the first.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
