"""`livehook listen` end to end: a real serve, a real WebSocket, a real local server."""

from __future__ import annotations

import json
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from livehook.receiver import verify
from tests.support.listening import (
    LOCAL_ANSWER_BODY,
    LOCAL_ANSWER_STATUS,
    LocalTarget,
    listening,
    local_target,
)
from tests.support.processes import LIVEHOOK, Server, env_for, free_port, run_cli, serving

# On one xdist worker (--dist loadgroup): the module-scoped serve starts once, not once per worker.
pytestmark = pytest.mark.xdist_group("listen")

HAPPY_PATH = 7  # events of a session driven to verification.completed


# One `serve` for the tests that need an ordinary running one (a start costs seconds); each
# test listens with a key of an account of its own, so no test sees another's events. A test
# that stops or restarts its server, or runs one without a worker, has a home of its own.
@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return env_for(tmp_path_factory.mktemp("listen") / "home")


@pytest.fixture(scope="module")
def server(env: dict[str, str]) -> Iterator[Server]:
    with serving(env) as running:
        yield running


@pytest.fixture
def own_env(tmp_path: Path) -> dict[str, str]:
    return env_for(tmp_path / "home")


def new_key(env: dict[str, str]) -> str:
    account = f"acme-{uuid.uuid4().hex[:12]}"
    created = run_cli("keys", "create", "--account", account, "--json", env=env)
    assert created.returncode == 0, created.stderr
    return str(json.loads(created.stdout)["key"])


@pytest.fixture
def key(env: dict[str, str]) -> str:
    """A key of an account of this test's own, on the shared server's home."""
    return new_key(env)


@pytest.fixture
def target() -> Iterator[LocalTarget]:
    with local_target() as running:
        yield running


def trigger(
    env: dict[str, str], key: str, event: str = "verification.completed", *options: str
) -> str:
    done = run_cli("trigger", event, "--key", key, *options, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def api(server: Server, key: str, path: str) -> dict:  # type: ignore[type-arg]
    response = httpx.get(f"{server.base}{path}", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def test_deliveries_arrive_exactly_verified_and_logged_with_the_local_answer(
    env: dict[str, str], server: Server, key: str, target: LocalTarget
) -> None:
    with listening(env, "--forward-to", target.url, "--key", key, "--api-url", server.base) as cli:
        ready = cli.wait_ready()
        said = trigger(env, key, "verification.completed", "--api-url", server.base)
        target.wait_for(HAPPY_PATH)
        cli.wait_for(lambda lines: sum(x["type"] == "answer" for x in lines) >= HAPPY_PATH)
        log = api(server, key, f"/v1/webhooks/{ready['endpoint_id']}/deliveries")["items"]

        assert ready["url"].startswith("livehook-listen://")  # marked as a CLI delivery
        assert f"Sent by the livehook serve at {server.base}" in said
        assert f"✓ {HAPPY_PATH} of {HAPPY_PATH} deliveries succeeded" in said
        assert len(log) == HAPPY_PATH
        by_event = {delivery["event_id"]: delivery for delivery in log}
        for path, body, headers in target.received:
            assert path == "/hooks"
            event = verify(body, dict(headers), secret=ready["secret"])  # the printed secret
            detail = api(server, key, f"/v1/deliveries/{by_event[event['id']]['id']}")
            assert body == detail["request_body"].encode()  # the exact bytes, not re-serialised
            [attempt] = detail["attempts"]
            assert attempt["response_status"] == LOCAL_ANSWER_STATUS
            assert attempt["response_body"] == LOCAL_ANSWER_BODY.decode()
            assert attempt["response_headers"]["X-Local"] == "yes"
            assert detail["status"] == "succeeded"
            assert detail["via_cli"] is True
        answers = cli.of_type("answer")
        assert {a["status"] for a in answers} == {LOCAL_ANSWER_STATUS}
        assert sorted(a["event_id"] for a in answers) == sorted(by_event)


def test_events_filter_forwards_only_the_chosen_types(
    env: dict[str, str], server: Server, key: str, target: LocalTarget
) -> None:
    chosen = "--events", "verification.completed,liveness.passed"
    args = "--forward-to", target.url, "--key", key, *chosen
    with listening(env, *args, "--api-url", server.base) as cli:
        ready = cli.wait_ready()
        trigger(env, key, "verification.completed", "--api-url", server.base)
        target.wait_for(2)
        cli.wait_for(lambda lines: sum(x["type"] == "answer" for x in lines) >= 2)
        log = api(server, key, f"/v1/webhooks/{ready['endpoint_id']}/deliveries")["items"]

    assert sorted(ready["events"]) == ["liveness.passed", "verification.completed"]
    assert sorted(target.event_types()) == ["liveness.passed", "verification.completed"]
    assert sorted(d["event_type"] for d in log) == ["liveness.passed", "verification.completed"]


def test_a_server_restart_loses_nothing_and_the_cli_says_so(
    own_env: dict[str, str], target: LocalTarget
) -> None:
    env, key = own_env, new_key(own_env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with listening(env, "--forward-to", target.url, "--key", key, "--api-url", base) as cli:
        # Not "Ready" while nothing answers: it says it is not connected and tries again.
        cli.wait_for(lambda lines: any(x["type"] == "disconnected" for x in lines))
        assert cli.of_type("ready") == []
        with serving(env, port=port):
            first = cli.wait_ready()
            trigger(env, key, "verification.started", "--api-url", base)
            target.wait_for(2)
        cli.wait_for(lambda lines: lines[-1]["type"] == "disconnected")
        trigger(env, key, "verification.completed", "--no-wait")  # queued while the server is down
        with serving(env, port=port) as server:
            again = cli.wait_ready(2)
            target.wait_for(2 + HAPPY_PATH)
            cli.wait_for(lambda lines: sum(x["type"] == "answer" for x in lines) >= 2 + HAPPY_PATH)
            log = api(server, key, f"/v1/webhooks/{first['endpoint_id']}/deliveries")["items"]

    assert again["reconnected"] is True
    assert again["secret"] == first["secret"]
    assert len(target.received) == len({dict(h)["X-Webhook-Id"] for _, _, h in target.received})
    assert len(log) == 2 + HAPPY_PATH
    assert {d["status"] for d in log} == {"succeeded"}


def test_ctrl_c_ends_the_endpoint_and_the_next_listen_keeps_its_secret(
    env: dict[str, str], server: Server, key: str, target: LocalTarget
) -> None:
    args = "--forward-to", target.url, "--key", key
    with listening(env, *args, "--api-url", server.base) as cli:
        ready = cli.wait_ready()
        code = cli.interrupt()
    assert code == 0
    assert cli.of_type("stopped")[0]["endpoint_id"] == ready["endpoint_id"]
    endpoint = api(server, key, f"/v1/webhooks/{ready['endpoint_id']}")
    assert endpoint["status"] == "disabled"

    said = trigger(env, key, "verification.completed", "--api-url", server.base)
    assert "Nothing was sent: no active webhook" in said  # nobody listens any more
    assert api(server, key, f"/v1/webhooks/{ready['endpoint_id']}/deliveries")["items"] == []

    with listening(env, *args, "--api-url", server.base, "--since", "1h") as cli:
        again = cli.wait_ready()
        target.wait_for(HAPPY_PATH)  # --since replays what happened meanwhile
        cli.interrupt()
    assert again["secret"] == ready["secret"]
    assert again["endpoint_id"] == ready["endpoint_id"]
    assert again["replayed"] == HAPPY_PATH


def test_an_invalid_key_is_refused_with_a_reason_and_no_retry(
    env: dict[str, str], server: Server, target: LocalTarget
) -> None:
    done = subprocess.run(
        [
            *LIVEHOOK,
            *("listen", "--print-json"),
            *("--forward-to", target.url, "--key", "lh_nope", "--api-url", server.base),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[-1] == {**lines[-1], "type": "error", "message": "invalid or revoked API key"}
    assert not any(line["type"] == "ready" for line in lines)


def test_a_server_without_a_worker_refuses_to_listen_and_says_why(
    own_env: dict[str, str], target: LocalTarget
) -> None:
    env, key = own_env, new_key(own_env)
    with serving({**env, "LIVEHOOK_RUN_WORKER": "false"}) as server:
        done = subprocess.run(
            [*LIVEHOOK, "listen", "--print-json", "--forward-to", target.url],
            env={**env, "LIVEHOOK_API_KEY": key, "LIVEHOOK_API_URL": server.base},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert done.returncode == 1
    last = json.loads(done.stdout.splitlines()[-1])
    assert last["type"] == "error" and "LIVEHOOK_RUN_WORKER=false" in last["message"]


def test_readable_lines_one_per_event_and_one_per_answer(
    env: dict[str, str], server: Server, key: str, target: LocalTarget
) -> None:
    proc = subprocess.Popen(
        [*LIVEHOOK, "listen", "--forward-to", target.url, "--events", "liveness.passed"],
        env={**env, "LIVEHOOK_API_KEY": key, "LIVEHOOK_API_URL": server.base},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    printed = []
    for line in proc.stdout:  # until it is ready: then the event, and its answer
        printed.append(line)
        if line.startswith("Ready!"):
            trigger(env, key, "verification.completed", "--api-url", server.base)
        if "← " in line:
            break
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=15)
    text = "".join(printed) + rest
    assert proc.returncode == 0
    assert "Signing secret: whsec_" in text and "Ctrl-C stops listening" in text
    [sent] = [line for line in printed if "→ " in line]
    [answered] = [line for line in printed if "← " in line]
    event_id = dict(target.received[0][2])["X-Webhook-Id"]
    assert sent.split()[2:] == ["liveness.passed", event_id]
    assert answered.split()[2:4] == [str(LOCAL_ANSWER_STATUS), "Accepted"]
    assert answered.split()[-1] == event_id
    assert "Stopped: endpoint wh_" in rest


def test_ctrl_c_while_the_server_is_down_says_the_endpoint_could_not_be_ended(
    own_env: dict[str, str], target: LocalTarget
) -> None:
    env, key = own_env, new_key(own_env)
    base = f"http://127.0.0.1:{free_port()}"
    with listening(env, "--forward-to", target.url, "--key", key, "--api-url", base) as cli:
        cli.wait_for(lambda lines: any(x["type"] == "disconnected" for x in lines))
        assert cli.interrupt() == 0
    assert cli.of_type("stopped") == [{**cli.of_type("stopped")[0], "endpoint_id": None}]
    assert cli.of_type("ready") == []
