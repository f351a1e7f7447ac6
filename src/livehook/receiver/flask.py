"""Flask helper: verify the current request's raw body, abort with 400 if it fails.

from flask import Flask
from livehook.receiver.flask import verify_flask_request

app = Flask(__name__)

@app.post("/webhooks/livehook")
def receive() -> tuple[str, int]:
    event = verify_flask_request(["whsec_new...", "whsec_old..."])
    ...
    return "", 204
"""

from __future__ import annotations

from typing import Any

import flask

from livehook.receiver._exceptions import WebhookVerificationError
from livehook.receiver._verify import DEFAULT_TOLERANCE, Secrets, verify


def verify_flask_request(
    secret: Secrets,
    request: flask.Request | None = None,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """The verified JSON body of ``request`` (default: the current one); 400 when it fails.

    Reads the raw bytes with ``get_data(cache=True)``, so ``request.get_json()`` still works
    afterwards. On failure calls ``flask.abort(400)`` with the failure in words as the
    description; the ``WebhookVerificationError`` (with its ``.reason``) is chained as the cause.
    """
    current = flask.request if request is None else request
    body = current.get_data(cache=True)
    try:
        return verify(body, current.headers, secret, tolerance=tolerance)
    except WebhookVerificationError as error:
        flask.abort(400, description=str(error))
