"""Statistics response shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from livehook.api.schemas.common import fields_of
from livehook.domain.funnel import StageCount
from livehook.services.stats import FunnelReport


class StageCountPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    stage: str
    step: int | None
    sessions: int = Field(description="Sessions that reached this stage.")
    conversion: float = Field(description="sessions / initialized (0 when nothing started).")

    @classmethod
    def of(cls, count: StageCount) -> StageCountPublic:
        return cls.model_validate(count)


class FunnelPublic(BaseModel):
    start: datetime = Field(serialization_alias="from", description="Sessions created from.")
    end: datetime = Field(serialization_alias="to", description="Until (exclusive).")
    external_tracker: str | None
    model: str | None
    initialized: int = Field(description="Sessions created in the range: the funnel's top.")
    stages: list[StageCountPublic] = Field(description="The happy path, in step order.")
    drop_offs: list[StageCountPublic] = Field(
        description="Where sessions left: liveness.failed, liveness.cancelled, face.collision."
    )
    other: list[StageCountPublic] = Field(
        description="Other session events (account.created, verification.failed)."
    )

    @classmethod
    def of(cls, report: FunnelReport) -> FunnelPublic:
        # The range and filters are the report's, the counts its funnel's, read by name.
        return cls.model_validate(fields_of(report, report.funnel))
