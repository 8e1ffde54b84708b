"""Every PromQL expression of every dashboard (panels and variables) is valid PromQL and
uses only metrics and labels that Tapewire's processes export.

Validity: each expression, expanded as Grafana expands it (``$__rate_interval``, template
variables), becomes a recording rule of one generated rules file, which the real
``promtool check rules`` parses with Prometheus's own PromQL parser (syntax, function
names and argument types). Chosen over POSTing to a running server: no port, no process
to manage, and promtool names the failing expression. ``label_values(...)`` of a Grafana
variable is Grafana's, not PromQL: its metric selector is checked instead.

Metrics: every ``tapewire_*`` series name must be a sample of a family in
``tapewire.core.metrics.REGISTRY`` (counters end ``_total``, histograms ``_bucket`` /
``_sum`` / ``_count``), and every label an expression groups or filters by must be one of
that metric's labels (``le`` for buckets; ``job``/``instance`` for Prometheus's ``up``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tapewire.core import metrics
from tapewire.observability.dashboards import DASHBOARDS, PromQL, QueryContext, expand_promql

pytestmark = pytest.mark.integration

PROMETHEUS_SERIES = {"up": {"job", "instance"}}
"""Series Prometheus itself records for every scrape target."""
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")
_NAME = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{|\[|\)|$|\s)")
_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
_MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)\s*\"")
_FUNCTIONS = {
    "sum",
    "max",
    "min",
    "avg",
    "count",
    "rate",
    "increase",
    "irate",
    "histogram_quantile",
    "by",
    "without",
    "le",
}


def _context() -> QueryContext:
    return QueryContext(
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, 1, tzinfo=UTC),
        interval_ms=15_000,
        variables={"stage": ("normalize", "sink")},
        rate_interval="1m",
    )


def _expressions() -> list[Any]:
    cases = []
    for dashboard in DASHBOARDS:
        for variable in dashboard.variables:
            if isinstance(variable.query, PromQL):
                cases.append((f"{dashboard.uid}:${variable.name}", variable.query.expr))
        for panel in dashboard.panels:
            for i, query in enumerate(panel.queries):
                if isinstance(query, PromQL):
                    cases.append((f"{dashboard.uid}:{panel.title}:{i}", query.expr))
    return cases


EXPRESSIONS = _expressions()


def _exported() -> dict[str, set[str]]:
    """Every series name the registry can expose, with the labels of its metric."""
    labels = {
        name: set(getattr(collector, "_labelnames", ()))
        for name, collector in metrics.REGISTRY._names_to_collectors.items()
    }
    out: dict[str, set[str]] = {}
    for family in metrics.REGISTRY.collect():
        own = labels.get(family.name, labels.get(f"{family.name}_total", set()))
        suffixes = {
            "counter": ("_total",),
            "gauge": ("",),
            "histogram": ("_bucket", "_sum", "_count"),
            "summary": ("_sum", "_count"),
            "info": ("_info",),
        }[family.type]
        for suffix in suffixes:
            out[family.name + suffix] = own | ({"le"} if suffix == "_bucket" else set())
    return out


def _promql(expr: str) -> str:
    """The PromQL part of a Grafana query (``label_values(sel, label)`` → ``sel``)."""
    match = _LABEL_VALUES.match(expr)
    return match.group("selector") if match else expr


def test_dashboards_have_promql_panels() -> None:
    assert len(EXPRESSIONS) >= 20


def test_promtool_parses_every_expression(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, (
        "promtool not found: install the Debian package `prometheus` "
        "(apt-get install -y prometheus), as .ci/run does"
    )
    ctx = _context()
    rules = [
        {"record": f"tapewire:dashboard_expr_{i}", "expr": expand_promql(_promql(expr), ctx)}
        for i, (_, expr) in enumerate(EXPRESSIONS)
    ]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    """The check above can fail: a typo is caught by promtool, with the expression named."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: apt-get install -y prometheus"
    path = tmp_path / "broken.rules.yml"
    broken = "sum by (stage) (rate(tapewire_messages_processed_total[1m])"
    path.write_text(
        yaml.safe_dump({"groups": [{"name": "g", "rules": [{"record": "x:y", "expr": broken}]}]})
    )
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "unclosed left parenthesis" in result.stdout + result.stderr


@pytest.mark.parametrize(("where", "expr"), EXPRESSIONS, ids=[w for w, _ in EXPRESSIONS])
def test_every_metric_and_label_is_exported(where: str, expr: str) -> None:
    exported = {**_exported(), **PROMETHEUS_SERIES}
    text = expand_promql(_promql(expr), _context())
    without_strings = re.sub(r'"[^"]*"', '""', text)
    without_durations = re.sub(r"\[[^\]]*\]", "", without_strings)
    names = {
        n
        for n in _NAME.findall(re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", without_durations))
        if n not in _FUNCTIONS and not n[0].isdigit()
    }
    assert names, f"{where}: no metric in {expr!r}"
    allowed: set[str] = set()
    for name in names:
        assert name in exported, f"{where}: {name} is not exported by tapewire.core.metrics"
        allowed |= exported[name]
    used = set(_MATCHER.findall(text))
    for group in _GROUPING.findall(text):
        used |= {label.strip() for label in group.split(",") if label.strip()}
    if match := _LABEL_VALUES.match(expr):
        used.add(match.group("label"))
    assert used <= allowed, f"{where}: labels {sorted(used - allowed)} not on {sorted(names)}"
