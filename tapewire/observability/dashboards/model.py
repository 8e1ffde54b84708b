"""A small typed model of a provisioned Grafana dashboard, rendered to Grafana's JSON.

Panels hold their queries once (ClickHouse SQL for the ``grafana-clickhouse-datasource``
plugin, PromQL for Prometheus); :func:`render` turns a :class:`Dashboard` into the JSON
file Grafana provisions, and the tests read the same objects to run every query.
Layout is automatic: panels fill 24-column rows left to right in declaration order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

CLICKHOUSE = {"type": "grafana-clickhouse-datasource", "uid": "tapewire-clickhouse"}
"""The provisioned ClickHouse datasource (infra/grafana/provisioning/datasources)."""
PROMETHEUS = {"type": "prometheus", "uid": "tapewire-prometheus"}
"""The provisioned Prometheus datasource."""

SCHEMA_VERSION = 39  # Grafana 11.x dashboard schema
GRID_COLUMNS = 24


class Format(StrEnum):
    """How the ClickHouse plugin returns a result (its ``format`` / ``queryType``)."""

    TABLE = "table"
    TIME_SERIES = "timeseries"

    @property
    def code(self) -> int:
        """The plugin's numeric ``format`` (sqlds: 0 time series, 1 table)."""
        return 0 if self is Format.TIME_SERIES else 1


@dataclass(frozen=True, slots=True)
class Sql:
    """A ClickHouse panel query: raw SQL with Grafana macros and the columns it returns."""

    sql: str
    columns: tuple[str, ...]
    format: Format = Format.TIME_SERIES


@dataclass(frozen=True, slots=True)
class PromQL:
    """A Prometheus panel query and its legend (``{{label}}`` placeholders)."""

    expr: str
    legend: str = ""


@dataclass(frozen=True, slots=True)
class Panel:
    """One panel: a Grafana panel type, its queries (all on one datasource) and display."""

    title: str
    kind: str
    queries: tuple[Sql | PromQL, ...]
    description: str = ""
    unit: str = "short"
    width: int = 12
    height: int = 8
    options: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    """Extra ``fieldConfig.defaults`` (value mappings, custom draw styles)."""

    @property
    def datasource(self) -> dict[str, str]:
        """The panel's datasource reference, from its query type."""
        return CLICKHOUSE if isinstance(self.queries[0], Sql) else PROMETHEUS


@dataclass(frozen=True, slots=True)
class Variable:
    """A dashboard template variable: a datasource query, or fixed options (``custom``)."""

    name: str
    label: str
    query: Sql | PromQL | None = None
    options: tuple[str, ...] = ()
    multi: bool = False
    include_all: bool = False

    @property
    def datasource(self) -> dict[str, str] | None:
        """Where the options come from (None for a custom variable)."""
        if self.query is None:
            return None
        return CLICKHOUSE if isinstance(self.query, Sql) else PROMETHEUS


@dataclass(frozen=True, slots=True)
class Row:
    """A collapsible row header: the panels after it belong to it."""

    title: str


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A whole dashboard; ``file_name`` is its file under infra/grafana/dashboards."""

    uid: str
    title: str
    file_name: str
    description: str
    items: tuple[Panel | Row, ...]
    variables: tuple[Variable, ...] = ()
    time_from: str = "now-6h"
    refresh: str = ""

    @property
    def panels(self) -> tuple[Panel, ...]:
        """The panels, rows left out."""
        return tuple(item for item in self.items if isinstance(item, Panel))


def _target(query: Sql | PromQL, ref: str, datasource: dict[str, str]) -> dict[str, Any]:
    if isinstance(query, PromQL):
        return {
            "refId": ref,
            "datasource": datasource,
            "expr": query.expr,
            "legendFormat": query.legend,
            "range": True,
        }
    return {
        "refId": ref,
        "datasource": datasource,
        "editorType": "sql",
        "format": query.format.code,
        "queryType": query.format.value,
        "rawSql": query.sql,
    }


def _variable(variable: Variable) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": variable.name,
        "label": variable.label,
        "multi": variable.multi,
        "includeAll": variable.include_all,
        "hide": 0,
        "skipUrlSync": False,
        "current": {},
    }
    if variable.query is None:
        text = ",".join(variable.options)
        return {
            **out,
            "type": "custom",
            "query": text,
            "current": {"text": variable.options[0], "value": variable.options[0]},
            "options": [
                {"text": o, "value": o, "selected": i == 0} for i, o in enumerate(variable.options)
            ],
        }
    query = variable.query.sql if isinstance(variable.query, Sql) else variable.query.expr
    return {
        **out,
        "type": "query",
        "datasource": variable.datasource,
        "definition": query,
        "query": query,
        "refresh": 2,
        "sort": 1,
        "regex": "",
        "options": [],
    }


def render_json(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (ids and grid positions assigned here)."""
    panels: list[dict[str, Any]] = []
    x = y = row_height = 0
    for number, item in enumerate(dashboard.items, start=1):
        if isinstance(item, Row):
            y += row_height
            x = row_height = 0
            panels.append(
                {
                    "id": number,
                    "type": "row",
                    "title": item.title,
                    "collapsed": False,
                    "gridPos": {"h": 1, "w": GRID_COLUMNS, "x": 0, "y": y},
                    "panels": [],
                }
            )
            y += 1
            continue
        if x + item.width > GRID_COLUMNS:
            y += row_height
            x = row_height = 0
        datasource = item.datasource
        panels.append(
            {
                "id": number,
                "type": item.kind,
                "title": item.title,
                "description": item.description,
                "datasource": datasource,
                "gridPos": {"h": item.height, "w": item.width, "x": x, "y": y},
                "fieldConfig": {"defaults": {"unit": item.unit, **item.defaults}, "overrides": []},
                "options": item.options,
                "targets": [
                    _target(q, chr(ord("A") + i), datasource) for i, q in enumerate(item.queries)
                ],
            }
        )
        x += item.width
        row_height = max(row_height, item.height)
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["tapewire"],
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "graphTooltip": 1,
        "timezone": "utc",
        "time": {"from": dashboard.time_from, "to": "now"},
        "refresh": dashboard.refresh,
        "panels": panels,
        "templating": {"list": [_variable(v) for v in dashboard.variables]},
        "annotations": {"list": []},
    }


def render(dashboard: Dashboard) -> str:
    """The dashboard's file content: Grafana JSON, two-space indented, newline at the end."""
    return json.dumps(render_json(dashboard), indent=2, ensure_ascii=False) + "\n"
