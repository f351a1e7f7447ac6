"""The delivery queue's statements, PostgreSQL's and SQLite's side by side, built once at import.

Only ``storage/delivery_queue.py`` executes them. A name without a suffix serves both databases;
``_POSTGRES`` / ``_SQLITE`` mark the ones that differ. Parameters are bound by name (``:b_id``
and so on, prefixed so they never collide with a column's own parameter).

A claimed row stays ``pending`` and holds a lease: a fresh ``lease_token``, live until
``lease_expires_at``. Every later write for it is guarded by ``id`` and that token, so a worker
whose lease ran out cannot overwrite the result of the worker that claimed the row after it.
The claim also moves ``next_attempt_at`` to the lease's end: claims read the due index in
``next_attempt_at`` order and would otherwise walk past every row in flight, and a row whose
worker died comes due again by itself when its lease ends.

Statements that must use the partial due index spell its predicate as a literal (``IS_PENDING``):
a bound parameter (``status = $1``) does not prove the index's ``status = 'pending'`` to either
planner.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    case,
    delete,
    exists,
    literal_column,
    not_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.elements import ColumnElement

from livehook.domain.deliveries import (
    FAILED,
    PENDING,
    REASON_ENDPOINT_DISABLED,
    REASON_PAYLOAD_EXPIRED,
    Delivery,
    NewDelivery,
)
from livehook.domain.listening import LISTEN_URL_SCHEME
from livehook.storage.records import field_names
from livehook.storage.tables import deliveries, delivery_bodies
from livehook.storage.types import UTCDateTime

# LISTEN on this channel to hear about new deliveries; the payload is empty.
DELIVERY_CHANNEL = "livehook_deliveries"

IS_PENDING = deliveries.c.status == literal_column("'pending'")
# A delivery's columns: its row's, and its body's bytes (NULL once pruned) as ``request_body``.
_ROW_COLUMNS = [deliveries.c[name] for name in field_names(Delivery) if name != "request_body"]
REQUEST_BODY = delivery_bodies.c.body.label("request_body")
DELIVERY_COLUMNS = [*_ROW_COLUMNS, REQUEST_BODY]
WITH_BODY = deliveries.outerjoin(delivery_bodies, delivery_bodies.c.id == deliveries.c.body_id)


def _time(name: str) -> Any:
    # Typed: SQLite stores naive UTC text, which only the column type knows to write.
    return bindparam(name, type_=UTCDateTime())


def _json_rows(names: tuple[str, ...], param: str) -> str:
    """A sub-select reading the JSON array of arrays ``:param`` as rows with ``names``."""
    picks = ", ".join(f"json_extract(value, '$[{n}]') AS {name}" for n, name in enumerate(names))
    return f"SELECT {picks} FROM json_each(:{param})"


_NOW = _time("b_now")
_UNTIL = _time("b_until")
_SINCE = _time("b_since")
_IDS: Any = bindparam("b_ids", expanding=True)


def in_flight(now: Any = _NOW) -> ColumnElement[bool]:
    """Rows some worker holds a live lease on. ``IS NOT NULL`` first: under ``NOT``, a bare
    comparison with NULL would exclude every row with no lease."""
    expires = deliveries.c.lease_expires_at
    return and_(IS_PENDING, expires.is_not(None), expires > now)


_NO_LEASE: dict[str, Any] = {"lease_token": None, "lease_expires_at": None}


def _leased_row() -> Update:
    """An update of one row (``b_id``) while ``b_token`` still leases it."""
    return update(deliveries).where(
        deliveries.c.id == bindparam("b_id"),
        deliveries.c.lease_token == bindparam("b_token"),
        IS_PENDING,
    )


# --- enqueue ---------------------------------------------------------------------------------

# New rows in one statement over arrays (PostgreSQL) or a JSON array of rows (SQLite), as
# ``finish`` writes its outcomes: an executemany processed every row's parameters in Python,
# half of a 100-webhook verdict's CPU. The queue's own columns are the same for every row.
NEW_COLUMNS = (*(n for n in field_names(NewDelivery) if n != "request_body"), "body_id")
_NEW_KINDS = {"is_test": "boolean"}
_QUEUED = "'pending', 0, CAST(:b_now AS {time}), CAST(:b_now AS {time}), CAST(:b_now AS {time})"
_ENQUEUE_INTO = (
    f"INSERT INTO deliveries ({', '.join(NEW_COLUMNS)}, "
    "status, attempt_count, next_attempt_at, created_at, updated_at) SELECT "
    + ", ".join(f"v.{name}" for name in NEW_COLUMNS)
    + ", "
)
ENQUEUE_POSTGRES = text(
    _ENQUEUE_INTO
    + _QUEUED.format(time="timestamptz")
    + " FROM unnest("
    + ", ".join(f"CAST(:b_{n} AS {_NEW_KINDS.get(n, 'text')}[])" for n in NEW_COLUMNS)
    + f") AS v({', '.join(NEW_COLUMNS)})"
).bindparams(_time("b_now"))
# SQLite's CAST to TEXT keeps the column type's own text of the time (the bound value).
ENQUEUE_SQLITE = text(
    _ENQUEUE_INTO
    + _QUEUED.format(time="TEXT")
    + f" FROM ({_json_rows(NEW_COLUMNS, 'b_rows')}) AS v"
).bindparams(_time("b_now"))
# Bodies first; one already stored (the same bytes: its id is their SHA-256) is left as it is.
ADD_BODIES_POSTGRES: Insert = postgresql.insert(delivery_bodies).on_conflict_do_nothing()
ADD_BODIES_SQLITE: Insert = sqlite.insert(delivery_bodies).on_conflict_do_nothing()
# Sent at commit, so a worker never looks before the rows are visible.
NOTIFY_POSTGRES = text(f"SELECT pg_notify('{DELIVERY_CHANNEL}', '')")

# --- claim -----------------------------------------------------------------------------------


def _due(*where: ColumnElement[bool]) -> Select[Any]:
    """Up to ``b_limit`` due rows whose lease is absent or ended, oldest due first; reads the
    due index only."""
    return (
        select(deliveries.c.id)
        .where(IS_PENDING, deliveries.c.next_attempt_at <= _NOW, _UNLEASED, *where)
        .order_by(deliveries.c.next_attempt_at)
        .limit(bindparam("b_limit", type_=Integer))
    )


_UNLEASED = or_(deliveries.c.lease_expires_at.is_(None), deliveries.c.lease_expires_at <= _NOW)
_LEASE = {
    "next_attempt_at": _UNTIL,
    "lease_expires_at": _UNTIL,
    "lease_token": bindparam("b_token"),
    "updated_at": _NOW,
}


def claim_postgres(*where: ColumnElement[bool]) -> Select[Any]:
    """One statement. Rows another worker is claiming right now are skipped, not waited for. The
    CTE runs once: a sub-select under IN may be rescanned and, its first pick now leased and no
    longer due, hand out more rows than the limit. The claimed rows come back with their bodies.
    ``where``: extra conditions on the rows."""
    picked = _due(*where).with_for_update(skip_locked=True).cte("due")
    claimed = (
        update(deliveries)
        .where(deliveries.c.id == picked.c.id)
        .values(**_LEASE)
        .returning(*_ROW_COLUMNS, deliveries.c.body_id)
        .cte("claimed")
    )
    return select(*_in_field_order(claimed.c, REQUEST_BODY)).select_from(
        claimed.outerjoin(delivery_bodies, delivery_bodies.c.id == claimed.c.body_id)
    )


def claim_sqlite(*where: ColumnElement[bool]) -> Update:
    """One statement, rows and bodies: SQLite materialises the ``IN`` sub-select once, and no
    other writer runs meanwhile (every write transaction began with BEGIN IMMEDIATE,
    storage/engines.py), so what it picks is what it leases. Each statement of a transaction is
    a few hops to the driver's thread and back through a busy event loop while the write lock is
    held, so the claim is one, not a pick, a lease and a read. (SQLAlchemy's SQLite compiler drops
    FOR UPDATE; none is needed.)"""
    # Spelled out: SQLAlchemy renders RETURNING's columns without their table, which inside a
    # sub-select would leave ``id`` to mean either table's.
    body = literal_column(
        "(SELECT b.body FROM delivery_bodies AS b WHERE b.id = deliveries.body_id)", Text()
    ).label("request_body")
    return (
        update(deliveries)
        # Not correlated: the sub-select reads the table the update writes, on its own.
        .where(deliveries.c.id.in_(_due(*where).correlate(None)))
        .values(**_LEASE)
        .returning(*_in_field_order(deliveries.c, body))
    )


def _in_field_order(columns: Any, request_body: Any) -> list[Any]:
    """A claim's columns in ``Delivery``'s field order, so each row becomes a ``Delivery``
    positionally: building it by name from the row's mapping cost 46 µs of CPU per row against
    5 µs (tests/unit/test_delivery_queue_sql.py holds the order to the fields)."""
    return [
        request_body if name == "request_body" else columns[name] for name in field_names(Delivery)
    ]


# Which targets a claim takes (``DeliveryQueue.claim``'s ``listen``): None, every one; True, only
# `livehook listen` endpoints (their sockets live in serve); False, all the others (serve's
# worker processes). Built once each: a statement per call would miss the compiled cache.
_TO_LISTENER = deliveries.c.target_url.startswith(LISTEN_URL_SCHEME, autoescape=True)
_TARGETS: dict[bool | None, tuple[ColumnElement[bool], ...]] = {
    None: (),
    True: (_TO_LISTENER,),
    False: (not_(_TO_LISTENER),),
}
CLAIM_POSTGRES = {listen: claim_postgres(*where) for listen, where in _TARGETS.items()}
# Whether any row is due, read from the due index alone: SQLite's look before a claim.
ANY_DUE = {listen: _due(*where).limit(1) for listen, where in _TARGETS.items()}
CLAIM_SQLITE = {listen: claim_sqlite(*where) for listen, where in _TARGETS.items()}

# --- release, finish, fail -------------------------------------------------------------------

# One parameter set per row (executemany): due again at ``b_at``, no attempt counted.
RELEASE = _leased_row().values(next_attempt_at=_time("b_at"), updated_at=_NOW, **_NO_LEASE)

# The outcome of an attempt, column by column.
OUTCOME_COLUMNS = (
    ("status", "text"),
    ("attempt_count", "integer"),
    ("next_attempt_at", "timestamptz"),
    ("last_status_code", "integer"),
    ("last_error", "text"),
    ("signature_scheme", "text"),
    ("target_url", "text"),
    ("updated_at", "timestamptz"),
    ("completed_at", "timestamptz"),
)
# Every outcome of a batch in one statement over arrays, which also says which rows still held
# their lease. An executemany would run the update once per row and report nothing.
FINISH_POSTGRES = text(
    "UPDATE deliveries AS d SET lease_token = NULL, lease_expires_at = NULL, "
    + ", ".join(f"{name} = v.{name}" for name, _ in OUTCOME_COLUMNS)
    + " FROM unnest(CAST(:b_id AS text[]), CAST(:b_token AS text[]), "
    + ", ".join(f"CAST(:b_{name} AS {kind}[])" for name, kind in OUTCOME_COLUMNS)
    + ") AS v(id, token, "
    + ", ".join(name for name, _ in OUTCOME_COLUMNS)
    + ") WHERE d.id = v.id AND d.lease_token = v.token AND d.status = 'pending' RETURNING d.id"
)
# SQLite: the same in one statement over a JSON array of rows (``[id, token, *outcome]``, the
# times already as the column stores them), rather than a read of the leases and an
# executemany: each statement costs hops to the driver's thread through the worker's busy event
# loop while the write lock is held, and an executemany binds every row's values in Python.
_OUTCOME_TEXT = ("id", "token", *(name for name, _ in OUTCOME_COLUMNS))


FINISH_SQLITE = text(
    "UPDATE deliveries SET lease_token = NULL, lease_expires_at = NULL, "
    + ", ".join(f"{name} = v.{name}" for name, _ in OUTCOME_COLUMNS)
    + f" FROM ({_json_rows(_OUTCOME_TEXT, 'b_rows')}) AS v"
    + " WHERE deliveries.id = v.id AND deliveries.lease_token = v.token"
    + " AND deliveries.status = 'pending' RETURNING deliveries.id"
)
OUTCOME_TIMES = frozenset(name for name, kind in OUTCOME_COLUMNS if kind == "timestamptz")

# A batch of attempts in one statement over arrays (an executemany inserts row by row); the
# headers travel as JSON text and become JSONB in the select list.
_ATTEMPT_COLUMNS = (
    ("id", "text", "{}"),
    ("delivery_id", "text", "{}"),
    ("number", "integer", "{}"),
    ("started_at", "timestamptz", "{}"),
    ("duration_ms", "double precision", "{}"),
    ("request_headers", "text", "CAST({} AS jsonb)"),
    ("response_status", "integer", "{}"),
    ("response_headers", "text", "CAST({} AS jsonb)"),
    ("response_body", "text", "{}"),
    ("error", "text", "{}"),
    ("next_attempt_at", "timestamptz", "{}"),
)
ATTEMPT_NAMES = tuple(name for name, _, _ in _ATTEMPT_COLUMNS)
ADD_ATTEMPTS_POSTGRES = text(
    "INSERT INTO attempts ("
    + ", ".join(ATTEMPT_NAMES)
    + ") SELECT "
    + ", ".join(shape.format(f"v.{name}") for name, _, shape in _ATTEMPT_COLUMNS)
    + " FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind, _ in _ATTEMPT_COLUMNS)
    + ") AS v("
    + ", ".join(ATTEMPT_NAMES)
    + ")"
)
# SQLite: one statement over a JSON array of rows too; the headers are JSON already and go in
# as their text.
ADD_ATTEMPTS_SQLITE = text(
    f"INSERT INTO attempts ({', '.join(ATTEMPT_NAMES)}) {_json_rows(ATTEMPT_NAMES, 'b_rows')}"
)
ATTEMPT_TIMES = frozenset(name for name, kind, _ in _ATTEMPT_COLUMNS if kind == "timestamptz")

_ENDED = {
    "status": FAILED,
    "next_attempt_at": None,
    **_NO_LEASE,
    "updated_at": _NOW,
    "completed_at": _NOW,
}
# Leased rows ended without an attempt: their endpoint is disabled.
FAIL_LEASED = (
    update(deliveries)
    .where(deliveries.c.id.in_(_IDS), deliveries.c.lease_token == bindparam("b_token"), IS_PENDING)
    .values(last_error=bindparam("b_reason"), **_ENDED)
)
# A disabled endpoint's waiting rows end ``failed``; rows in flight finish on their own.
FAIL_PENDING_OF_WEBHOOK = (
    update(deliveries)
    .where(deliveries.c.webhook_id == bindparam("b_webhook"), IS_PENDING, not_(in_flight()))
    .values(last_error=REASON_ENDPOINT_DISABLED, **_ENDED)
)
# An endpoint's breaker opened: its due rows move to ``b_until`` so claims stop reading them.
POSTPONE_WEBHOOK = (
    update(deliveries)
    .where(
        deliveries.c.webhook_id == bindparam("b_webhook"),
        IS_PENDING,
        deliveries.c.next_attempt_at < _UNTIL,
        not_(in_flight()),
    )
    .values(next_attempt_at=_UNTIL, updated_at=_NOW, **_NO_LEASE)
)

# --- back into the queue ---------------------------------------------------------------------

_DUE_NOW = {
    "status": PENDING,
    "next_attempt_at": _NOW,
    **_NO_LEASE,
    "updated_at": _NOW,
    "completed_at": None,
}
REDELIVER_BODY = select(deliveries.c.body_id.is_not(None)).where(
    deliveries.c.id == bindparam("b_id")
)
REDELIVER = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"), not_(in_flight()))
    .values(**_DUE_NOW)
)
RECOVER = (
    update(deliveries)
    .where(
        deliveries.c.webhook_id == bindparam("b_webhook"),
        deliveries.c.status == FAILED,
        deliveries.c.created_at >= _SINCE,
        deliveries.c.body_id.is_not(None),
    )
    .values(**_DUE_NOW)
)
# ``livehook listen`` is back: what its endpoint waited for comes due now.
HURRY_WEBHOOK = (
    update(deliveries)
    .where(deliveries.c.webhook_id == bindparam("b_webhook"), IS_PENDING, not_(in_flight()))
    .values(next_attempt_at=_NOW, updated_at=_NOW, **_NO_LEASE)
)
# ...and finished deliveries since ``b_since`` of ``b_types`` go again (pending ones are on their
# way already; pruned ones cannot).
REPLAY_WEBHOOK = (
    update(deliveries)
    .where(
        deliveries.c.webhook_id == bindparam("b_webhook"),
        deliveries.c.status != PENDING,
        deliveries.c.created_at >= _SINCE,
        deliveries.c.event_type.in_(bindparam("b_types", expanding=True)),
        deliveries.c.body_id.is_not(None),
    )
    .values(**_DUE_NOW)
)

# --- retention -------------------------------------------------------------------------------

_NOT_PRUNED = deliveries.c.payload_pruned_at.is_(None)
PRUNE_BATCH = (
    select(deliveries.c.id, deliveries.c.body_id)
    .where(_NOT_PRUNED, deliveries.c.created_at < _time("b_older_than"), not_(in_flight()))
    .order_by(deliveries.c.created_at)
    .limit(bindparam("b_limit", type_=Integer))
)
_WAITING = deliveries.c.status == PENDING
# A row still waiting for an attempt ends ``failed``: without its body it can never be sent.
PRUNE = (
    update(deliveries)
    .where(deliveries.c.id.in_(_IDS), _NOT_PRUNED, not_(in_flight()))
    .values(
        body_id=None,
        payload_pruned_at=_NOW,
        status=case((_WAITING, FAILED), else_=deliveries.c.status),
        last_error=case((_WAITING, REASON_PAYLOAD_EXPIRED), else_=deliveries.c.last_error),
        completed_at=case((_WAITING, _NOW), else_=deliveries.c.completed_at),
        next_attempt_at=case((_WAITING, None), else_=deliveries.c.next_attempt_at),
        lease_token=case((_WAITING, None), else_=deliveries.c.lease_token),
        lease_expires_at=case((_WAITING, None), else_=deliveries.c.lease_expires_at),
    )
)
# Then the bodies of the batch that no delivery refers to any more (a body shared with a row
# not pruned yet stays).
PRUNE_BODIES = delete(delivery_bodies).where(
    delivery_bodies.c.id.in_(bindparam("b_bodies", expanding=True)),
    ~exists().where(deliveries.c.body_id == delivery_bodies.c.id),
)
