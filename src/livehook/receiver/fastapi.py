"""FastAPI (and Starlette) helpers: verify the raw body of a request, answer 400 if it fails.

    from typing import Annotated, Any
    from fastapi import Depends, FastAPI
    from livehook.receiver.fastapi import WebhookDependency

    app = FastAPI()
    verified = WebhookDependency(["whsec_new...", "whsec_old..."])

    @app.post("/webhooks/livehook")
    async def receive(event: Annotated[dict[str, Any], Depends(verified)]) -> None:
        ...

Do not declare the body as a Pydantic model on the same route: verification needs the bytes as
they arrived, and ``await request.body()`` gives exactly those.
"""

# No `from __future__ import annotations`: FastAPI reads the dependency's `request: Request`
# annotation at runtime, and older releases cannot resolve it as a string on a callable object.
from typing import Any

from fastapi import HTTPException, Request

from livehook.receiver._exceptions import WebhookVerificationError
from livehook.receiver._verify import DEFAULT_TOLERANCE, Secrets, Webhook, verify


async def verified_event(
    request: Request, secret: Secrets, *, tolerance: int = DEFAULT_TOLERANCE
) -> dict[str, Any]:
    """The verified JSON body of ``request``; raises ``HTTPException(400)`` when it fails.

    The 400's ``detail`` is the failure in words; the ``WebhookVerificationError`` (with its
    ``.reason``) is chained as the cause.
    """
    body = await request.body()
    try:
        return verify(body, request.headers, secret, tolerance=tolerance)
    except WebhookVerificationError as error:
        raise HTTPException(status_code=400, detail=str(error)) from error


class WebhookDependency:
    """A FastAPI dependency that yields the verified event: ``Depends(WebhookDependency(s))``.

    The secrets are checked when it is built, so a missing secret stops the app at startup
    instead of answering 400 to every delivery.
    """

    def __init__(self, secret: Secrets, *, tolerance: int = DEFAULT_TOLERANCE) -> None:
        self._webhook = Webhook(secret, tolerance=tolerance)

    def __repr__(self) -> str:
        return f"WebhookDependency({self._webhook!r})"

    async def __call__(self, request: Request) -> dict[str, Any]:
        body = await request.body()
        try:
            return self._webhook.verify(body, request.headers)
        except WebhookVerificationError as error:
            raise HTTPException(status_code=400, detail=str(error)) from error
