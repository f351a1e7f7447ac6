"""What each `livehook` command loads: a command that needs no server imports none of it.

Each command runs in a fresh interpreter, which then lists the modules it holds. Loading a web
framework, an SDK or the HTTP client for `livehook keys list` is what made it take seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import env_for

# What serves HTTP, sends deliveries, talks MCP or exports traces.
SERVER_MODULES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "mcp",
    "opentelemetry",
    "aiohttp",
    "jinja2",
    "livehook.api",
    "livehook.portal",
    "livehook.mcp_server",
    "livehook.delivery",
    "livehook.server",
)
# What a command that reads or writes the database needs, and `--help` does not.
DATABASE_MODULES = ("sqlalchemy", "alembic", "livehook.config", "livehook.storage")
# What a command on an up-to-date database does without: Alembic (loaded only when a migration
# is due), structlog (until a line is logged), asyncpg (a worker's LISTEN connection),
# pydantic-settings (the settings read the environment themselves), cryptography (until a
# secret is sealed or opened) and the metrics (a one-shot command serves none).
UNUSED_BY_QUICK_COMMANDS = (
    "alembic",
    "structlog",
    "asyncpg",
    "pydantic_settings",
    "cryptography",
    "prometheus_client",
    "livehook.metrics",
)

RUN_AND_LIST = """
import json, sys
sys.argv = ["livehook", *sys.argv[1:]]
from livehook.cli import main
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
print("\\n" + json.dumps(sorted(sys.modules)))
"""


def _modules_loaded_by(home: Path, *args: str) -> set[str]:
    loaded = _modules_after(RUN_AND_LIST, home, *args)
    assert "livehook.cli" in loaded  # the command really ran in this interpreter
    return loaded


def _modules_after(script: str, home: Path, *args: str) -> set[str]:
    """The modules a fresh interpreter holds after ``script``, which prints them last."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(
        name for name in modules if any(name == p or name.startswith(p + ".") for p in packages)
    )


def test_help_loads_neither_server_nor_database(tmp_path: Path) -> None:
    loaded = _modules_loaded_by(tmp_path / "home", "--help")
    unused = (*SERVER_MODULES, *DATABASE_MODULES, *UNUSED_BY_QUICK_COMMANDS, "pydantic")
    assert _loaded(loaded, unused) == []


@pytest.mark.parametrize("command", [("keys", "list"), ("keys", "list", "--json")])
def test_keys_list_loads_the_database_and_no_server(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    home = tmp_path / "home"
    first = _modules_loaded_by(home, *command)
    assert "alembic" in first  # the new database was migrated
    loaded = _modules_loaded_by(home, *command)
    assert _loaded(loaded, (*SERVER_MODULES, *UNUSED_BY_QUICK_COMMANDS)) == []
    assert "sqlalchemy" in loaded  # it did read the keys
    # On SQLite, nothing of PostgreSQL's dialect (storage/types.py, storage/tables.py); no
    # pydantic: the settings are plain Python (config.py) and Typer builds no coercion for a
    # flag not given (commands/groups.py).
    assert _loaded(loaded, ("sqlalchemy.dialects.postgresql", "asyncpg", "pydantic")) == []


# The use cases each read-only command calls (with the errors and idempotency modules they all
# import): `Services` builds, and imports, a use case when it is first asked for, so a command
# loads no other service, nor the delivery queue, the worker's wake-up listeners or argon2.
SERVICES_USED = {
    ("keys", "list"): {"keys"},
    ("users", "list"): {"portal"},
    ("webhooks", "list"): {"keys", "webhooks"},
    ("deliveries", "list"): {"keys", "webhooks", "deliveries"},
}
SHARED_SERVICE_MODULES = {"livehook.services.registry", "livehook.services.errors"}
SHARED_SERVICE_MODULES |= {"livehook.services.idempotency"}
# `webhooks list --json` prints the API's own wire models, so the API's schemas may load.
SERVER_BUT_THE_WIRE_MODELS = (
    *(name for name in SERVER_MODULES if name != "livehook.api"),
    "livehook.api.app",
    "livehook.api.routes",
)
NOT_FOR_READING_KEYS = ("livehook.storage.notify", "livehook.storage.delivery_queue", "argon2")


@pytest.mark.parametrize("command", list(SERVICES_USED))
def test_a_command_loads_only_the_services_it_calls(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "livehook", "keys", "create", "--account", "acme", "--json"],
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = json.loads(done.stdout)["key"]
    args = command if command[0] in ("keys", "users") else (*command, "--key", key)
    loaded = _modules_loaded_by(home, *args)
    services = set(_loaded(loaded, ("livehook.services",))) - {"livehook.services"}
    expected = {f"livehook.services.{name}" for name in SERVICES_USED[command]}
    assert services == expected | SHARED_SERVICE_MODULES
    assert _loaded(loaded, (*SERVER_BUT_THE_WIRE_MODELS, *UNUSED_BY_QUICK_COMMANDS)) == []
    if command == ("keys", "list"):
        assert _loaded(loaded, NOT_FOR_READING_KEYS) == []


def test_worker_help_loads_no_server(tmp_path: Path) -> None:
    loaded = _modules_loaded_by(tmp_path / "home", "worker", "--help")
    assert _loaded(loaded, (*SERVER_MODULES, *DATABASE_MODULES, *UNUSED_BY_QUICK_COMMANDS)) == []


BUILD_APP_AND_LIST = """
import json, sys
from pathlib import Path
from livehook.composition import build_app
from livehook.config import Settings
build_app(Settings(home=Path(sys.argv[1]), secret_key="k" * 32))
print(json.dumps(sorted(sys.modules)))
"""


def test_the_app_serve_builds_loads_no_mcp_sdk_until_mcp_is_asked_for(tmp_path: Path) -> None:
    """`serve` starts without the MCP SDK (about 1.7 s of CPU): `/mcp` loads it on first use
    (tests/integration/test_mcp_http.py and tests/e2e/test_mcp.py show it then answers)."""
    loaded = _modules_after(BUILD_APP_AND_LIST, tmp_path / "home", str(tmp_path / "home"))
    assert "livehook.api.app" in loaded and "livehook.mcp_server.http" in loaded
    assert (
        _loaded(loaded, ("mcp", "livehook.mcp_server.server", "livehook.mcp_server.access")) == []
    )
