"""Schemathesis against the app's own OpenAPI document, every operation, over real HTTP to a
real `livehook serve` on SQLite and on PostgreSQL: no answer is a 5xx, and every answer is one
the document declares (status, content type, headers, body schema).

Examples per operation are bounded (``FUZZ_EXAMPLES``, more with LIVEHOOK_FUZZ_EXAMPLES) so the
run fits the suite; generation covers valid requests and invalid ones (negative mode).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from livehook.config import Settings
from livehook.services.registry import Services
from tests.support.processes import env_sharing, serving

FUZZ_EXAMPLES = int(os.environ.get("LIVEHOOK_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _fuzz_operation(operation: Any, base_url: str, auth: dict[str, str]) -> list[str]:
    """Run one operation's examples; the failures found, as readable lines."""
    failures: list[str] = []
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=strategy)
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples on every run: a failure reproduces
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        headers = dict(case.headers or {})
        if "Authorization" not in headers:
            headers.update(auth)
        try:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)
        except Exception as exc:  # a FailureGroup of the checks, or no answer at all
            failures.append(f"{operation.label}: {str(exc)[:1500]}")

    run()
    return failures


async def test_every_operation_answers_within_its_document(
    settings: Settings, services: Services, full_key: str
) -> None:
    await services.db.dispose()
    env = env_sharing(settings, LIVEHOOK_RUN_WORKER="false")
    with serving(env) as server:
        async with httpx.AsyncClient() as http:
            document = (await http.get(f"{server.base}/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(document)
        auth = {"Authorization": f"Bearer {full_key}"}
        failures: list[str] = []
        operations = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            found = await asyncio.to_thread(_fuzz_operation, operation, server.base, auth)
            failures += found
    assert operations >= 25
    assert not failures, "\n\n".join(failures[:10])
    assert "Traceback" not in server.output, server.output[-5000:]


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
