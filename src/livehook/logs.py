"""structlog set-up for the processes the CLI starts, and loggers for the modules a quick
command loads.

Every line, structlog's and the standard library's (uvicorn, aiohttp, SQLAlchemy), goes through
one chain: the request id or the delivery and event ids bound for the task that writes it, the
level, a UTC timestamp; then JSON lines (for log shippers), or readable lines on a terminal.

structlog is imported when it is first used, not with this module: with the rich tracebacks it
loads it is a good part of the start of a command such as `livehook keys list`, which logs
nothing.
"""

from __future__ import annotations

import logging
import sys
from typing import Any


class _LoggerOnFirstUse:
    """structlog's logger of ``name``, imported when a line is first written."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, method: str) -> Any:
        import structlog

        return getattr(structlog.get_logger(self._name), method)


def get_logger(name: str) -> Any:
    """``structlog.get_logger(name)`` for a module that the quick commands import: the same
    lines, through the same chain, with structlog loaded only once one is written."""
    return _LoggerOnFirstUse(name)


def configure_logging(level: str = "info", *, json: bool | None = None) -> None:
    """Readable lines on a terminal, JSON lines otherwise (for log shippers)."""
    import structlog

    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    as_json = not sys.stderr.isatty() if json is None else json
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
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
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # One write per line (print() makes two): serve and its worker processes share one
        # stderr, and a line written in two parts can be split by another process's line.
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
