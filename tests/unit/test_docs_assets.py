"""The vendored documentation assets are the upstream files, unchanged."""

from __future__ import annotations

import hashlib

import pytest

from livehook.api.docs import STATIC_DIR

# From the npm tarballs of swagger-ui-dist 5.35.0 and redoc 2.5.4 (see static/README.md).
UPSTREAM_SHA256 = {
    "swagger-ui/swagger-ui-bundle.js": (
        "e6a898692f2d768e807c3ba4626068a69a2c5dd960dd6c76f3e4d3a3de180af2"
    ),
    "swagger-ui/swagger-ui.css": "5ed08757e53da3e026d6cbecc61fe5d43585c9560b302d534ad56692519a273d",
    "swagger-ui/favicon-32x32.png": (
        "3ed612f41e050ca5e7000cad6f1cbe7e7da39f65fca99c02e99e6591056e5837"
    ),
    "redoc/redoc.standalone.js": "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b",
}


@pytest.mark.parametrize("name", sorted(UPSTREAM_SHA256))
def test_vendored_asset_matches_upstream(name: str) -> None:
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()
    assert digest == UPSTREAM_SHA256[name]


@pytest.mark.parametrize("folder", ["swagger-ui", "redoc"])
def test_vendored_assets_carry_their_licence(folder: str) -> None:
    assert (STATIC_DIR / folder / "LICENSE").read_text().strip()
