from __future__ import annotations

from pathlib import Path

import pytest

from livehook.config import ConfigError, Settings
from livehook.crypto import DecryptionError, SecretBox
from livehook.storage.engines import DatabaseURLError, async_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("postgresql://u:p@db:5432/lh", "postgresql+asyncpg://u:p@db:5432/lh"),
        ("postgres://u@db/lh", "postgresql+asyncpg://u@db/lh"),
        ("postgresql+asyncpg://u@db/lh", "postgresql+asyncpg://u@db/lh"),
    ],
)
def test_plain_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert async_url(given) == expected


@pytest.mark.parametrize("bad", ["mysql://x/y", "not a url"])
def test_unsupported_database_urls_are_refused(bad: str) -> None:
    with pytest.raises(DatabaseURLError):
        async_url(bad)


def test_default_database_is_a_file_in_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'livehook.db'}"
    assert settings.is_embedded


def test_embedded_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(home=tmp_path).secret_keys()
    assert Settings(home=tmp_path).secret_keys() == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_postgres_requires_a_secret_key(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url="postgresql://db/lh")
    with pytest.raises(ConfigError, match="LIVEHOOK_SECRET_KEY is required"):
        settings.secret_keys()


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LIVEHOOK_HOME", str(tmp_path))
    monkeypatch.setenv("LIVEHOOK_ALLOW_LOCAL_URLS", "true")
    monkeypatch.setenv("LIVEHOOK_SECRET_KEY", "new-key-0123456789abcdef, old-key-0123456789abcdef")
    settings = Settings()
    assert settings.home == tmp_path and settings.allow_local_urls is True
    assert settings.secret_keys() == ["new-key-0123456789abcdef", "old-key-0123456789abcdef"]


def test_secret_box_round_trips_and_rotates_keys() -> None:
    old = SecretBox(["old-key-0123456789abcdef"])
    token = old.encrypt("whsec_abc")
    assert "whsec_abc" not in token
    rotated = SecretBox(["new-key-0123456789abcdef", "old-key-0123456789abcdef"])
    assert rotated.decrypt(token) == "whsec_abc"
    with pytest.raises(DecryptionError, match="LIVEHOOK_SECRET_KEY"):
        SecretBox(["new-key-0123456789abcdef"]).decrypt(token)


def test_short_secret_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        SecretBox(["short"])


def test_the_verification_page_address_must_say_where_the_session_id_goes(
    tmp_path: Path,
) -> None:
    template = "https://verify.example.com/s/{session_id}"
    assert Settings(home=tmp_path, verification_url=template).verification_url == template
    assert Settings(home=tmp_path, verification_url="").verification_url is None
    with pytest.raises(ValueError, match=r"\{session_id\}"):
        Settings(home=tmp_path, verification_url="https://verify.example.com/s/")


def test_each_kind_of_value_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in {
        "HOME": str(tmp_path),
        "run_worker": "no",  # names in any case
        "WORKER_PROCESSES": "3",
        "RETENTION_DAYS": "7",
        "DISABLE_AFTER_DAYS": "0.5",
        "WIRE_PROFILE": "moveris",
        "USER_AGENT": "Acme-Hooks/3",
    }.items():
        monkeypatch.setenv(f"LIVEHOOK_{name}", value)
    settings = Settings(retention_days=9)  # a value given wins over the environment's
    assert (settings.home, settings.run_worker, settings.worker_processes) == (tmp_path, False, 3)
    assert (settings.retention_days, settings.disable_after_days) == (9, 0.5)
    assert (settings.wire_profile, settings.user_agent) == ("moveris", "Acme-Hooks/3")
    assert settings.replace(run_worker=True).run_worker is True
    assert settings.replace(run_worker=True).worker_processes == 3


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LIVEHOOK_WORKER_PROCESSES", "many"),
        ("LIVEHOOK_WORKER_PROCESSES", "65"),
        ("LIVEHOOK_RETENTION_DAYS", "0"),
        ("LIVEHOOK_DISABLE_AFTER_DAYS", "nan"),
        ("LIVEHOOK_ALLOW_LOCAL_URLS", "maybe"),
    ],
)
def test_a_value_that_cannot_work_is_refused_by_its_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=f"^{variable} must be .*, not '{value}'$"):
        Settings(home=tmp_path)


def test_the_settings_never_show_the_secret_key_or_the_database_url(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        secret_key="new-key-0123456789abcdef",
        database_url="postgresql://u:hunter2@db/lh",
    )
    assert "0123456789abcdef" not in repr(settings) and "hunter2" not in repr(settings)
