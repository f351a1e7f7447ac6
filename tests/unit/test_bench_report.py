"""The benchmark's pure reporting: percentiles, table cells, RESULTS.md."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bench.report import (
    COLUMNS,
    Row,
    markdown_table,
    meets_throughput_targets,
    p50_p99,
    percentile,
    results_markdown,
    row_cells,
)


def test_percentile_interpolates_between_the_two_nearest_ranks() -> None:
    values = [40.0, 10.0, 30.0, 20.0]  # unsorted on purpose
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 50) == 25.0
    assert percentile(values, 99) == pytest.approx(39.7)


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([7.5], 99) == 7.5


def test_percentile_refuses_no_values_and_out_of_range_q() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="percentage"):
        percentile([1.0], 101)


def test_p50_p99_over_1_to_100_and_none_when_nothing_was_measured() -> None:
    p50, p99 = p50_p99([float(n) for n in range(1, 101)])
    assert p50 == 50.5
    assert p99 is not None and round(p99, 6) == 99.01
    assert p50_p99([]) == (None, None)


def test_row_rate_is_deliveries_over_seconds_and_zero_without_time() -> None:
    assert Row("s", "sqlite", 20_000, 4.0).rate == 5_000.0
    assert Row("s", "sqlite", 0, 0.0).rate == 0.0


def test_row_cells_show_ratios_against_limit_and_celery_in_column_order() -> None:
    row = Row(
        scenario="20k to one endpoint",
        database="postgresql",
        deliveries=20_000,
        seconds=4.0,
        p50_ms=1.234,
        p99_ms=12.5,
        peak_rss_mb=88.04,
        target=">= 0.5x limit",
        met=True,
    )
    cells = row_cells(row, limit_rate=8_000.0, celery_rate=500.0)
    assert dict(zip(COLUMNS, cells, strict=True)) == {
        "scenario": "20k to one endpoint",
        "database": "postgresql",
        "deliveries": "20,000",
        "seconds": "4.00",
        "deliveries/s": "5,000",
        "vs limit": "0.62x",
        "vs celery": "10.00x",
        "p50 ms": "1.23",
        "p99 ms": "12.50",
        "peak RSS MB": "88.0",
        "target": ">= 0.5x limit",
        "met?": "yes",
    }


def test_row_cells_mark_missing_figures_and_a_missed_target() -> None:
    cells = row_cells(Row("faults", "sqlite", 10, 1.0, met=False), None, None)
    assert cells[5:] == ["—", "—", "—", "—", "—", "—", "NO"]


def test_markdown_table_escapes_pipes_inside_cells() -> None:
    table = markdown_table([Row("a|b", "sqlite", 1, 1.0)], None, None)
    lines = table.splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
    assert lines[1] == "|" + " --- |" * len(COLUMNS)
    assert lines[2].startswith("| a\\|b | sqlite | 1 | 1.00 | 1 |")


def test_throughput_targets_need_half_the_limit_and_three_times_celery() -> None:
    assert meets_throughput_targets(5_000, limit_rate=10_000, celery_rate=1_000)
    assert not meets_throughput_targets(4_999, limit_rate=10_000, celery_rate=1_000)
    assert not meets_throughput_targets(5_000, limit_rate=10_000, celery_rate=1_700)
    assert meets_throughput_targets(5_000, limit_rate=10_000, celery_rate=None)


def test_results_markdown_holds_date_environment_settings_table_and_notes() -> None:
    rows = [
        Row("limit (aiohttp)", "—", 20_000, 2.0, note="receiver 25 µs/request"),
        Row("Celery peer", "—", 20_000, 40.0),
        Row("fan-out", "sqlite", 100_000, 20.0, note="100 endpoints"),
    ]
    text = results_markdown(
        rows=rows,
        limit_rate=10_000.0,
        celery_rate=500.0,
        when=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
        environment=[("cores", "2"), ("PostgreSQL", "16.2")],
        settings=[("concurrency", "100")],
    )
    assert text.startswith("# livehook benchmark results\n\nRun on 2026-03-01 12:30 UTC")
    assert "| cores | 2 |\n| PostgreSQL | 16.2 |\n" in text
    assert "| concurrency | 100 |\n" in text
    assert "| Celery peer | — | 20,000 | 40.00 | 500 | 0.05x | 1.00x |" in text
    assert text.endswith(
        "Notes:\n\n- limit (aiohttp): receiver 25 µs/request\n- fan-out (sqlite): 100 endpoints\n"
    )
