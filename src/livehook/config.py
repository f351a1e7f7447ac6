"""Settings, read from the environment (``LIVEHOOK_*``) by the composition roots only."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from livehook.files import make_private_dir

SECRET_KEY_FILE = "secret.key"


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIVEHOOK_", extra="ignore")

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
    retention_days: int = Field(default=30, ge=1, description="Days payloads are kept.")
    disable_after_days: float = Field(
        default=5.0, gt=0, description="Disable an endpoint whose deliveries all failed this long."
    )
    log_level: str = Field(default="info")

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

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
