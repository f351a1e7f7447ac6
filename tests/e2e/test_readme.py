"""The README's "Using it" runs as written: its shell blocks, in order, against a real server.

What a reader replaces with their own (the key the first start printed, their receiver's URL)
is replaced here with this test's; everything else runs verbatim in bash with ``set -euo
pipefail``. The `livehook listen` block, meant for a terminal of its own, runs in the
background, and the next block starts once it says it is ready.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.listening import LocalTarget, local_target
from tests.support.processes import env_for, run_cli, serving

README = Path(__file__).parents[2] / "README.md"
BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)


def using_it_blocks() -> list[str]:
    text = README.read_text()
    section = text.split("## Using it", 1)[1].split("\n## ", 1)[0]
    return BLOCK.findall(section)


def script_of(blocks: list[str], replace: dict[str, str]) -> str:
    lines = ["set -euo pipefail"]
    for block in blocks:
        for placeholder, value in replace.items():
            block = block.replace(placeholder, value)
        if block.strip().startswith("livehook listen"):
            lines += [
                f"{block.strip()} > listen.log 2>&1 &",
                "LISTEN=$!",
                "for _ in $(seq 300); do grep -q 'Ready!' listen.log && break; sleep 0.1; done",
                "grep -q 'Ready!' listen.log",
            ]
        else:
            lines.append(block)
    lines += ["kill -INT $LISTEN", "wait $LISTEN"]  # Ctrl-C, as the README says
    return "\n".join(lines) + "\n"


def test_the_blocks_are_the_ones_a_reader_sees() -> None:
    blocks = using_it_blocks()
    assert len(blocks) >= 4
    assert blocks[0].startswith(". .venv/bin/activate")
    assert any(b.strip().startswith("livehook listen --forward-to") for b in blocks)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's API examples use curl")
def test_using_it_runs_as_written(tmp_path: Path) -> None:
    venv = Path(sys.prefix)
    if not (venv / "bin" / "activate").exists():
        pytest.skip("the tests do not run in a virtual environment to activate")
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    (workdir / ".venv").symlink_to(venv)
    env = env_for(tmp_path / "home", LIVEHOOK_ALLOW_LOCAL_URLS="true")
    created = run_cli("keys", "create", "--account", "default", "--json", env=env)
    key = json.loads(created.stdout)["key"]
    with local_target() as target, serving(env) as server:
        done = run_readme(workdir, env, target, server.base, key)
        listened = (workdir / "listen.log").read_text()

    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\nlisten:\n{listened}"
    assert "✓ 7 of 7 deliveries succeeded" in done.stdout  # trigger, through listen
    assert "Signing secret: whsec_" in listened
    assert listened.count("← 202") >= 7
    assert "Stopped: endpoint" in listened  # the Ctrl-C
    funnel = json.loads(done.stdout.strip().splitlines()[-1])
    assert funnel["success"] is True
    # listen's seven, then the curl session's two for each of listen and the webhook
    assert len(target.received) >= 7 + 2


def run_readme(
    workdir: Path, env: dict[str, str], target: LocalTarget, base: str, key: str
) -> subprocess.CompletedProcess[str]:
    replace = {
        "http://127.0.0.1:8000": base,
        "lh_…": key,
        "http://localhost:3000/hooks": target.url,
        "https://example.com/hooks": target.url.replace("/hooks", "/webhook"),
    }
    script = script_of(using_it_blocks(), replace)
    # A fresh shell: `livehook` is on PATH only once the README's activation line has run.
    bin_dir = str(Path(sys.prefix) / "bin")
    path = ":".join(p for p in env.get("PATH", "").split(":") if p and p != bin_dir)
    shell_env = {k: v for k, v in env.items() if k != "VIRTUAL_ENV"} | {"PATH": path}
    return subprocess.run(
        ["bash", "-c", script],
        cwd=workdir,
        env=shell_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
