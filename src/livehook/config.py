"""Settings, read from the environment (``LIVEHOOK_*``) by the composition roots only.

A variable ``LIVEHOOK_<FIELD>`` in any case sets a field, its text read as the field's type;
values given to ``Settings(...)`` win over the environment's; a value that cannot work is a
``ValueError`` naming its variable. Plain Python rather than a pydantic model: a dozen flat
fields did not need pydantic, whose model machinery was about 100 ms of CPU in every command
(`livehook keys list`; tests/e2e/test_cli_imports.py pins what a command loads).
"""

from __future__ import annotations

import math
import os
import secrets
from pathlib import Path
from typing import Any, NoReturn

from livehook.domain import profiles
from livehook.files import make_private_dir

SECRET_KEY_FILE = "secret.key"


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


ENV_PREFIX = "LIVEHOOK_"

# What pydantic accepted as a boolean, which the README's examples use (`true`, `1`).
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


class Settings:
    """The deployment's settings; ``replace(**changes)`` gives a copy with some changed."""

    FIELDS = (
        "home",
        "database_url",
        "secret_key",
        "allow_local_urls",
        "run_worker",
        "worker_processes",
        "retention_days",
        "disable_after_days",
        "log_level",
        "verification_url",
        "wire_profile",
        "user_agent",
    )
    # Never shown by repr (a log line or a traceback may print the settings).
    _HIDDEN = frozenset({"database_url", "secret_key"})

    home: Path  # data directory
    database_url: str | None  # sqlite:///path or postgresql://...; default: a file in home
    secret_key: str | None  # key(s) encrypting signing secrets at rest, comma-separated
    allow_local_urls: bool  # development only: allow http:// and local webhook targets
    run_worker: bool  # run the delivery worker inside serve
    # Worker processes serve starts and restarts beside its API; 0 runs the worker in the
    # API's own process; None: the measured default of the database.
    worker_processes: int | None
    retention_days: int  # days payloads are kept
    disable_after_days: float  # disable an endpoint whose deliveries all failed this long
    log_level: str
    # The page where a person completes a verification, with `{session_id}`
    # (https://verify.example.com/s/{session_id}); MCP agents hand it to the human.
    verification_url: str | None
    wire_profile: str  # default wire profile of webhooks and session callbacks
    user_agent: str | None  # User-Agent of every delivery instead of the profile's

    def __init__(self, **values: Any) -> None:
        unknown = values.keys() - set(self.FIELDS)
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        given: dict[str, Any] = _from_environment() | values
        read = _Reader(given)
        self.home = Path(read.text("home", "~/.livehook")).expanduser()
        self.database_url = read.optional_text("database_url")
        self.secret_key = read.optional_text("secret_key")
        self.allow_local_urls = read.flag("allow_local_urls", default=False)
        self.run_worker = read.flag("run_worker", default=True)
        self.worker_processes = read.optional_whole("worker_processes", low=0, high=64)
        self.retention_days = read.whole("retention_days", 30, low=1)
        self.disable_after_days = read.positive("disable_after_days", 5.0)
        self.log_level = read.text("log_level", "info")
        self.verification_url = _verification_page(read.optional_text("verification_url"))
        self.wire_profile = profiles.get(read.text("wire_profile", "livehook")).name
        self.user_agent = _header_safe(read.optional_text("user_agent"))

    def replace(self, **changes: Any) -> Settings:
        return Settings(**({name: getattr(self, name) for name in self.FIELDS} | changes))

    def __repr__(self) -> str:
        shown = (
            f"{name}={'<hidden>' if name in self._HIDDEN else repr(getattr(self, name))}"
            for name in self.FIELDS
        )
        return f"Settings({', '.join(shown)})"

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


def _from_environment() -> dict[str, str]:
    """The ``LIVEHOOK_<FIELD>`` variables, by field name (names in any case)."""
    prefix = ENV_PREFIX.lower()
    found: dict[str, str] = {}
    for key, value in os.environ.items():
        name = key.lower()
        if name.startswith(prefix) and name[len(prefix) :] in Settings.FIELDS:
            found[name[len(prefix) :]] = value
    return found


class _Reader:
    """Each field's value from what was given (text from the environment, or a value), with
    an error that names the variable."""

    def __init__(self, given: dict[str, Any]) -> None:
        self._given = given

    def text(self, name: str, default: str) -> str:
        value = self._given.get(name, default)
        return str(value) if isinstance(value, (str, Path)) else _refuse(name, value, "text")

    def optional_text(self, name: str) -> str | None:
        value = self._given.get(name)
        return None if value is None else self.text(name, "")

    def flag(self, name: str, *, default: bool) -> bool:
        value = self._given.get(name, default)
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        return _refuse(name, value, "true or false")

    def whole(self, name: str, default: int, *, low: int, high: int | None = None) -> int:
        value = self._given.get(name, default)
        wanted = f"a whole number from {low}" + (f" to {high}" if high is not None else " up")
        try:
            number = value if isinstance(value, int) else int(str(value).strip())
        except ValueError:
            return _refuse(name, value, wanted)
        if isinstance(value, bool) or number < low or (high is not None and number > high):
            return _refuse(name, value, wanted)
        return number

    def optional_whole(self, name: str, *, low: int, high: int) -> int | None:
        if self._given.get(name) is None:
            return None
        return self.whole(name, 0, low=low, high=high)

    def positive(self, name: str, default: float) -> float:
        value = self._given.get(name, default)
        try:
            number = float(str(value).strip()) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            return _refuse(name, value, "a number above 0")
        if isinstance(value, bool) or not math.isfinite(number) or number <= 0:
            return _refuse(name, value, "a number above 0")
        return number


def _refuse(name: str, value: Any, wanted: str) -> NoReturn:
    raise ValueError(f"{ENV_PREFIX}{name.upper()} must be {wanted}, not {value!r}")


def _verification_page(value: str | None) -> str | None:
    if not value:
        return None
    if "{session_id}" not in value:
        raise ValueError(
            f"{ENV_PREFIX}VERIFICATION_URL must contain `{{session_id}}`, where the session's "
            "id goes"
        )
    return value


def _header_safe(value: str | None) -> str | None:
    if value is not None and (not value.strip() or any(c in value for c in "\r\n\0")):
        raise ValueError(f"{ENV_PREFIX}USER_AGENT must be one non-empty line")
    return value
