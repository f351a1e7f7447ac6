"""structlog set-up for the processes the CLI starts.

Every line, structlog's and the standard library's (uvicorn, aiohttp, SQLAlchemy), goes through
one chain: the request id or the delivery and event ids bound for the task that writes it, the
level, a UTC timestamp; then JSON lines (for log shippers), or readable lines on a terminal.
"""

from __future__ import annotations

import logging
import sys

import structlog

_SHARED: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(level: str = "info", *, json: bool | None = None) -> None:
    """Readable lines on a terminal, JSON lines otherwise (for log shippers)."""
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    as_json = not sys.stderr.isatty() if json is None else json
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Libraries log at INFO at most: their DEBUG lines (aiosqlite's, asyncpg's) repeat the
    # statements' values, and LIVEHOOK_LOG_LEVEL=debug is for livehook's own lines.
    root.setLevel(max(numeric, logging.INFO))
    # Alembic narrates every step at INFO; a server start needs only its warnings.
    logging.getLogger("alembic").setLevel(max(numeric, logging.WARNING))
    # The MCP SDK narrates every stateless request ("Terminating session: None") at INFO.
    logging.getLogger("mcp").setLevel(max(numeric, logging.WARNING))
    structlog.configure(
        processors=[*_SHARED, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
