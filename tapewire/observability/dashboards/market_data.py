"""The market data dashboard (ClickHouse): bars, spreads and NBBO, volume, coverage, DLQ.

Every query reads the tables of ``sinks/clickhouse/migrations`` with ``FINAL`` (one row per
Kafka record or natural id, see docs/clickhouse.md) and filters time with the plugin's
macros; prices stay Decimal, spreads are computed in Decimal256 as in docs/queries/.
"""

from __future__ import annotations

from tapewire.observability.dashboards.model import Dashboard, Format, Panel, Row, Sql, Variable

INSTRUMENT = "instrument = ${instrument:singlequote}"

_SPREAD = (
    "toDecimal256(ask_price - bid_price, 18) * 20000 / toDecimal256(ask_price + bid_price, 18)"
)
_NBBO_ROWS = f"""(
    SELECT assumeNotNull(greatest(bid_receive_ts, ask_receive_ts)) AS ts,
           bid_price, ask_price, bid_venue, ask_venue
    FROM nbbo FINAL
    WHERE {INSTRUMENT} AND bid_price IS NOT NULL AND ask_price IS NOT NULL
)"""

CANDLES = Sql(
    f"""SELECT start_ts AS time, open, high, low, close, volume
FROM bars FINAL
WHERE {INSTRUMENT} AND venue = ${{venue:singlequote}}
  AND interval = ${{bar_interval:singlequote}} AND $__timeFilter(start_ts)
ORDER BY time""",
    ("time", "open", "high", "low", "close", "volume"),
)

NBBO_VS_VENUES = Sql(
    f"""SELECT time, series, price
FROM
(
    SELECT $__timeInterval(receive_ts) AS time, concat(venue, ' bid') AS series,
           argMax(assumeNotNull(bid_price), receive_ts) AS price
    FROM quotes FINAL
    WHERE {INSTRUMENT} AND bid_price IS NOT NULL AND $__timeFilter(receive_ts)
    GROUP BY time, series
    UNION ALL
    SELECT $__timeInterval(receive_ts) AS time, concat(venue, ' ask') AS series,
           argMax(assumeNotNull(ask_price), receive_ts) AS price
    FROM quotes FINAL
    WHERE {INSTRUMENT} AND ask_price IS NOT NULL AND $__timeFilter(receive_ts)
    GROUP BY time, series
    UNION ALL
    SELECT $__timeInterval(ts) AS time, arrayJoin(['NBBO bid', 'NBBO ask']) AS series,
           if(series = 'NBBO bid', argMax(assumeNotNull(bid_price), ts),
              argMax(assumeNotNull(ask_price), ts)) AS price
    FROM {_NBBO_ROWS}
    WHERE $__timeFilter(ts)
    GROUP BY time
)
ORDER BY time, series""",
    ("time", "series", "price"),
)

SPREAD_BPS = Sql(
    f"""SELECT time, source, sum(spread_bps) / toDecimal256(count(), 0) AS mean_spread_bps
FROM
(
    SELECT $__timeInterval(receive_ts) AS time, toString(venue) AS source,
           {_SPREAD} AS spread_bps
    FROM quotes FINAL
    WHERE {INSTRUMENT} AND bid_price IS NOT NULL AND ask_price IS NOT NULL
      AND $__timeFilter(receive_ts)
    UNION ALL
    SELECT $__timeInterval(ts) AS time, 'NBBO' AS source, {_SPREAD} AS spread_bps
    FROM {_NBBO_ROWS}
    WHERE $__timeFilter(ts)
)
GROUP BY time, source
ORDER BY time, source""",
    ("time", "source", "mean_spread_bps"),
)

NBBO_SETTERS = Sql(
    f"""SELECT best.1 AS venue, toUInt64(sum(best.2)) AS best_bid, toUInt64(sum(best.3)) AS best_ask
FROM
(
    SELECT arrayJoin([(toString(assumeNotNull(bid_venue)), 1, 0),
                      (toString(assumeNotNull(ask_venue)), 0, 1)]) AS best
    FROM {_NBBO_ROWS}
    WHERE $__timeFilter(ts)
)
GROUP BY venue
ORDER BY venue""",
    ("venue", "best_bid", "best_ask"),
    Format.TABLE,
)

VOLUME_OVER_TIME = Sql(
    f"""SELECT $__timeInterval(exchange_ts) AS time, concat(venue, ' ', toString(side)) AS series,
       sum(size) AS volume
FROM trades FINAL
WHERE {INSTRUMENT} AND $__timeFilter(exchange_ts)
GROUP BY time, series
ORDER BY time, series""",
    ("time", "series", "volume"),
)

VOLUME_TABLE = Sql(
    f"""SELECT venue, side, count() AS trades, sum(size) AS volume,
       sum(toDecimal256(price, 18) * toDecimal256(size, 18)) AS notional
FROM trades FINAL
WHERE {INSTRUMENT} AND $__timeFilter(exchange_ts)
GROUP BY venue, side
ORDER BY venue, side""",
    ("venue", "side", "trades", "volume", "notional"),
    Format.TABLE,
)

FEED_LATENCY = Sql(
    """SELECT $__timeInterval(exchange_ts) AS time, venue,
       quantileExact(0.95)(toUnixTimestamp64Nano(receive_ts) - toUnixTimestamp64Nano(exchange_ts))
           / 1e9 AS p95_seconds
FROM trades FINAL
WHERE $__timeFilter(exchange_ts)
GROUP BY time, venue
ORDER BY time, venue""",
    ("time", "venue", "p95_seconds"),
)

COVERAGE_TIMELINE = Sql(
    """SELECT point.1 AS time, concat(venue, ' ', instrument, ' ', channel) AS series,
       point.2 AS incomplete
FROM coverage FINAL
ARRAY JOIN [(from_ts, 1), (ifNull(to_ts, greatest(from_ts, toDateTime64($__toTime, 9, 'UTC'))), 0)]
    AS point
WHERE event = 'GAP' AND from_ts <= $__toTime AND (to_ts IS NULL OR to_ts >= $__fromTime)
ORDER BY time, series""",
    ("time", "series", "incomplete"),
)

COVERAGE_EVENTS = Sql(
    """SELECT from_ts, to_ts,
       if(to_ts IS NULL, NULL,
          (toUnixTimestamp64Nano(assumeNotNull(to_ts)) - toUnixTimestamp64Nano(from_ts)) / 1e9)
           AS duration_seconds,
       venue, instrument, channel, event, reason
FROM coverage FINAL
WHERE from_ts <= $__toTime AND (to_ts IS NULL OR to_ts >= $__fromTime)
ORDER BY from_ts DESC
LIMIT 500""",
    (
        "from_ts",
        "to_ts",
        "duration_seconds",
        "venue",
        "instrument",
        "channel",
        "event",
        "reason",
    ),
    Format.TABLE,
)

DEAD_LETTERS_OVER_TIME = Sql(
    """SELECT $__timeInterval(failed_ts) AS time, concat(stage, ' ', error_type) AS series,
       count() AS dead_letters
FROM dead_letters FINAL
WHERE $__timeFilter(failed_ts)
GROUP BY time, series
ORDER BY time, series""",
    ("time", "series", "dead_letters"),
)

DEAD_LETTERS_LATEST = Sql(
    """SELECT failed_ts, stage, source_topic, labels['venue'] AS venue, error_type, reason
FROM dead_letters FINAL
WHERE $__timeFilter(failed_ts)
ORDER BY failed_ts DESC
LIMIT 200""",
    ("failed_ts", "stage", "source_topic", "venue", "error_type", "reason"),
    Format.TABLE,
)

_STACKED_BARS = {"custom": {"drawStyle": "bars", "fillOpacity": 80, "stacking": {"mode": "normal"}}}

MARKET_DATA = Dashboard(
    uid="tapewire-market-data",
    title="Tapewire: market data",
    file_name="market-data.json",
    description="Bars, spreads and NBBO against venue quotes, volume by venue and side, "
    "coverage gaps and dead letters, from ClickHouse.",
    variables=(
        Variable(
            "instrument",
            "Instrument",
            Sql("SELECT DISTINCT instrument FROM quotes ORDER BY instrument", ("instrument",)),
        ),
        Variable(
            "venue",
            "Venue (candles)",
            Sql(
                f"SELECT DISTINCT venue FROM bars WHERE {INSTRUMENT} ORDER BY venue",
                ("venue",),
            ),
        ),
        Variable(
            "bar_interval",
            "Bar interval",
            Sql(
                "SELECT interval FROM bars GROUP BY interval ORDER BY min(interval_ns)",
                ("interval",),
            ),
        ),
    ),
    items=(
        Row("Prices"),
        Panel(
            "Candles: $venue $instrument $bar_interval",
            "candlestick",
            (CANDLES,),
            "OHLCV bars from md.bars.* (latest revision of each bar).",
            unit="none",
            width=24,
            height=10,
            options={
                "mode": "candles+volume",
                "candleStyle": "candles",
                "colorStrategy": "open-close",
            },
        ),
        Panel(
            "NBBO against venue quotes",
            "timeseries",
            (NBBO_VS_VENUES,),
            "Last bid and ask of each venue and of the NBBO per interval (NBBO time = "
            "receive time of its newest input).",
            unit="none",
        ),
        Panel(
            "Spread (bps): venues and NBBO",
            "timeseries",
            (SPREAD_BPS,),
            "Mean quoted spread per interval, (ask - bid) / mid * 10000, exact Decimal.",
            unit="none",
        ),
        Panel(
            "Venues setting the NBBO",
            "table",
            (NBBO_SETTERS,),
            "NBBO records in the range with each venue on the best bid and on the best ask.",
            width=8,
        ),
        Panel(
            "Feed latency P95 (exchange to receive)",
            "timeseries",
            (FEED_LATENCY,),
            "95th percentile of receive_ts - exchange_ts of trades, per venue.",
            unit="s",
            width=16,
        ),
        Row("Volume"),
        Panel(
            "Volume by venue and side",
            "timeseries",
            (VOLUME_OVER_TIME,),
            "Traded size (base units) per interval by venue and aggressor side.",
            unit="none",
            defaults=_STACKED_BARS,
        ),
        Panel(
            "Volume by venue and side (totals)",
            "table",
            (VOLUME_TABLE,),
            "Trades, volume and exact notional over the range.",
        ),
        Row("Coverage and dead letters"),
        Panel(
            "Coverage gaps",
            "state-timeline",
            (COVERAGE_TIMELINE,),
            "Per venue/instrument/channel: 1 while data is incomplete (GAP from md.coverage; "
            "an open gap runs to the end of the range).",
            width=24,
            options={"mergeValues": True, "showValue": "never"},
            defaults={
                "mappings": [
                    {
                        "type": "value",
                        "options": {
                            "0": {"text": "complete", "color": "green"},
                            "1": {"text": "GAP", "color": "red"},
                        },
                    }
                ]
            },
        ),
        Panel(
            "Coverage events",
            "table",
            (COVERAGE_EVENTS,),
            "Gaps and resyncs overlapping the range (to_ts empty = still open).",
            width=24,
        ),
        Panel(
            "Dead letters by stage and error",
            "timeseries",
            (DEAD_LETTERS_OVER_TIME,),
            "Records a stage could not process (dlq.* topics), per interval.",
            defaults=_STACKED_BARS,
        ),
        Panel(
            "Latest dead letters",
            "table",
            (DEAD_LETTERS_LATEST,),
            "The most recent dead letters with their reason.",
        ),
    ),
)
