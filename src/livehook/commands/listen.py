"""`livehook listen`: forward an API key's deliveries to a server on this machine.

No tunnel: the CLI holds a WebSocket to `livehook serve`, which queues, signs and logs the
deliveries like any other and sends them down the socket; the CLI posts them to ``--forward-to``
and reports the answer, which the delivery log records as the attempt.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

DEFAULT_API_URL = "http://127.0.0.1:8000"
_RELATIVE = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(raw: str, now: datetime) -> str:
    """``1h``, ``30m``, ``2d`` ago, or an ISO 8601 time, as ISO 8601 (UTC when no zone)."""
    relative = _RELATIVE.match(raw.strip())
    if relative:
        amount, unit = relative.groups()
        return (now - timedelta(**{_UNITS[unit]: int(amount)})).isoformat()
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise typer.BadParameter("use a duration (30m, 2h, 1d) or an ISO 8601 time") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


def _clock() -> str:
    return datetime.now().strftime("%H:%M:%S")


class RichReporter:
    """One readable line per event and per answer."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def connecting(self, url: str) -> None:
        self._console.print(f"[dim]{_clock()}  connecting to {escape(url)} …[/]")

    def ready(self, ready: Mapping[str, Any], forward_to: str, reconnected: bool) -> None:
        events = ", ".join(ready.get("events") or []) or "all events"
        waited = int(ready.get("due_now") or 0) + int(ready.get("replayed") or 0)
        if reconnected:
            self._console.print(f"[green]{_clock()}  ✓ reconnected[/]")
        else:
            self._console.print(
                f"[bold green]Ready![/] Forwarding {escape(events)} to [bold]{escape(forward_to)}"
                f"[/] (endpoint {ready.get('endpoint_id')}).\n"
                f"Signing secret: [bold]{ready.get('secret')}[/] "
                "(the same every time for this API key). Ctrl-C stops listening."
            )
        if waited:
            self._console.print(f"{_clock()}  {waited} deliveries that waited are on their way")

    def disconnected(self, reason: str, retry_in: float) -> None:
        self._console.print(
            f"[yellow]{_clock()}  ✗ not connected: {escape(reason)}; "
            f"trying again in {retry_in:g} s[/]"
        )

    def delivery(self, headers: Mapping[str, str]) -> None:
        event, event_id = _event_of(headers)
        self._console.print(f"{_clock()}  → [bold]{escape(event)}[/]  {event_id}")

    def answer(self, headers: Mapping[str, str], answer: Mapping[str, Any]) -> None:
        _, event_id = _event_of(headers)
        status = answer.get("status")
        took = f"{float(answer.get('duration_ms') or 0):.0f} ms"
        if status is None:
            self._console.print(
                f"{_clock()}  ← [red]no answer[/]: {escape(str(answer.get('error')))}  {event_id}"
            )
            return
        color = "green" if 200 <= int(status) < 300 else "red"
        reason = escape(str(answer.get("reason") or ""))
        self._console.print(f"{_clock()}  ← [{color}]{status} {reason}[/]  {took}  {event_id}")

    def refused(self, message: str) -> None:
        self._console.print(f"[bold red]error:[/] {escape(message)}")

    def stopped(self, endpoint_id: str | None) -> None:
        if endpoint_id:
            self._console.print(f"Stopped: endpoint {endpoint_id} no longer receives events.")
        else:
            self._console.print(
                "Stopped, but livehook could not be reached to end the listening endpoint: it "
                "stays enabled until a `livehook listen` for this key ends with Ctrl-C."
            )


class JsonReporter:
    """JSON lines on stdout, one object per happening."""

    def _emit(self, kind: str, **fields: Any) -> None:
        line = {"type": kind, "at": datetime.now(UTC).isoformat(), **fields}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    def connecting(self, url: str) -> None:
        self._emit("connecting", url=url)

    def ready(self, ready: Mapping[str, Any], forward_to: str, reconnected: bool) -> None:
        fields = {k: v for k, v in ready.items() if k != "type"}
        self._emit("ready", forward_to=forward_to, reconnected=reconnected, **fields)

    def disconnected(self, reason: str, retry_in: float) -> None:
        self._emit("disconnected", reason=reason, retry_in_s=retry_in)

    def delivery(self, headers: Mapping[str, str]) -> None:
        event, event_id = _event_of(headers)
        self._emit("delivery", event=event, event_id=event_id, headers=dict(headers))

    def answer(self, headers: Mapping[str, str], answer: Mapping[str, Any]) -> None:
        event, event_id = _event_of(headers)
        fields = {k: v for k, v in answer.items() if k != "body"}
        self._emit("answer", event=event, event_id=event_id, **fields)

    def refused(self, message: str) -> None:
        self._emit("error", message=message)

    def stopped(self, endpoint_id: str | None) -> None:
        self._emit("stopped", endpoint_id=endpoint_id)


def _event_of(headers: Mapping[str, str]) -> tuple[str, str]:
    lowered = {k.lower(): v for k, v in headers.items()}
    event = lowered.get("x-webhook-event") or lowered.get("x-event-type") or "event"
    event_id = lowered.get("x-webhook-id") or lowered.get("webhook-id") or ""
    return event, event_id


def listen(
    forward_to: Annotated[
        str, typer.Option("--forward-to", help="Local URL to POST deliveries to.")
    ],
    key: Annotated[
        str,
        typer.Option(envvar="LIVEHOOK_API_KEY", help="API key whose events to receive."),
    ],
    events: Annotated[
        list[str] | None,
        typer.Option(help="Event types to receive (comma-separated or repeated); default all."),
    ] = None,
    api_url: Annotated[
        str, typer.Option(envvar="LIVEHOOK_API_URL", help="Where `livehook serve` runs.")
    ] = DEFAULT_API_URL,
    since: Annotated[
        str | None,
        typer.Option(help="Also replay what happened since then (30m, 2h, 1d or ISO 8601)."),
    ] = None,
    print_json: Annotated[
        bool, typer.Option("--print-json", help="JSON lines instead of readable lines.")
    ] = False,
) -> None:
    """Forward this API key's deliveries to a local server: no tunnel needed (stripe listen)."""
    import asyncio
    import signal

    from livehook.commands.listen_client import Listener, ListenOptions

    names = tuple(n.strip() for raw in events or [] for n in raw.split(",") if n.strip())
    options = ListenOptions(
        forward_to=forward_to,
        key=key,
        api_url=api_url,
        events=names,
        since=parse_since(since, datetime.now(UTC)) if since else None,
    )
    reporter = JsonReporter() if print_json else RichReporter(Console(highlight=False))

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        return await Listener(options, reporter, stop).run()

    raise typer.Exit(asyncio.run(run()))
