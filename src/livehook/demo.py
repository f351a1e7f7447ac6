"""`livehook demo`: the whole path on this machine, from a session's stages to verified deliveries.

A throw-away embedded database, a local receiver that checks every delivery with
``livehook.receiver``, one webhook to it (local URLs are allowed for the demo only), the real
worker, and a session driven through the funnel to a live verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import time
from pathlib import Path

from aiohttp import web
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

from livehook.composition import build_services, build_worker
from livehook.config import Settings
from livehook.domain.accounts import Principal
from livehook.domain.catalog import RECOMMENDED_MODEL, VERIFICATION_COMPLETED
from livehook.domain.deliveries import PENDING
from livehook.domain.simulation import plan_for
from livehook.receiver import WebhookVerificationError, verify
from livehook.services.registry import Services
from livehook.services.sessions import SessionView
from livehook.services.simulation import simulate
from livehook.services.webhooks import WebhookDraft
from livehook.sockets import bind_tcp
from livehook.storage.repositories.delivery_log import DeliveryFilters

# Pause between reports, so a person can watch each delivery arrive.
STEP_PAUSE_SECONDS = 0.4
ARRIVAL_TIMEOUT_SECONDS = 15.0


class DemoReceiver:
    """A local endpoint that verifies each delivery as an integrator's server would."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.secret = ""
        self.arrived: list[dict[str, object]] = []
        self.started = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._arrival = asyncio.Event()
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = verify(body, request.headers, self.secret)
        except WebhookVerificationError as exc:
            self.console.print(f"  [red]✗ refused[/] {exc}")
            return web.Response(status=400, text=str(exc))
        self.arrived.append(event)
        self._arrival.set()
        elapsed = time.monotonic() - self.started
        self.console.print(
            f"  [green]✓[/] +{elapsed:5.2f}s  [bold]{event['event']:<24}[/] "
            f"{event['id']}  {len(body)} bytes, signature verified"
        )
        return web.Response(status=200, text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhooks/livehook", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = bind_tcp("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, count: int) -> None:
        """Until ``count`` deliveries have arrived, or the timeout (the log then shows why)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ARRIVAL_TIMEOUT_SECONDS):
                while len(self.arrived) < count:
                    self._arrival.clear()
                    await self._arrival.wait()


async def _drive(
    services: Services, console: Console, receiver: DemoReceiver
) -> tuple[Principal, str]:
    created = await services.keys.create(account_name="demo", name="demo")
    principal = await services.keys.authenticate(created.plaintext)
    assert principal is not None
    hook = await services.webhooks.create(
        principal, WebhookDraft(url=f"http://127.0.0.1:{receiver.port}/webhooks/livehook")
    )
    receiver.secret = hook.secret
    console.print(
        f"Registered webhook [bold]{hook.webhook.id}[/] → {hook.webhook.url}\n"
        f"Its secret (shown once): [bold]{hook.secret}[/]\n"
    )

    async def paced(view: SessionView) -> None:
        if len(view.stages) == 1:
            console.print(
                f"Session [bold]{view.session.id}[/] ({RECOMMENDED_MODEL}) — reporting stages:"
            )
        await receiver.wait_for(len(view.stages))  # one delivery per event so far
        await asyncio.sleep(STEP_PAUSE_SECONDS)

    await simulate(
        services.sessions,
        principal,
        VERIFICATION_COMPLETED,
        model=RECOMMENDED_MODEL,
        external_tracker="demo",
        on_report=paced,
    )
    return principal, hook.webhook.id


async def _until_recorded(
    services: Services, principal: Principal, webhook_id: str, count: int
) -> None:
    """Until the worker has written down ``count`` answers: the receiver sees a delivery before
    the worker records how it went, and the log below should show the outcome."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(ARRIVAL_TIMEOUT_SECONDS):
            while True:
                rows = await services.deliveries.list_for_webhook(
                    principal, webhook_id, DeliveryFilters(), limit=50
                )
                if sum(row.status != PENDING for row in rows) >= count:
                    return
                await asyncio.sleep(0.05)


async def _show_log(
    services: Services, console: Console, principal: Principal, webhook_id: str
) -> None:
    rows = await services.deliveries.list_for_webhook(
        principal, webhook_id, DeliveryFilters(), limit=50
    )
    table = Table(title="Delivery log", title_justify="left")
    for column in ("delivery", "event", "status", "attempts", "HTTP", "created"):
        table.add_column(column)
    for d in sorted(rows, key=lambda d: d.id):
        table.add_row(
            d.id,
            d.event_type,
            f"[green]{d.status}[/]" if d.status == "succeeded" else d.status,
            str(d.attempt_count),
            str(d.last_status_code or "—"),
            f"{d.created_at:%H:%M:%S.%f}"[:-3],
        )
    console.print(table)
    completed = next((d for d in rows if d.event_type == VERIFICATION_COMPLETED), None)
    if completed and completed.request_body:
        detail = await services.deliveries.get(principal, completed.id)
        pretty = json.dumps(json.loads(completed.request_body), indent=2)
        console.print(
            Panel(
                Syntax(pretty, "json", theme="ansi_dark"),
                title=f"request_body of {completed.id} — the exact bytes signed and sent",
                subtitle=f"{len(detail.attempts)} attempt(s)",
            )
        )


async def _run(console: Console, home: Path) -> bool:
    settings = Settings(home=home, allow_local_urls=True, run_worker=False)
    services = build_services(settings)
    receiver = DemoReceiver(console)
    worker = build_worker(settings, services)
    try:
        await services.db.migrate()
        await receiver.start()
        worker.start()
        principal, webhook_id = await _drive(services, console, receiver)
        await _until_recorded(services, principal, webhook_id, len(receiver.arrived))
        console.print()
        await _show_log(services, console, principal, webhook_id)
        return len(receiver.arrived) == len(plan_for(VERIFICATION_COMPLETED)) + 2
    finally:
        await worker.stop()
        await worker.close()
        await receiver.stop()
        await services.db.dispose()


def run_demo(console: Console, *, keep: bool = False) -> None:
    home = Path(tempfile.mkdtemp(prefix="livehook-demo-"))
    console.print(
        Panel.fit(
            "A local receiver, one webhook, and a session driven to its verdict.\n"
            "Every delivery below was signed by livehook and verified by livehook.receiver.",
            title="livehook demo",
            border_style="cyan",
        )
    )
    try:
        ok = asyncio.run(_run(console, home))
    finally:
        if keep:
            console.print(f"Demo data kept in {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    if not ok:
        console.print("[red]not every delivery arrived; see the log above[/]")
        raise SystemExit(1)
    console.print("[bold green]All deliveries arrived and verified.[/]")
