"""The FastAPI, Flask and Django helpers, each inside a real app of its framework."""

# No `from __future__ import annotations`: FastAPI evaluates the routes' annotations, and the
# dependency they name is local to a fixture.
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from livehook.domain.signing import signature_headers
from livehook.receiver import WebhookVerificationError
from livehook.receiver.fastapi import WebhookDependency, verified_event

NEW_SECRET = "whsec_" + base64.b64encode(bytes(range(24))).decode()
OLD_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 124))).decode()
EVENT = {"id": "evt_1", "event": "verification.completed", "data": {"verdict": "live"}}
BODY = json.dumps(EVENT).encode()
TAMPERED = BODY.replace(b"live", b"fake")

# Django resolves URLs from a module: this one, configured in the django fixture.
urlpatterns: list[Any] = []


def delivery_headers(scheme: str = "hmac-sha256") -> dict[str, str]:
    """Headers as livehook's worker sends them, signed now: the helpers read the real clock."""
    timestamp = int(time.time())
    return {
        "Content-Type": "application/json",
        "X-Webhook-Timestamp": str(timestamp),
        **signature_headers(scheme, [NEW_SECRET, OLD_SECRET], "evt_1", timestamp, BODY),
    }


@pytest.fixture
async def fastapi_client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    dependency = WebhookDependency(OLD_SECRET)

    @app.post("/dependency")
    async def with_dependency(event: Annotated[dict[str, Any], Depends(dependency)]) -> Any:
        return event

    @app.post("/function")
    async def with_function(request: Request) -> Any:
        return await verified_event(request, [NEW_SECRET])

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize("path", ["/dependency", "/function"])
@pytest.mark.parametrize("scheme", ["hmac-sha256", "standard-webhooks"])
async def test_fastapi_accepts_a_valid_delivery(
    fastapi_client: httpx.AsyncClient, path: str, scheme: str
) -> None:
    response = await fastapi_client.post(path, content=BODY, headers=delivery_headers(scheme))

    assert response.status_code == 200
    assert response.json() == EVENT


@pytest.mark.parametrize("path", ["/dependency", "/function"])
async def test_fastapi_answers_400_with_the_reason_to_a_tampered_delivery(
    fastapi_client: httpx.AsyncClient, path: str
) -> None:
    response = await fastapi_client.post(path, content=TAMPERED, headers=delivery_headers())

    assert response.status_code == 400
    assert response.json()["detail"].startswith("no signature matched the body")


async def test_fastapi_answers_400_to_an_unsigned_request(
    fastapi_client: httpx.AsyncClient,
) -> None:
    response = await fastapi_client.post("/dependency", json=EVENT)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("no signature header")


def test_fastapi_dependency_refuses_a_missing_secret_at_startup() -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        WebhookDependency("")

    assert caught.value.reason == "no_secret"


@pytest.fixture
def flask_client() -> Any:
    flask = pytest.importorskip("flask")
    from livehook.receiver.flask import verify_flask_request

    app = flask.Flask(__name__)

    @app.post("/current")
    def with_current_request() -> Any:
        event = verify_flask_request([NEW_SECRET, OLD_SECRET])
        # The raw bytes were read with cache=True, so Flask's own JSON parsing still works.
        return {"verified": event, "parsed": flask.request.get_json()}

    @app.post("/explicit")
    def with_explicit_request() -> Any:
        return {"verified": verify_flask_request(OLD_SECRET, flask.request)}

    return app.test_client()


@pytest.mark.parametrize("scheme", ["hmac-sha256", "standard-webhooks"])
def test_flask_accepts_a_valid_delivery_and_keeps_the_body_readable(
    flask_client: Any, scheme: str
) -> None:
    response = flask_client.post("/current", data=BODY, headers=delivery_headers(scheme))

    assert response.status_code == 200
    assert response.get_json() == {"verified": EVENT, "parsed": EVENT}


def test_flask_accepts_a_valid_delivery_with_the_request_passed_in(flask_client: Any) -> None:
    response = flask_client.post("/explicit", data=BODY, headers=delivery_headers())

    assert response.status_code == 200
    assert response.get_json() == {"verified": EVENT}


def test_flask_answers_400_with_the_reason_to_a_tampered_delivery(flask_client: Any) -> None:
    response = flask_client.post("/current", data=TAMPERED, headers=delivery_headers())

    assert response.status_code == 400
    assert b"no signature matched the body" in response.data


@pytest.fixture
def django_settings() -> None:
    django = pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF=__name__,
            MIDDLEWARE=[],
            SECRET_KEY="django-test-only",
        )
        django.setup()


@pytest.fixture
def django_client(django_settings: None) -> Any:
    from django.http import HttpRequest, JsonResponse
    from django.test import Client
    from django.urls import path

    from livehook.receiver.django import verify_django_request

    def receive(request: HttpRequest) -> JsonResponse:
        return JsonResponse(verify_django_request(request, [NEW_SECRET, OLD_SECRET]))

    urlpatterns[:] = [path("hook", receive)]
    return Client()


@pytest.mark.parametrize("scheme", ["hmac-sha256", "standard-webhooks"])
def test_django_accepts_a_valid_delivery(django_client: Any, scheme: str) -> None:
    response = django_client.post(
        "/hook", data=BODY, content_type="application/json", headers=delivery_headers(scheme)
    )

    assert response.status_code == 200
    assert response.json() == EVENT


def test_django_answers_400_to_a_tampered_delivery(django_client: Any) -> None:
    response = django_client.post(
        "/hook", data=TAMPERED, content_type="application/json", headers=delivery_headers()
    )

    assert response.status_code == 400


def test_django_raises_bad_request_caused_by_the_verification_error(
    django_settings: None,
) -> None:
    from django.core.exceptions import BadRequest
    from django.test import RequestFactory

    from livehook.receiver.django import verify_django_request

    request = RequestFactory().post(
        "/hook", data=TAMPERED, content_type="application/json", headers=delivery_headers()
    )

    with pytest.raises(BadRequest, match="no signature matched the body") as caught:
        verify_django_request(request, NEW_SECRET)
    assert isinstance(caught.value.__cause__, WebhookVerificationError)
    assert caught.value.__cause__.reason == "bad_signature"
