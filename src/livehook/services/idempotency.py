"""Idempotency keys: a retried write gets its first answer back instead of happening twice.

A request carrying an `Idempotency-Key` is fingerprinted (method, path, canonical JSON body). In
the transaction that does the work, the key is claimed first and the rendered answer stored last,
so the answer exists exactly when the work does. Later requests with the key:
- same fingerprint: `Replayed` carries the first answer (status and body, byte for byte);
- another fingerprint: `IdempotencyConflict` (409 `idempotency_conflict`), as the key is bound
  to the request it first came with.
Only answers of work that committed are stored: a refused request (4xx) changed nothing, so its
retry simply runs again. Keys are per account, and kept for `KEY_TTL` (24 hours, as Stripe's):
`livehook prune` and the worker's retention pass forget older ones, after which a key may be
used again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson

from livehook.services.errors import Conflict, InvalidRequest
from livehook.storage.database import Transaction
from livehook.storage.repositories.idempotency import IdempotencyRepository

MAX_KEY_CHARS = 255  # the column's width; UUIDs (the usual key) are 36
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: str  # JSON text


class Replayed(Exception):
    """The request repeats an earlier one with the same key: `response` is the first answer."""

    def __init__(self, response: StoredResponse) -> None:
        super().__init__("replayed an idempotent request")
        self.response = response


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


@dataclass(frozen=True, slots=True)
class Idempotency(Generic[T]):
    """A keyed request: its key, its fingerprint, and how to render the answer to store."""

    key: str
    fingerprint: str
    render: Callable[[T], StoredResponse]
    # How the stored answer is kept at rest and read back (encrypted when it holds a secret).
    seal: Callable[[str], str] = str
    unseal: Callable[[str], str] = str

    def sealed(self, seal: Callable[[str], str], unseal: Callable[[str], str]) -> Idempotency[T]:
        return Idempotency(self.key, self.fingerprint, self.render, seal, unseal)


def check_key(key: str) -> str:
    """`key` if usable: 1..255 visible ASCII characters (UUIDs, random tokens)."""
    if not 1 <= len(key) <= MAX_KEY_CHARS or not all(33 <= ord(c) <= 126 for c in key):
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters",
            field="Idempotency-Key",
        )
    return key


def request_fingerprint(method: str, path: str, body: Any) -> str:
    """SHA-256 hex of the method, the path and the body as canonical JSON (sorted keys), so
    the same request spelled with other whitespace or key order has the same fingerprint."""
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(f"{method.upper()} {path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


async def claim(tx: Transaction, account_id: str, request: Idempotency[Any], now: datetime) -> None:
    """Own the key in `tx`, or raise `Replayed` / `IdempotencyConflict` for a used one."""
    repo = IdempotencyRepository(tx)
    if await repo.claim(account_id, request.key, request.fingerprint, now):
        return
    stored = await repo.get(account_id, request.key)
    if stored is None:  # pruned between the two statements
        raise Conflict("the Idempotency-Key was just released; retry the request")
    if stored.request_fingerprint != request.fingerprint:
        raise IdempotencyConflict(
            "this Idempotency-Key was used with a different request; use a new key",
            key=request.key,
        )
    raise Replayed(StoredResponse(stored.status_code, request.unseal(stored.response_body)))


async def record(
    tx: Transaction, account_id: str, request: Idempotency[T], result: T
) -> StoredResponse:
    """Render the answer for `result` and store it under the claimed key."""
    response = request.render(result)
    await IdempotencyRepository(tx).complete(
        account_id, request.key, response.status_code, request.seal(response.body)
    )
    return response
