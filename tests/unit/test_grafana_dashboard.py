"""The Grafana dashboard in deploy/ reads only metrics livehook exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from livehook import metrics

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "livehook.json"
_SUFFIXES = ("_total", "_bucket", "_sum", "_count")


def exported_names() -> set[str]:
    names = set()
    for collector in vars(metrics).values():
        describe = getattr(collector, "describe", None)
        if callable(describe) and type(collector).__module__.startswith("prometheus_client"):
            for family in describe():
                names.add(family.name)
    return names


def test_every_query_reads_an_exported_metric_and_every_metric_has_a_panel() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queried = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"livehook_[a-z_]+", target["expr"]):
                for suffix in _SUFFIXES:
                    name = name.removesuffix(suffix)
                queried.add(name)
    assert queried == exported_names()
