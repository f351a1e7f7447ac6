"""API key request and response shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from livehook.api.schemas.common import RequestModel
from livehook.domain.accounts import ApiKey


class KeyCreate(RequestModel):
    name: str = Field(default="default", min_length=1, max_length=100)
    scopes: list[str] = Field(
        default_factory=list, description="Empty means full access.", max_length=20
    )


class KeyPublic(BaseModel):
    id: str
    account_id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    scopes: list[str]
    full_access: bool
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyPublic:
        return cls(
            id=key.id,
            account_id=key.account_id,
            name=key.name,
            prefix=key.key_prefix,
            scopes=list(key.scopes),
            full_access=key.full_access,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


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
