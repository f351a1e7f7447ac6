"""The layers of docs/architecture.md hold: each imports only downward.

The direction between layers is import-linter's (the contracts live in pyproject.toml under
``[tool.importlinter]``); what the domain and the receiver may import from outside livehook is
an allow-list, which import-linter cannot express, so it is checked here from the source.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "livehook"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# Third-party packages each part may import, beside the standard library and itself.
ALLOWED_OUTSIDE = {
    # orjson makes the exact bytes every delivery signs: pure, no I/O (docs/architecture.md).
    # yarl reads URLs in addresses.py: the parser the sender connects with, so the two agree.
    "domain": {"orjson", "yarl"},
    # What integrators install is the bare package: the standard library only; the helper
    # for a framework (`receiver/flask.py`, ...) imports that framework, and only its users
    # import the helper.
    "receiver": set(),
}


def test_the_layer_contracts_hold() -> None:
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(SRC.parents[1] / "pyproject.toml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=SRC.parents[1],
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def _top_level_imports(path: Path) -> set[tuple[str, int]]:
    """(top-level package, line) of every import in ``path`` outside ``TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING")
        for node in ast.walk(block)
    }
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
    return found


@pytest.mark.parametrize("part", sorted(ALLOWED_OUTSIDE))
def test_domain_and_receiver_import_only_the_standard_library_and_what_is_allowed(
    part: str,
) -> None:
    frameworks = {"fastapi", "starlette", "flask", "werkzeug", "django"}
    outside = []
    for path in sorted((SRC / part).rglob("*.py")):
        for package, line in _top_level_imports(path):
            allowed = sys.stdlib_module_names | ALLOWED_OUTSIDE[part] | {"livehook"}
            if part == "receiver" and path.stem in frameworks:
                allowed |= frameworks  # the helper for that framework, imported only by its users
            if package not in allowed:
                outside.append(f"{path.relative_to(SRC)}:{line} imports {package}")
    assert outside == []
