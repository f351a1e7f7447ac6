"""Settings, read from the environment (``LIVEHOOK_*``) by the composition roots only.

A plain pydantic model reads the environment itself, as pydantic-settings did: a variable
``LIVEHOOK_<FIELD>`` in any case, its text validated like any value, values given to
``Settings(...)`` over the environment's. (pydantic-settings' import was a good part of the
start of a quick command, for a handful of flat fields.)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from livehook.domain import profiles
from livehook.files import make_private_dir

SECRET_KEY_FILE = "secret.key"


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


ENV_PREFIX = "LIVEHOOK_"


class Settings(BaseModel):
    # Defaults are validated too (`home`'s `~` is expanded), as pydantic-settings did.
    model_config = ConfigDict(extra="ignore", validate_default=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**(_from_environment() | values))

    home: Path = Field(default=Path("~/.livehook"), description="Data directory.")
    database_url: str | None = Field(
        default=None, description="sqlite:///path or postgresql://...; default: a file in home."
    )
    secret_key: str | None = Field(
        default=None, description="Key(s) encrypting signing secrets at rest, comma-separated."
    )
    allow_local_urls: bool = Field(
        default=False, description="Development only: allow http:// and local webhook targets."
    )
    run_worker: bool = Field(default=True, description="Run the delivery worker inside serve.")
    worker_processes: int | None = Field(
        default=None,
        ge=0,
        le=64,
        description="Worker processes serve starts and restarts beside its API; 0 runs the "
        "worker in the API's own process; unset: the measured default of the database.",
    )
    retention_days: int = Field(default=30, ge=1, description="Days payloads are kept.")
    disable_after_days: float = Field(
        default=5.0, gt=0, description="Disable an endpoint whose deliveries all failed this long."
    )
    log_level: str = Field(default="info")
    verification_url: str | None = Field(
        default=None,
        description="The page where a person completes a verification, with `{session_id}` "
        "(e.g. https://verify.example.com/s/{session_id}); MCP agents hand it to the human.",
    )
    wire_profile: str = Field(
        default="livehook",
        description="Default wire profile of webhooks and session callbacks: livehook, moveris, "
        "verifeye, verifyyou or standard-webhooks.",
    )
    user_agent: str | None = Field(
        default=None, description="User-Agent of every delivery instead of the profile's."
    )

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("wire_profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        return profiles.get(value).name

    @field_validator("user_agent")
    @classmethod
    def _header_safe(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(c in value for c in "\r\n\0")):
            raise ValueError("LIVEHOOK_USER_AGENT must be one non-empty line")
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'livehook.db'}"

    @property
    def is_embedded(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def secret_keys(self) -> list[str]:
        """The encryption keys, newest first; on the embedded default one is made and kept."""
        if self.secret_key:
            return [k.strip() for k in self.secret_key.split(",") if k.strip()]
        if not self.is_embedded:
            raise ConfigError(
                "LIVEHOOK_SECRET_KEY is required with PostgreSQL: it encrypts webhook signing "
                "secrets at rest. Generate one with `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'` and keep it safe."
            )
        return [self._embedded_secret_key()]

    def _embedded_secret_key(self) -> str:
        path = self.home / SECRET_KEY_FILE
        if path.exists():
            return path.read_text().strip()
        make_private_dir(self.home)
        key = secrets.token_urlsafe(32)
        path.touch(mode=0o600)
        path.write_text(key + "\n")
        return key

    @field_validator("verification_url")
    @classmethod
    def _has_session_placeholder(cls, value: str | None) -> str | None:
        if not value:
            return None
        if "{session_id}" not in value:
            raise ValueError("must contain `{session_id}`, where the session's id goes")
        return value


def _from_environment() -> dict[str, str]:
    """The ``LIVEHOOK_<FIELD>`` variables, by field name (names in any case)."""
    prefix = ENV_PREFIX.lower()
    found: dict[str, str] = {}
    for key, value in os.environ.items():
        name = key.lower()
        if name.startswith(prefix) and name[len(prefix) :] in Settings.model_fields:
            found[name[len(prefix) :]] = value
    return found
