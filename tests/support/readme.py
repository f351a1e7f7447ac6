"""The README's per-profile receiver snippets, so tests run them as a reader would copy them."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
_PROFILE_PARAGRAPH = re.compile(r"^`([a-z-]+)`")


def profile_snippets() -> dict[str, str]:
    """Profile name -> the Python block that follows its paragraph in the README's wire
    profiles section."""
    lines = README.read_text().split("\n### Wire profiles", 1)[1].split("\n## ", 1)[0].splitlines()
    snippets: dict[str, str] = {}
    profile: str | None = None
    block: list[str] | None = None
    for line in lines:
        if block is not None:
            if line.startswith("```"):
                assert profile is not None
                snippets[profile] = "\n".join(block) + "\n"
                block, profile = None, None
            else:
                block.append(line)
        elif line.startswith("```python"):
            block = []
        elif match := _PROFILE_PARAGRAPH.match(line):
            profile = match.group(1)
    return snippets
