"""``tapewire tca``'s query and summary without a server: the filters it writes, and the
summary's exact aggregates over rendered rows."""

from __future__ import annotations

import json

from tapewire.cli.tca import COLUMNS, render_csv, render_json, summary, tca_sql
from tapewire.sinks.clickhouse.query_server import TextResult


def _row(**values: str) -> list[str]:
    base = dict.fromkeys(COLUMNS, "NULL") | {
        "kind": "ORDER",
        "account": "acct",
        "instrument": "BTC-USDT-SPOT",
        "side": "BUY",
        "filled_qty": "0",
        "notional": "0",
        "fees_quote": "0",
    }
    return [(base | values)[c] for c in COLUMNS]


def test_the_query_filters_account_and_arrival_range_and_reads_final() -> None:
    sql = tca_sql("o'brien", 5, 9)
    assert "FROM tca FINAL" in sql
    assert "account = 'o\\'brien'" in sql
    assert "arrival_ts >= fromUnixTimestamp64Nano(toInt64(5), 'UTC')" in sql
    assert "arrival_ts < fromUnixTimestamp64Nano(toInt64(9), 'UTC')" in sql
    assert "WHERE" not in tca_sql(None, None, None)


def test_the_summary_aggregates_costs_over_values_not_means_of_bps() -> None:
    rows = [
        # buy 1 @ 101 vs A 100: cost 1; VWAP 100.5: 0.5; fee 0.1
        _row(
            order_id="o1",
            quantity="1",
            filled_qty="1",
            notional="101",
            arrival_mid="100",
            execution_cost="1",
            interval_vwap="100.5",
            fees_quote="0.1",
            opportunity_cost="0",
        ),
        # sell 3 of 4 @ 199 vs A 200: cost 3; 1 unfilled, market fell 2: opportunity 2
        _row(
            order_id="o2",
            side="SELL",
            quantity="4",
            filled_qty="3",
            notional="597",
            arrival_mid="200",
            execution_cost="3",
            fees_quote="0",
            opportunity_cost="2",
        ),
        # no arrival mid: counted in reports and notional only
        _row(order_id="o3", quantity="1", filled_qty="1", notional="50", fees_quote="0.5"),
    ]
    result = TextResult(list(COLUMNS), ["String"] * len(COLUMNS), rows)
    ((kind, instrument, reports, filled, notional, fees, ratio, arrival, vwap, shortfall),) = (
        summary(result)
    )
    assert (kind, instrument, reports, filled, notional, fees) == (
        "ORDER",
        "BTC-USDT-SPOT",
        "3",
        "5",
        "748",
        "0.6",
    )
    assert ratio == "0.833333333333333333"  # 5 / 6
    assert arrival == "57.142857142857142857"  # (1 + 3) / (100 + 600) x 1e4
    assert vwap == "49.751243781094527363"  # 0.5 / 100.5 x 1e4 (o1 only has a VWAP)
    assert shortfall == "67.777777777777777778"  # (1.1 + 5) / (100 + 800) x 1e4, half-even
    printed = json.loads(render_json(result))
    assert [r["order_id"] for r in printed["reports"]] == ["o1", "o2", "o3"]
    assert printed["reports"][2]["arrival_mid"] is None
    assert printed["summary"][0]["shortfall_bps"] == shortfall
    lines = render_csv(result).splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert len(lines) == 4
