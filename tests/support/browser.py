"""Real Chromium for the browser tests: Debian's package, driven by Playwright.

Playwright's own browser download cannot run here, so the tests point it at Debian's
``/usr/bin/chromium``. When that is missing and we run as root (a fresh machine, CI), it is
installed with apt-get on first use; with LIVEHOOK_TEST_REQUIRE_BROWSER=1 (CI) a browser that
still cannot be had fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")


def browser_required() -> bool:
    return os.environ.get("LIVEHOOK_TEST_REQUIRE_BROWSER", "") not in ("", "0", "false")


def _apt_install_chromium() -> str | None:
    """None once chromium is installed, else why it could not be."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "Debian's chromium is missing and apt-get cannot run here (need root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}"
    return None


def ensure_chromium() -> str | None:
    """None when ``CHROMIUM`` can be launched, else why not."""
    if CHROMIUM.exists():
        return None
    problem = _apt_install_chromium()
    if problem is None and not CHROMIUM.exists():
        problem = f"apt-get installed chromium but {CHROMIUM} is missing"
    return problem
