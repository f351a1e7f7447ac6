"""Django helper: verify a request's raw body, raise ``BadRequest`` (a 400) if it fails.

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from livehook.receiver.django import verify_django_request

@csrf_exempt  # livehook signs its deliveries; it cannot hold a CSRF token
@require_POST
def receive(request: HttpRequest) -> HttpResponse:
    event = verify_django_request(request, ["whsec_new...", "whsec_old..."])
    ...
    return HttpResponse(status=204)
"""

from __future__ import annotations

from typing import Any

# Django ships no type hints and django-stubs is not a dependency.
from django.core.exceptions import BadRequest
from django.http import HttpRequest

from livehook.receiver._exceptions import WebhookVerificationError
from livehook.receiver._verify import DEFAULT_TOLERANCE, Secrets, verify


def verify_django_request(
    request: HttpRequest, secret: Secrets, *, tolerance: int = DEFAULT_TOLERANCE
) -> dict[str, Any]:
    """The verified JSON body of ``request``; raises ``django.core.exceptions.BadRequest``.

    Django turns an uncaught ``BadRequest`` into a 400 response through ``handler400`` and logs
    it on the ``django.request`` logger, like any other bad request; a view that wants its own
    response catches ``BadRequest`` (its ``__cause__`` is the ``WebhookVerificationError``, with
    ``.reason``) or calls ``livehook.receiver.verify`` directly. Reads ``request.body``, the raw
    bytes, so call it before anything reads the request as a stream.
    """
    try:
        return verify(request.body, request.headers, secret, tolerance=tolerance)
    except WebhookVerificationError as error:
        raise BadRequest(str(error)) from error
