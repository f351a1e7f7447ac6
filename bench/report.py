"""Result rows, percentiles, the printed table and ``bench/RESULTS.md``.

The top half is pure (rows in, strings or a Rich table out) and unit-tested; the bottom half
reads the facts a result needs to be reproducible: machine, database and library versions.
"""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.table import Table

# The targets of issue 6, each a number the rows are checked against.
MIN_VS_LIMIT = 0.5  # durable throughput, on both databases
MIN_VS_CELERY = 3.0
MAX_P99_MS_AT_500_PER_S = 50.0
MIN_HEALTHY_SHARE_UNDER_FAULTS = 0.9  # healthy endpoints' throughput against scenario 1
MAX_BACKLOG_COST_GROWTH = 1.2  # claim-and-record cost at 1,000,000 due rows against 10,000
MAX_PEAK_RSS_MB = 300.0

COLUMNS = (
    "scenario",
    "database",
    "deliveries",
    "seconds",
    "deliveries/s",
    "vs limit",
    "vs celery",
    "p50 ms",
    "p99 ms",
    "peak RSS MB",
    "target",
    "met?",
)


@dataclass(frozen=True)
class Row:
    """One measured line of the table.

    ``deliveries`` are the 2xx answers counted over ``seconds`` (first publish to last 2xx).
    ``target`` says in words what the row is held to and ``met`` whether it was (None: no
    target). ``note`` carries what the columns cannot, e.g. a ratio against another row.
    """

    scenario: str
    database: str
    deliveries: int
    seconds: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    peak_rss_mb: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds if self.seconds > 0 else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), interpolating linearly between the two nearest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError("q is a percentage between 0 and 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def p50_p99(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Median and 99th percentile, or (None, None) when nothing was measured."""
    if not values:
        return None, None
    return percentile(values, 50), percentile(values, 99)


def meets_throughput_targets(rate: float, limit_rate: float, celery_rate: float | None) -> bool:
    """At least ``MIN_VS_LIMIT`` times the limit and ``MIN_VS_CELERY`` times the Celery peer."""
    if rate < MIN_VS_LIMIT * limit_rate:
        return False
    return celery_rate is None or rate >= MIN_VS_CELERY * celery_rate


def _number(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _ratio(rate: float, base: float | None) -> str:
    return "—" if not base else f"{rate / base:.2f}x"


def row_cells(row: Row, limit_rate: float | None, celery_rate: float | None) -> list[str]:
    """The row as the table shows it, in ``COLUMNS`` order."""
    met = {None: "—", True: "yes", False: "NO"}[row.met]
    return [
        row.scenario,
        row.database,
        f"{row.deliveries:,}",
        f"{row.seconds:.2f}",
        f"{row.rate:,.0f}",
        _ratio(row.rate, limit_rate),
        _ratio(row.rate, celery_rate),
        _number(row.p50_ms, 2),
        _number(row.p99_ms, 2),
        _number(row.peak_rss_mb, 1),
        row.target or "—",
        met,
    ]


def row_label(row: Row) -> str:
    """The scenario, with its database when it has one."""
    return row.scenario if row.database == "—" else f"{row.scenario} ({row.database})"


def rich_table(rows: Sequence[Row], limit_rate: float | None, celery_rate: float | None) -> Table:
    from rich.table import Table  # imported here: the limit's process imports this module

    table = Table(title="livehook benchmark")
    for index, column in enumerate(COLUMNS):
        table.add_column(column, justify="left" if index in (0, 1, 10) else "right")
    for row in rows:
        table.add_row(*row_cells(row, limit_rate, celery_rate))
    return table


def markdown_table(rows: Sequence[Row], limit_rate: float | None, celery_rate: float | None) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for row in rows:
        cells = (cell.replace("|", "\\|") for cell in row_cells(row, limit_rate, celery_rate))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def results_markdown(
    *,
    rows: Sequence[Row],
    limit_rate: float | None,
    celery_rate: float | None,
    when: datetime,
    environment: Sequence[tuple[str, str]],
    settings: Sequence[tuple[str, str]],
) -> str:
    """The whole of ``bench/RESULTS.md``: when, where, with what, the table and the notes."""
    parts = [
        "# livehook benchmark results",
        "",
        f"Run on {when:%Y-%m-%d %H:%M %Z} with `.venv/bin/python -m bench.run`; see",
        "bench/README.md for what each figure means.",
        "",
        "| machine and versions | |",
        "| --- | --- |",
        *(f"| {name} | {value} |" for name, value in environment),
        "",
        "| settings | |",
        "| --- | --- |",
        *(f"| {name} | {value} |" for name, value in settings),
        "",
        markdown_table(rows, limit_rate, celery_rate),
    ]
    notes = [f"- {row_label(row)}: {row.note}" for row in rows if row.note]
    if notes:
        parts += ["", "Notes:", "", *notes]
    return "\n".join(parts) + "\n"


# --- the facts a result is reported with (these read the machine) --------------------------


def memory_total_gib(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        return None
    return None


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


async def postgres_version(url: str) -> str:
    """``SHOW server_version``, or why it could not be read."""
    # Imported here so the limit's process, which needs only percentiles, stays lean.
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from livehook.storage.engines import create_engine

    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            version = await conn.scalar(text("SHOW server_version"))
    except (OSError, SQLAlchemyError) as exc:
        return f"unreachable ({type(exc).__name__})"
    finally:
        await engine.dispose()
    return str(version)


def environment_facts(postgres: str, redis: str) -> list[tuple[str, str]]:
    memory = memory_total_gib()
    return [
        ("cores", str(os.cpu_count())),
        ("memory", "unknown" if memory is None else f"{memory:.1f} GiB"),
        ("cpu", cpu_model()),
        ("os", f"{platform.system()} {platform.release()}"),
        ("python", sys.version.split()[0]),
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", postgres),
        ("Redis", redis),
        ("aiohttp", _version("aiohttp")),
        ("celery", _version("celery")),
        ("requests", _version("requests")),
        ("livehook", _version("livehook")),
    ]
