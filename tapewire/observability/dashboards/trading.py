"""The trading dashboard: orders by state, fills, PnL and positions, slippage, TCA, risk denials.

ClickHouse panels read the audit trail of migration 0003 (order_requests, risk_decisions,
order_events, fills, positions, alerts) with ``FINAL``; two Prometheus panels show the
live risk gate (decisions by rule, trading state). Slippage is each fill's price against
the arrival NBBO mid the risk gate saw (``risk_decisions.reference_price``), in bps,
positive = worse for the order, as ``tapewire_fill_slippage_bps``. The TCA panels read
the ``tca`` table (migration 0009, ``docs/tca.md``): per finished order and parent.
"""

from __future__ import annotations

from tapewire.observability.dashboards.model import (
    Dashboard,
    Format,
    Panel,
    PromQL,
    Row,
    Sql,
    Variable,
)

ACCOUNTS = "account IN (${account:singlequote})"

ORDERS_BY_STATE = Sql(
    f"""SELECT status, count() AS orders
FROM
(
    SELECT account, client_order_id, argMax(status, (event_ts, kafka_offset)) AS status
    FROM order_events FINAL
    WHERE {ACCOUNTS} AND $__timeFilter(event_ts)
    GROUP BY account, client_order_id
)
GROUP BY status
ORDER BY orders DESC, status""",
    ("status", "orders"),
    Format.TABLE,
)

ORDER_FLOW = Sql(
    f"""SELECT
    (SELECT count() FROM order_requests FINAL
     WHERE {ACCOUNTS} AND action = 'NEW' AND $__timeFilter(request_ts)) AS requested,
    (SELECT count() FROM risk_decisions FINAL
     WHERE {ACCOUNTS} AND decision = 'APPROVED' AND $__timeFilter(decision_ts)) AS approved,
    (SELECT count() FROM risk_decisions FINAL
     WHERE {ACCOUNTS} AND decision = 'DENIED' AND $__timeFilter(decision_ts)) AS denied,
    (SELECT count() FROM fills FINAL WHERE {ACCOUNTS} AND $__timeFilter(receive_ts)) AS fills""",
    ("requested", "approved", "denied", "fills"),
    Format.TABLE,
)

EXEC_TYPES = Sql(
    f"""SELECT $__timeInterval(event_ts) AS time, exec_type, count() AS events
FROM order_events FINAL
WHERE {ACCOUNTS} AND $__timeFilter(event_ts)
GROUP BY time, exec_type
ORDER BY time, exec_type""",
    ("time", "exec_type", "events"),
)

FILLS = Sql(
    f"""SELECT receive_ts, account, venue, instrument, side, price, quantity, fee, fee_currency,
       liquidity, client_order_id
FROM fills FINAL
WHERE {ACCOUNTS} AND $__timeFilter(receive_ts)
ORDER BY receive_ts DESC
LIMIT 500""",
    (
        "receive_ts",
        "account",
        "venue",
        "instrument",
        "side",
        "price",
        "quantity",
        "fee",
        "fee_currency",
        "liquidity",
        "client_order_id",
    ),
    Format.TABLE,
)

FILLED_NOTIONAL = Sql(
    f"""SELECT $__timeInterval(receive_ts) AS time, concat(venue, ' ', liquidity) AS series,
       sum(toDecimal256(price, 18) * toDecimal256(quantity, 18)) AS notional
FROM fills FINAL
WHERE {ACCOUNTS} AND $__timeFilter(receive_ts)
GROUP BY time, series
ORDER BY time, series""",
    ("time", "series", "notional"),
)

_NET = "realized_pnl + unrealized_pnl - fees"

PNL = Sql(
    f"""SELECT $__timeInterval(update_ts) AS time,
       concat(account, ' ', venue, ' ', instrument) AS position,
       argMax({_NET}, (update_ts, kafka_offset)) AS net_pnl
FROM positions FINAL
WHERE {ACCOUNTS} AND $__timeFilter(update_ts)
GROUP BY time, position
ORDER BY time, position""",
    ("time", "position", "net_pnl"),
)

POSITIONS = Sql(
    f"""SELECT account, venue, instrument, quantity, avg_price, mark_price, realized_pnl,
       unrealized_pnl, fees, {_NET} AS net_pnl, pnl_currency, update_ts AS updated
FROM positions FINAL
WHERE {ACCOUNTS} AND update_ts <= $__toTime_ms
ORDER BY account, venue, instrument, update_ts DESC, kafka_offset DESC
LIMIT 1 BY account, venue, instrument""",
    (
        "account",
        "venue",
        "instrument",
        "quantity",
        "avg_price",
        "mark_price",
        "realized_pnl",
        "unrealized_pnl",
        "fees",
        "net_pnl",
        "pnl_currency",
        "updated",
    ),
    Format.TABLE,
)

_SLIPPAGE_ROWS = f"""(
    SELECT f.receive_ts AS receive_ts, f.venue AS venue, f.side AS side,
           f.quantity AS quantity,
           toDecimal256(if(f.side = 'BUY', f.price - d.mid, d.mid - f.price), 18) * 10000
               / toDecimal256(d.mid, 18) AS slippage_bps
    FROM fills AS f FINAL
    INNER JOIN
    (
        SELECT account, client_order_id, assumeNotNull(reference_price) AS mid
        FROM risk_decisions FINAL
        WHERE decision = 'APPROVED' AND reference_price IS NOT NULL AND reference_price > 0
    ) AS d ON f.account = d.account AND f.client_order_id = d.client_order_id
    WHERE f.{ACCOUNTS} AND $__timeFilter(f.receive_ts)
)"""

SLIPPAGE_BY_VENUE = Sql(
    f"""SELECT venue, side, count() AS fills,
       sum(slippage_bps * toDecimal256(quantity, 18)) / sum(toDecimal256(quantity, 18))
           AS weighted_slippage_bps,
       max(slippage_bps) AS worst_slippage_bps
FROM {_SLIPPAGE_ROWS}
GROUP BY venue, side
ORDER BY venue, side""",
    ("venue", "side", "fills", "weighted_slippage_bps", "worst_slippage_bps"),
    Format.TABLE,
)

SLIPPAGE_OVER_TIME = Sql(
    f"""SELECT $__timeInterval(receive_ts) AS time, venue,
       sum(slippage_bps) / toDecimal256(count(), 0) AS mean_slippage_bps
FROM {_SLIPPAGE_ROWS}
GROUP BY time, venue
ORDER BY time, venue""",
    ("time", "venue", "mean_slippage_bps"),
)

_E18 = "1000000000000000000"
"""A ratio of sums is (num * 10^18) / (den * 10^18), both exact at 18 places (see
``docs/queries/tca_slippage_by_venue.sql``: at 36 places ClickHouse's division overflows)."""


def _ratio_bps(numerator: str, denominator: str, *, places: int = 18) -> str:
    """``numerator * 10000 / denominator`` (a sum with ``places`` decimal places over a
    36-place sum), truncated at 18 places."""
    scaled = (
        f"toDecimal256({numerator}, 18) * 10000 * {_E18}"
        if places == 18
        else f"toDecimal256({numerator} * 10000 * {_E18}, 18)"
    )
    return f"{scaled}\n           / nullIf(toDecimal256(({denominator}) * {_E18}, 18), 0)"


_FA = "toDecimal256(filled_qty, 18) * toDecimal256(arrival_mid, 18)"
_FV = "toDecimal256(filled_qty, 18) * toDecimal256(interval_vwap, 18)"
_QA = "toDecimal256(ifNull(quantity, filled_qty), 18) * toDecimal256(arrival_mid, 18)"
_VWAP_GAP = f"if(side = 'BUY', 1, -1) * (toDecimal256(notional, 18) - {_FV})"
_COST = "assumeNotNull(execution_cost) + fees_quote + ifNull(opportunity_cost, 0)"
_ARRIVED, _VWAPPED = "arrival_mid IS NOT NULL", "interval_vwap IS NOT NULL"
_SLIP_ARRIVAL = _ratio_bps(f"sumIf(execution_cost, {_ARRIVED})", f"sumIf({_FA}, {_ARRIVED})")
_SLIP_VWAP = _ratio_bps(f"sumIf({_VWAP_GAP}, {_VWAPPED})", f"sumIf({_FV}, {_VWAPPED})", places=36)
_SHORTFALL = _ratio_bps(f"sumIf({_COST}, {_ARRIVED})", f"sumIf({_QA}, {_ARRIVED})")

TCA_BY_VENUE = Sql(
    f"""SELECT venue, side, count() AS orders, sum(notional) AS filled_notional,
       {_SLIP_ARRIVAL} AS slippage_arrival_bps,
       {_SLIP_VWAP} AS slippage_vwap_bps,
       {_SHORTFALL} AS shortfall_bps
FROM tca FINAL
WHERE {ACCOUNTS} AND kind = 'ORDER' AND filled_qty > 0 AND $__timeFilter(arrival_ts)
GROUP BY venue, side
ORDER BY venue, side""",
    (
        "venue",
        "side",
        "orders",
        "filled_notional",
        "slippage_arrival_bps",
        "slippage_vwap_bps",
        "shortfall_bps",
    ),
    Format.TABLE,
)

TCA_LATEST = Sql(
    f"""SELECT end_ts, kind, account, order_id, venue, instrument, side, status, filled_qty,
       avg_price, arrival_mid, slippage_arrival_bps, slippage_vwap_bps, shortfall_bps,
       fees_quote, note
FROM tca FINAL
WHERE {ACCOUNTS} AND $__timeFilter(arrival_ts)
ORDER BY end_ts DESC, order_id
LIMIT 200""",
    (
        "end_ts",
        "kind",
        "account",
        "order_id",
        "venue",
        "instrument",
        "side",
        "status",
        "filled_qty",
        "avg_price",
        "arrival_mid",
        "slippage_arrival_bps",
        "slippage_vwap_bps",
        "shortfall_bps",
        "fees_quote",
        "note",
    ),
    Format.TABLE,
)

DENIALS_BY_RULE = Sql(
    f"""SELECT $__timeInterval(decision_ts) AS time, ifNull(rule, '') AS rule, count() AS denials
FROM risk_decisions FINAL
WHERE {ACCOUNTS} AND decision = 'DENIED' AND $__timeFilter(decision_ts)
GROUP BY time, rule
ORDER BY time, rule""",
    ("time", "rule", "denials"),
)

DENIALS_LATEST = Sql(
    f"""SELECT decision_ts, account, rule, reason, venue, instrument, side, quantity, limit_price,
       requested_by
FROM risk_decisions FINAL
WHERE {ACCOUNTS} AND decision = 'DENIED' AND $__timeFilter(decision_ts)
ORDER BY decision_ts DESC
LIMIT 200""",
    (
        "decision_ts",
        "account",
        "rule",
        "reason",
        "venue",
        "instrument",
        "side",
        "quantity",
        "limit_price",
        "requested_by",
    ),
    Format.TABLE,
)

ALERTS = Sql(
    """SELECT event_ts, severity, source, code, message
FROM alerts FINAL
WHERE $__timeFilter(event_ts)
ORDER BY event_ts DESC
LIMIT 200""",
    ("event_ts", "severity", "source", "code", "message"),
    Format.TABLE,
)

_STACKED_BARS = {"custom": {"drawStyle": "bars", "fillOpacity": 80, "stacking": {"mode": "normal"}}}

TRADING = Dashboard(
    uid="tapewire-trading",
    title="Tapewire: trading",
    file_name="trading.json",
    description="Orders by state, fills, PnL and positions, slippage against the arrival "
    "mid, risk denials by rule and alerts (ClickHouse), and the live risk gate (Prometheus).",
    variables=(
        Variable(
            "account",
            "Account",
            Sql("SELECT DISTINCT account FROM order_requests ORDER BY account", ("account",)),
            multi=True,
            include_all=True,
        ),
    ),
    items=(
        Row("Orders"),
        Panel(
            "Order flow",
            "stat",
            (ORDER_FLOW,),
            "New orders requested, risk approvals and denials, and fills in the range.",
            width=8,
            options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
        ),
        Panel(
            "Orders by state",
            "barchart",
            (ORDERS_BY_STATE,),
            "Orders by their last FIX OrdStatus among the events in the range.",
            width=8,
            options={"xField": "status", "orientation": "horizontal"},
        ),
        Panel(
            "Execution reports by type",
            "timeseries",
            (EXEC_TYPES,),
            "oms.events per interval by FIX ExecType.",
            width=8,
            defaults=_STACKED_BARS,
        ),
        Row("Fills, PnL and positions"),
        Panel("Fills", "table", (FILLS,), "The latest fills (oms.fills).", width=24),
        Panel(
            "Filled notional by venue and liquidity",
            "timeseries",
            (FILLED_NOTIONAL,),
            "Exact price * quantity per interval.",
            unit="none",
            defaults=_STACKED_BARS,
        ),
        Panel(
            "Net PnL per position",
            "timeseries",
            (PNL,),
            "realized + unrealized - fees after each position change (PnL currency).",
            unit="none",
        ),
        Panel(
            "Positions",
            "table",
            (POSITIONS,),
            "Latest snapshot of every position at the end of the range.",
            width=24,
        ),
        Row("Execution quality"),
        Panel(
            "Slippage against arrival mid (bps)",
            "table",
            (SLIPPAGE_BY_VENUE,),
            "Per venue and side: fills, quantity-weighted and worst slippage against the NBBO "
            "mid the risk gate saw (positive = worse).",
        ),
        Panel(
            "Slippage over time (bps)",
            "timeseries",
            (SLIPPAGE_OVER_TIME,),
            "Mean slippage of the fills per interval and venue.",
            unit="none",
        ),
        Panel(
            "TCA by venue and side (bps)",
            "table",
            (TCA_BY_VENUE,),
            "Finished orders (tapewire tca): slippage against the arrival mid and the interval "
            "VWAP, and implementation shortfall, as sums of cost over sums of value "
            "(positive = cost; docs/tca.md).",
        ),
        Panel(
            "Latest TCA reports",
            "table",
            (TCA_LATEST,),
            "Per order and per SOR/algo parent (latest revision), newest first; note says why "
            "a figure is missing.",
        ),
        Row("Risk"),
        Panel(
            "Risk denials by rule",
            "timeseries",
            (DENIALS_BY_RULE,),
            "oms.denied per interval by the denying rule.",
            defaults=_STACKED_BARS,
        ),
        Panel(
            "Risk decisions / s (live)",
            "timeseries",
            (
                PromQL(
                    "sum by (decision, rule) (rate(tapewire_risk_decisions_total"
                    "[$__rate_interval]))",
                    "{{decision}} {{rule}}",
                ),
            ),
            "The risk gate's decisions by rule, from Prometheus.",
            unit="ops",
        ),
        Panel(
            "Latest denials",
            "table",
            (DENIALS_LATEST,),
            "Denied requests with the rule and the reason (with the numbers).",
            width=16,
        ),
        Panel(
            "Trading state (live)",
            "stat",
            (PromQL("max by (account) (tapewire_trading_state)", "{{account}}"),),
            "0 ACTIVE, 1 REDUCING, 2 HALTED (account * = global kill switch).",
            width=8,
            defaults={
                "mappings": [
                    {
                        "type": "value",
                        "options": {
                            "0": {"text": "ACTIVE", "color": "green"},
                            "1": {"text": "REDUCING", "color": "orange"},
                            "2": {"text": "HALTED", "color": "red"},
                        },
                    }
                ]
            },
        ),
        Panel("Alerts", "table", (ALERTS,), "Risk, router and positions alerts.", width=24),
    ),
)
