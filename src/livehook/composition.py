"""The composition root: the one place that turns ``Settings`` into storage, services, the
delivery worker and the HTTP app.

Every entry point builds through here: `livehook` commands (`cli.py`, `commands/`), `server.py`,
`demo.py`, the MCP server's `livehook mcp`, the tests and the benchmarks. The worker and the app
are imported inside their builders: a command that only reads the database (`livehook keys
list`) never loads aiohttp, FastAPI, the portal or the MCP SDK.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from livehook.config import Settings
from livehook.crypto import SecretBox
from livehook.services.registry import Services
from livehook.storage.database import Database
from livehook.storage.wakeup import Wakeup

if TYPE_CHECKING:
    from fastapi import FastAPI

    from livehook.delivery.config import Targets
    from livehook.delivery.relay import ListenerHub
    from livehook.delivery.worker import Worker

# Worker processes `livehook serve` runs beside its API by default, per database (0: the
# worker shares the API's event loop). Chosen by bench scenarios 7 and 8; see the README.
DEFAULT_WORKER_PROCESSES = {"sqlite": 1, "postgresql": 1}


def worker_processes(settings: Settings) -> int:
    """How many worker processes `livehook serve` supervises (none without a worker)."""
    if not settings.run_worker:
        return 0
    if settings.worker_processes is not None:
        return settings.worker_processes
    return DEFAULT_WORKER_PROCESSES["sqlite" if settings.is_embedded else "postgresql"]


def build_services(
    settings: Settings, *, pre_ping: bool = True, transaction_metrics: bool = True
) -> Services:
    """Storage and the use cases over one database, sharing one ``Wakeup``; each use case is
    built when first asked for (``Services``). ``transaction_metrics=False``: a one-shot
    command's, which serves no metrics (and so never loads prometheus-client)."""
    db = Database.from_url(settings.resolved_database_url, pre_ping=pre_ping)
    if transaction_metrics:
        _observe_transactions(db)
    box = SecretBox(settings.secret_keys())
    allow_local = settings.allow_local_urls

    async def url_guard(url: str) -> str:
        # Imported on first use: the resolver is the delivery side's, and most commands never
        # register a URL.
        from livehook.delivery.resolver import check_url_resolves_safely

        return (await check_url_resolves_safely(url, allow_local=allow_local)).url

    return Services(
        db,
        box,
        url_guard=url_guard,
        wakeup=Wakeup(),
        default_profile=settings.wire_profile,
        user_agent=settings.user_agent,
        retention=timedelta(days=settings.retention_days),
        allow_local_urls=allow_local,
    )


def _observe_transactions(db: Database) -> None:
    from livehook import metrics

    db.observe_transaction = metrics.TRANSACTION_SECONDS.observe


def build_worker(
    settings: Settings,
    services: Services,
    *,
    concurrency: int | None = None,
    listeners: ListenerHub | None = None,
    targets: Targets = "all",
) -> Worker:
    """The delivery worker over ``services``, woken by the same ``Wakeup``; ``listeners``: the
    `livehook listen` sockets of this process, which it sends their endpoints' deliveries to;
    ``targets``: which deliveries it claims."""
    from livehook.delivery.config import LISTEN_ONLY_POLL_S, WorkerConfig
    from livehook.delivery.relay import ListenerHub
    from livehook.delivery.sender import Sender
    from livehook.delivery.worker import Worker

    _observe_transactions(services.db)  # `livehook worker` builds its services as a command does
    defaults = WorkerConfig()
    # Serve's listen-only worker polls, woken only by a listener connecting: the database's
    # signals and serve's enqueues are nearly all about the worker processes' rows.
    listen_only = targets == "listen_only"
    config = WorkerConfig(
        concurrency=concurrency or defaults.concurrency,
        disable_after=timedelta(days=settings.disable_after_days),
        retention=timedelta(days=settings.retention_days),
        targets=targets,
        listen=not listen_only,
        poll_interval_s=LISTEN_ONLY_POLL_S if listen_only else defaults.poll_interval_s,
    )
    return Worker(
        services.db,
        services.webhooks,
        services.box,
        # Connections to one host: as many as an endpoint's cap can ever ask for.
        Sender(
            allow_local=settings.allow_local_urls,
            limit=config.concurrency,
            limit_per_host=config.limits.max_per_endpoint,
            relay=(listeners or ListenerHub()).send,
        ),
        config=config,
        wakeup=Wakeup() if listen_only else services.wakeup,
    )


def build_app(
    settings: Settings, services: Services | None = None, *, worker_targets: Targets = "all"
) -> FastAPI:
    """The HTTP app (API, portal, `/mcp`) over ``services`` (built from ``settings`` when not
    given); with ``settings.run_worker`` its lifespan runs a worker over the same services,
    claiming ``worker_targets`` (``listen_only`` when worker processes take the rest)."""
    from livehook.api.app import create_app

    built = services or build_services(settings)
    built.build_all()

    def make_worker(listeners: ListenerHub) -> Worker:
        return build_worker(settings, built, listeners=listeners, targets=worker_targets)

    return create_app(settings, built, make_worker=make_worker if settings.run_worker else None)
