"""Runs the API's parameterised reads (:mod:`tapewire.api.queries`) against ClickHouse.

Rows come back as dicts: decimals as exact text (``"0.00000812"``, never a float), the
``*_ns`` columns as integers, NULL as None.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tapewire.api.errors import UnavailableError
from tapewire.api.queries import Query
from tapewire.core.errors import ClickHouseError
from tapewire.sinks.clickhouse.query import QueryResult, format_value, run_sql


class Reader:
    """Reads from the ClickHouse at ``url`` (``chdb://dir`` or ``http(s)://``)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def result(self, query: Query) -> QueryResult:
        """The exact result of ``query``; :class:`UnavailableError` if ClickHouse fails."""
        try:
            return run_sql(self.url, query.sql, parameters=query.parameters)
        except ClickHouseError as exc:
            raise UnavailableError(f"ClickHouse: {exc.message}", hint=exc.hint) from None

    def rows(self, query: Query) -> list[dict[str, Any]]:
        """The rows of ``query`` as JSON-ready dicts."""
        result = self.result(query)
        return [
            {name: _json(value) for name, value in zip(result.column_names, row, strict=True)}
            for row in result.rows
        ]


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format_value(value)
    return value
