"""The claim statements return a delivery's columns in ``Delivery``'s field order: the queue
builds each claimed row into a ``Delivery`` by position."""

from __future__ import annotations

import pytest

from livehook.domain.deliveries import Delivery
from livehook.storage import delivery_queue_sql as sql
from livehook.storage.records import field_names


@pytest.mark.parametrize("listen", [None, True, False])
def test_both_claims_return_the_columns_in_the_records_field_order(listen: bool | None) -> None:
    postgres = [c.name for c in sql.CLAIM_POSTGRES[listen].selected_columns]
    sqlite = [d["name"] for d in sql.CLAIM_SQLITE[listen].returning_column_descriptions]
    assert postgres == sqlite == list(field_names(Delivery))
