"""Records and their tables agree by name: a field without its column is caught here first."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import pytest
from sqlalchemy import Table

from livehook.domain.accounts import Account, ApiKey
from livehook.domain.deliveries import Attempt, Delivery, NewDelivery
from livehook.domain.portal import PortalUser
from livehook.domain.sessions import Event, Session
from livehook.domain.webhooks import Webhook
from livehook.storage.delivery_queue_sql import DELIVERY_COLUMNS
from livehook.storage.records import columns_for, values_of
from livehook.storage.tables import (
    accounts,
    api_keys,
    attempts,
    deliveries,
    events,
    portal_users,
    sessions,
    webhooks,
)


@pytest.mark.parametrize(
    ("table", "record"),
    [
        (webhooks, Webhook),
        (sessions, Session),
        (events, Event),
        (api_keys, ApiKey),
        (accounts, Account),
        (portal_users, PortalUser),
        (attempts, Attempt),
    ],
)
def test_every_field_of_a_record_has_a_column_of_its_name(table: Table, record: Any) -> None:
    assert [c.name for c in columns_for(table, record)] == [f.name for f in fields(record)]


@pytest.mark.parametrize("record", [Delivery, NewDelivery])
def test_a_delivery_is_its_row_and_its_body(record: Any) -> None:
    """Every field but the body is a column of ``deliveries``; the body is ``delivery_bodies``'s
    (read as ``request_body``, written by reference)."""
    assert {f.name for f in fields(record)} <= {c.name for c in DELIVERY_COLUMNS}
    assert {c.name for c in DELIVERY_COLUMNS} == {f.name for f in fields(Delivery)}
    assert "body_id" in deliveries.c and "request_body" not in deliveries.c


def test_a_field_without_a_column_is_refused_naming_it() -> None:
    @dataclass(frozen=True)
    class Stray:
        id: str
        nickname: str

    with pytest.raises(KeyError, match="nickname"):
        columns_for(webhooks, Stray)


def test_values_of_gives_every_field_with_the_overrides_in_their_place() -> None:
    @dataclass(frozen=True)
    class Pair:
        id: str
        tags: tuple[str, ...]

    assert values_of(Pair("a", ("x",)), tags=["x"], extra=1) == {
        "id": "a",
        "tags": ["x"],
        "extra": 1,
    }
