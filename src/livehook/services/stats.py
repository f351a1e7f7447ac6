"""Statistics for the account: the verification funnel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from livehook.clock import Clock, system_clock
from livehook.domain import catalog
from livehook.domain.accounts import Principal
from livehook.domain.funnel import Funnel, build_funnel
from livehook.services.errors import InvalidRequest
from livehook.storage.database import Database
from livehook.storage.repositories.stats import StatsRepository

# Without a range, the funnel covers the sessions created in the last 30 days.
DEFAULT_FUNNEL_WINDOW = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class FunnelReport:
    start: datetime  # inclusive: sessions created at or after
    end: datetime  # exclusive
    external_tracker: str | None
    model: str | None
    funnel: Funnel


class StatsService:
    def __init__(self, db: Database, clock: Clock = system_clock) -> None:
        self._db = db
        self._clock = clock

    async def funnel(
        self,
        principal: Principal,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        external_tracker: str | None = None,
        model: str | None = None,
    ) -> FunnelReport:
        """The funnel of the sessions the account created in [start, end)."""
        end = end or self._clock()
        # The default window, cut at the earliest time a datetime holds (`to` near year 1).
        start = start or end - min(DEFAULT_FUNNEL_WINDOW, end - datetime.min.replace(tzinfo=UTC))
        if start >= end:
            raise InvalidRequest("`from` must be before `to`", field="from")
        if model is not None:
            try:
                catalog.check_model(model)
            except ValueError as exc:
                raise InvalidRequest(str(exc), field="model") from None
        async with self._db.read() as tx:
            counts = await StatsRepository(tx).funnel_counts(
                account_id=principal.account_id,
                start=start,
                end=end,
                external_tracker=external_tracker,
                model=model,
            )
        # Only session events carry session_created_at; the filter is belt and braces.
        counts = {name: n for name, n in counts.items() if name in catalog.SESSION_EVENT_TYPES}
        return FunnelReport(start, end, external_tracker, model, build_funnel(counts))
