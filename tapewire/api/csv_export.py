"""History as CSV: a header of column names, then one line per row, values exact
(decimals as ClickHouse writes them, timestamps as integer UTC nanoseconds, NULL empty)."""

from __future__ import annotations

import csv
import io

from tapewire.sinks.clickhouse.query import QueryResult, format_value


def to_csv(result: QueryResult) -> str:
    """``result`` as CSV text (RFC 4180 quoting, ``\\r\\n`` line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(result.column_names)
    for row in result.rows:
        writer.writerow(format_value(v, null="") for v in row)
    return out.getvalue()
