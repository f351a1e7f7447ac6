"""Cursor pagination: ids sort by creation, so the cursor is the last id seen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Protocol, TypeVar

from fastapi import Query

from livehook.api.envelope import Page
from livehook.constants import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

Cursor = Annotated[
    str | None, Query(max_length=64, description="`next_cursor` of the previous page.")
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
DEFAULT_LIMIT = DEFAULT_PAGE_SIZE


class HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=HasId)
P = TypeVar("P")


def page_of(rows: Sequence[T], limit: int, shape: Callable[[T], P]) -> Page[P]:
    """``rows`` fetched with ``limit + 1``: the extra row only tells that there is more."""
    items = rows[:limit]
    has_more = len(rows) > limit
    return Page(
        items=[shape(r) for r in items],
        next_cursor=items[-1].id if has_more and items else None,
        has_more=has_more,
    )
