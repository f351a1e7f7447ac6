"""`Idempotency-Key` on every write route: the route says how to render its answer, the service
claims the key and stores that answer in the transaction that does the work.

An answer that reveals a secret (a webhook's signing secret, a new API key) is stored encrypted,
so the idempotency table holds no secret in clear; a replay decrypts it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Header, Request, Response
from pydantic import BaseModel

from livehook.api.envelope import Envelope
from livehook.crypto import SecretBox
from livehook.services.idempotency import (
    MAX_KEY_CHARS,
    Idempotency,
    Replayed,
    StoredResponse,
    check_key,
    request_fingerprint,
)

T = TypeVar("T")
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=MAX_KEY_CHARS,
        description="Makes retries safe: the same key and body return the first answer "
        "(kept 24 hours).",
    ),
]
REPLAYED_HEADER = "Idempotent-Replayed"
Render = Callable[[T], StoredResponse]


def rendering(
    status: int, shape: Callable[[T], BaseModel | None], message: str | Callable[[T], str]
) -> Render[T]:
    """Render a result as the envelope a route answers with."""

    def render(result: T) -> StoredResponse:
        text = message if isinstance(message, str) else message(result)
        envelope = Envelope[Any](data=shape(result), message=text)
        return StoredResponse(status, envelope.model_dump_json())

    return render


def _response(stored: StoredResponse, *, replayed: bool = False) -> Response:
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    return Response(
        stored.body, status_code=stored.status_code, media_type="application/json", headers=headers
    )


async def answer(
    request: Request,
    key: str | None,
    body: BaseModel | None,
    write: Callable[[Idempotency[T] | None], Awaitable[T]],
    render: Render[T],
    *,
    sealed_with: SecretBox | None = None,
) -> Response:
    """Run ``write``, idempotently when a key was sent; the answer is rendered once, stored,
    and returned as those exact bytes. ``sealed_with``: the answer holds a secret."""
    idempotency = None
    if key is not None:
        sent = None if body is None else body.model_dump(mode="json", exclude_unset=True)
        fingerprint = request_fingerprint(request.method, request.url.path, sent)
        idempotency = Idempotency(check_key(key), fingerprint, render)
        if sealed_with is not None:
            idempotency = idempotency.sealed(sealed_with.encrypt, sealed_with.decrypt)
    try:
        result = await write(idempotency)
    except Replayed as replay:
        return _response(replay.response, replayed=True)
    return _response(render(result))
