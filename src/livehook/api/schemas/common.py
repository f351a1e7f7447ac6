"""The edge: request bodies and query times are refused here if storage could not hold them;
and the one way a response model reads records it has no attribute of its own for."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator

from livehook.domain.values import in_utc, json_problem

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# An ISO 8601 date and time. Pydantic alone also reads numbers (`0.5`, `false`) as unix times.
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


class RequestModel(BaseModel):
    """A request body: unknown fields refused, and nothing storage cannot hold (integers beyond
    64 bits, NUL characters, non-finite numbers) anywhere in it."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        problem = json_problem(data)
        if problem:
            raise ValueError(problem)
        return data


def _iso_time_only(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_TIME.match(value):
        raise ValueError("must be an ISO 8601 time such as 2026-02-10T00:00:00Z")
    return value


def _needs_zone(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("must carry a zone (e.g. `Z` or `+02:00`)")
    return moment


_Time = Annotated[datetime, BeforeValidator(_iso_time_only)]
# A time read as UTC when it has no zone, always returned in UTC (years 1 to 9999 there).
UtcTime = Annotated[_Time, AfterValidator(in_utc)]
# The same, with a zone required.
AwareUtcTime = Annotated[_Time, AfterValidator(_needs_zone), AfterValidator(in_utc)]


def fields_of(*records: DataclassInstance) -> dict[str, Any]:
    """The fields of records by name, later records' over earlier ones': what a response model
    built from several records (or a record and a few values of its own) validates, taking the
    fields it declares and ignoring the rest. Not ``dataclasses.asdict``, which copies deep."""
    return {name: getattr(r, name) for r in records for name in _field_names(type(r))}


@cache
def _field_names(record_type: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(record_type))
