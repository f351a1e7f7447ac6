"""Rows to domain records and records to rows, without writing the fields out again.

A table's columns are named like its record's fields, so a query selects exactly the record's
columns (`columns_for`), a row becomes a record by name (`from_row`), and a record becomes its
column values (`values_of`). Only a column stored differently from the field (encrypted, ""
for None, a JSON list for a tuple) is named, as an override. `bench/records.py` measured the
options: building by name costs about what the hand-written constructors did.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import Column, Table

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from sqlalchemy import RowMapping

R = TypeVar("R", bound="DataclassInstance")


class Row(Protocol):
    """A result row of any width, read by column name."""

    @property
    def _mapping(self) -> RowMapping: ...


@cache
def field_names(record_type: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(record_type))


def columns_for(table: Table, record_type: type[DataclassInstance]) -> list[Column[Any]]:
    """The table's columns named like the record's fields, in field order (KeyError if one is
    missing: the schema and the record have drifted apart)."""
    return [table.c[name] for name in field_names(record_type)]


def from_row(record_type: type[R], row: Row, **overrides: Any) -> R:
    """The record of a row that holds a column per field, with ``overrides`` for the fields
    stored differently."""
    if overrides:
        return record_type(**{**row._mapping, **overrides})
    return record_type(**row._mapping)


def from_row_part(record_type: type[R], row: Row, **overrides: Any) -> R:
    """``from_row`` for a row that carries more than the record (a join, a secret beside it)."""
    mapping = row._mapping
    values = {name: mapping[name] for name in field_names(record_type)}
    values.update(overrides)
    return record_type(**values)


def values_of(record: DataclassInstance, **overrides: Any) -> dict[str, Any]:
    """The column values of a record, with ``overrides`` for the columns stored differently."""
    values = {name: getattr(record, name) for name in field_names(type(record))}
    values.update(overrides)
    return values
