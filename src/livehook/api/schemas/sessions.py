"""Session and event request and response shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from livehook.api.schemas.common import RequestModel
from livehook.api.schemas.webhooks import RetryPolicyField, WireProfileName
from livehook.domain import catalog, payloads, profiles
from livehook.domain.addresses import MAX_URL_LENGTH
from livehook.domain.sessions import (
    MAX_LABEL_CHARS,
    MAX_TENANT_METADATA_BYTES,
    Event,
    FieldError,
    Session,
    StageReached,
    check_stage,
    check_tenant_metadata,
)
from livehook.services.sessions import SessionView

MAX_FRAMES = max(model.frames for model in catalog.MODELS.values())
# A score or confidence, 0..1, a JSON number (the domain's check_unit_interval, at the edge).
UnitInterval = Annotated[float, Field(ge=0, le=1, strict=True, allow_inf_nan=False)]


def _label(description: str) -> Any:
    return Field(default=None, min_length=1, max_length=MAX_LABEL_CHARS, description=description)


class WebhookConfig(RequestModel):
    """VerifEye's verification configuration: `eventCallbackUrl` is `callback_url`."""

    eventCallbackUrl: str | None = Field(default=None, max_length=MAX_URL_LENGTH)


class SessionCreate(RequestModel):
    model: str = Field(
        max_length=32,
        examples=[catalog.RECOMMENDED_MODEL],
        description="The detection model: " + ", ".join(catalog.MODELS) + ".",
    )
    external_id: str | None = _label("Your id for this verification (e.g. your user id).")
    external_tracker: str | None = _label("A non-PII label to group sessions (e.g. a campaign).")
    tenant_metadata: dict[str, Any] | None = Field(
        default=None,
        description=f"Any JSON object (at most {MAX_TENANT_METADATA_BYTES} bytes as JSON), "
        "echoed in the verdict.",
    )
    callback_url: str | None = Field(
        default=None,
        max_length=MAX_URL_LENGTH,
        description="Also receives every way this session ends (`verification.completed`, "
        "`verification.failed`, `liveness.cancelled`) in its `callback_profile`, signed with the "
        "API key's callback secret.",
    )
    callback_format: payloads.PayloadFormat = payloads.DEFAULT_PAYLOAD_FORMAT
    callback_profile: WireProfileName | None = Field(
        default=None,
        description="The callback's wire profile (default: the deployment's, "
        "`LIVEHOOK_WIRE_PROFILE`).",
    )
    callback_retry_policy: RetryPolicyField | None = Field(
        default=None, description="Default: the callback profile's (`verifeye`: `once`)."
    )
    webhookConfig: WebhookConfig | None = Field(
        default=None, description="VerifEye's spelling of `callback_url`."
    )

    @model_validator(mode="after")
    def _verifeye_callback(self) -> SessionCreate:
        config = self.webhookConfig
        if config is not None and config.eventCallbackUrl is not None:
            if self.callback_url not in (None, config.eventCallbackUrl):
                raise ValueError("give callback_url or webhookConfig.eventCallbackUrl, not both")
            self.callback_url = config.eventCallbackUrl
        return self

    def draft_fields(self) -> dict[str, Any]:
        """The fields of a `SessionDraft`: aliases folded into livehook's own names."""
        return self.model_dump(exclude={"webhookConfig"})

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        return catalog.check_model(value)

    @field_validator("tenant_metadata")
    @classmethod
    def _bounded_metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        try:
            return check_tenant_metadata(value)
        except FieldError as exc:
            raise ValueError(str(exc)) from None


class StageReport(RequestModel):
    stage: str = Field(max_length=40, examples=["verification.started"])
    trust_score: UnitInterval | None = Field(default=None, description="The running trust score.")

    @field_validator("stage")
    @classmethod
    def _reportable(cls, value: str) -> str:
        try:
            # VerifyYou's underscore spelling (`liveness_started`) names the same stage.
            return check_stage(profiles.stage_name(value))
        except FieldError as exc:
            raise ValueError(str(exc)) from None


class ResultReport(RequestModel):
    verdict: Literal["live", "fake"]
    real_score: UnitInterval = Field(description="Liveness, 0..1.")
    confidence: UnitInterval
    input_source: str = Field(min_length=1, max_length=64, examples=["rest_frames"])
    processing_ms: int = Field(ge=0, le=86_400_000, strict=True)
    frames_processed: int = Field(
        ge=0, le=MAX_FRAMES, strict=True, description="At most the session model's frames."
    )
    warning: str | None = Field(default=None, max_length=500)
    face_collision: bool = Field(
        default=False,
        strict=True,
        description="The uniqueness check matched an existing person (live verdicts only): "
        "emits face.collision before verification.completed.",
    )


class FailureReport(RequestModel):
    code: str = Field(pattern=payloads.ERROR_CODE_PATTERN, examples=["video_pipeline_error"])
    message: str = Field(min_length=1, max_length=payloads.MAX_ERROR_MESSAGE_CHARS)


class StagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    stage: str
    step: int | None
    reached_at: datetime
    event_id: str

    @classmethod
    def of(cls, reached: StageReached) -> StagePublic:
        return cls.model_validate(reached)


class SessionPublic(BaseModel):
    """A session as the API shows it: read from the `Session` record by attribute name."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    api_key_id: str
    model: str
    external_id: str | None
    external_tracker: str | None
    tenant_metadata: dict[str, Any] | None
    callback_url: str | None
    callback_format: str
    callback_profile: str
    callback_retry_policy: str | list[int] = Field(
        description="The callback's retry policy in force (the profile's unless one was named)."
    )
    status: str = Field(description="pending, in_progress, cancelled, completed or failed.")
    stage: str = Field(description="The last stage reached.")
    trust_score: float | None
    result: dict[str, Any] | None = Field(description="The verdict, once completed.")
    error: dict[str, Any] | None = Field(description="The error, once failed.")
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None

    # The record keeps None for "the profile's default"; the API shows the policy in force.
    @field_validator("callback_retry_policy", mode="before")
    @classmethod
    def _in_force(cls, policy: str | list[int] | None, info: ValidationInfo) -> str | list[int]:
        return profiles.retry_policy_of(info.data["callback_profile"], policy)

    @classmethod
    def of(cls, session: Session) -> SessionPublic:
        return cls.model_validate(session)


class SessionDetail(SessionPublic):
    stages: list[StagePublic] = Field(description="Stages reached, in order, with their times.")

    @classmethod
    def of_view(cls, view: SessionView) -> SessionDetail:
        stages = [StagePublic.of(s) for s in view.stages]
        return cls(**dict(SessionPublic.of(view.session)), stages=stages)


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    type: str
    session_id: str | None
    created_at: datetime
    data: dict[str, Any] = Field(description="The `data` of the event's full payload.")

    @classmethod
    def of(cls, event: Event) -> EventPublic:
        return cls.model_validate(event)
