"""Tapewire's Grafana dashboards, defined once in Python and rendered to provisioned JSON.

    python -m tapewire.observability.dashboards.build   # writes infra/grafana/dashboards/

:data:`DASHBOARDS` lists them; each panel's ClickHouse SQL and PromQL live in the module of
its dashboard, so the tests run exactly what Grafana runs (docs/dashboards.md).
"""

from tapewire.observability.dashboards.macros import (
    MacroError,
    QueryContext,
    expand_promql,
    expand_sql,
)
from tapewire.observability.dashboards.market_data import MARKET_DATA
from tapewire.observability.dashboards.model import (
    Dashboard,
    Format,
    Panel,
    PromQL,
    Row,
    Sql,
    Variable,
    render,
    render_json,
)
from tapewire.observability.dashboards.platform_health import PLATFORM_HEALTH
from tapewire.observability.dashboards.trading import TRADING

DASHBOARDS = (MARKET_DATA, TRADING, PLATFORM_HEALTH)
"""Every provisioned dashboard, in the order of docs/dashboards.md."""

__all__ = [
    "DASHBOARDS",
    "MARKET_DATA",
    "PLATFORM_HEALTH",
    "TRADING",
    "Dashboard",
    "Format",
    "MacroError",
    "Panel",
    "PromQL",
    "QueryContext",
    "Row",
    "Sql",
    "Variable",
    "expand_promql",
    "expand_sql",
    "render",
    "render_json",
]
