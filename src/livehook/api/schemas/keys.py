"""API key request and response shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from livehook.api.schemas.common import RequestModel
from livehook.domain.accounts import ApiKey


class KeyCreate(RequestModel):
    name: str = Field(default="default", min_length=1, max_length=100)
    scopes: list[str] = Field(
        default_factory=list, description="Empty means full access.", max_length=20
    )


class KeyPublic(BaseModel):
    """A key as the API shows it: read from the `ApiKey` record by attribute name."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    name: str
    prefix: str = Field(
        validation_alias=AliasChoices("key_prefix", "prefix"),
        description="The first characters of the key, to tell keys apart.",
    )
    scopes: list[str]
    full_access: bool
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyPublic:
        return cls.model_validate(key)


class KeyCreated(KeyPublic):
    key: str = Field(description="The API key. Shown once: store it now.")
    callback_secret: str = Field(
        description="Signs deliveries to per-session callback URLs. Shown once."
    )


class Me(BaseModel):
    account_id: str
    account_name: str
    key_id: str
    scopes: list[str]
    full_access: bool
