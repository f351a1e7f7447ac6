"""Schemathesis against the app's own OpenAPI document, every operation, over real HTTP to a
real `livehook serve` on SQLite and on PostgreSQL: no answer is a 5xx, and every answer is one
the document declares (status, content type, headers, body schema).

One test per operation and database, so that xdist spreads them; each worker starts one server
per database for the module. Examples per operation are bounded (``FUZZ_EXAMPLES``, more with
LIVEHOOK_FUZZ_EXAMPLES) so the run fits the suite; generation covers valid requests and invalid
ones (negative mode), derandomized: the same examples on every run and in any split.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
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

from tests.support.app import create_app, running_services, settings_for
from tests.support.databases import PostgresTemplate, SqliteTemplate, with_database
from tests.support.processes import Server, env_sharing, serving

FUZZ_EXAMPLES = int(os.environ.get("LIVEHOOK_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _operation_labels() -> list[str]:
    """Every operation of the document the app builds ("GET /v1/me", ...), read at collection;
    `test_the_fuzzed_operations_are_every_served_one` holds it to what the server serves."""
    with tempfile.TemporaryDirectory() as home:
        settings_ = settings_for(Path(home), f"sqlite:///{home}/unused.db")
        document = create_app(settings_).openapi()
    schema = schemathesis.openapi.from_dict(document)
    return [result.ok().label for result in schema.get_all_operations()]


OPERATIONS = _operation_labels()


@dataclass
class Target:
    server: Server
    schema: Any
    auth: dict[str, str]


@pytest.fixture(scope="module")
def target(
    database_template: SqliteTemplate | PostgresTemplate,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Target]:
    """`livehook serve` (no worker) on a database of the module's own, with a full-access key."""
    directory = tmp_path_factory.mktemp("fuzz")
    postgres = isinstance(database_template, PostgresTemplate)
    if postgres:
        name = asyncio.run(database_template.clone())
        url = with_database(database_template.admin_url, name)
    else:
        url = database_template.clone(directory)
    settings_ = settings_for(directory / "home", url)

    async def full_key() -> str:
        async with running_services(settings_) as services:
            return (await services.keys.create(account_name="acme", name="admin")).plaintext

    key = asyncio.run(full_key())
    try:
        with serving(env_sharing(settings_, LIVEHOOK_RUN_WORKER="false")) as server:
            document = httpx.get(f"{server.base}/openapi.json", timeout=30).json()
            schema = schemathesis.openapi.from_dict(document)
            yield Target(server, schema, {"Authorization": f"Bearer {key}"})
        assert "Traceback" not in server.output, server.output[-5000:]
    finally:
        if postgres:
            asyncio.run(database_template.drop(name))


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


def test_the_fuzzed_operations_are_every_served_one(target: Target) -> None:
    served = [result.ok().label for result in target.schema.get_all_operations()]
    assert len(served) >= 25
    assert sorted(served) == sorted(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_the_operation_answers_within_its_document(target: Target, label: str) -> None:
    operation = target.schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the served document"
    printed = len(target.server.lines)
    failures = _fuzz_operation(operation, target.server.base, target.auth)
    assert not failures, "\n\n".join(failures[:10])
    output = target.server.printed_since(printed)
    assert "Traceback" not in output, output[-5000:]


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
