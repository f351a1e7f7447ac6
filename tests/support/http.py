from __future__ import annotations

from typing import Any

import httpx


def auth(key: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {key}"}


def data(response: httpx.Response, status: int = 200) -> Any:
    """The envelope's data, after checking the status and the envelope's shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True and set(body) == {"data", "success", "message"}, body
    return body["data"]


def error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The error envelope, after checking status, shape and (optionally) the error code."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False and body["data"] is None, body
    assert isinstance(body["message"], str) and body["message"], body
    if code is not None:
        assert body["error"] == code, body
    return body
