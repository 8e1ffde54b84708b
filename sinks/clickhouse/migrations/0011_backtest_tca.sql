-- 0011_backtest_tca: the TCA reports of a `tapewire backtest` run, tagged with its run_id.
--   backtest_tca   one row per TcaReport the run's TCA stage emitted (order, or parent
--                  revision), in emission order (seq)
-- Same columns and meaning as 0009's tca table (docs/tca.md), without the Kafka provenance;
-- conventions as in 0010: Decimal(38, 18), DateTime64(9, 'UTC') inserted as integer ns,
-- identity (run_id, seq) in a ReplacingMergeTree (a run written twice leaves one copy after
-- merges: read with FINAL). Times are the simulated (market) clock. The report's TCA
-- summary (summary.json "tca") is computed from the same reports; docs/backtest.md has
-- worked queries.

CREATE TABLE IF NOT EXISTS backtest_tca
(
    run_id String,
    seq UInt32 COMMENT 'emission order within the run',
    tca_id String COMMENT 'order:<account>:<client_order_id> or parent:<account>:<parent id>',
    kind LowCardinality(String) COMMENT 'ORDER or PARENT',
    account LowCardinality(String),
    order_id String COMMENT 'client_order_id, or the parent id',
    parent_id Nullable(String),
    venue LowCardinality(Nullable(String)) COMMENT 'NULL for a parent: see venue_mix',
    instrument LowCardinality(String),
    side LowCardinality(String),
    strategy_id LowCardinality(Nullable(String)),
    status LowCardinality(String),
    revision UInt32 COMMENT '0 for an order; 1, 2, ... for a parent (latest wins)',
    children UInt32,
    quantity Nullable(Decimal(38, 18)),
    filled_qty Decimal(38, 18),
    fill_ratio Nullable(Decimal(38, 18)),
    avg_price Nullable(Decimal(38, 18)),
    notional Decimal(38, 18) COMMENT 'sum(price * quantity) of the fills, quote currency',
    arrival_ts DateTime64(9, 'UTC'),
    arrival_mid Nullable(Decimal(38, 18)),
    arrival_source LowCardinality(String) COMMENT 'NBBO, QUOTE, RISK_REFERENCE or NONE',
    arrival_quote_ts Nullable(DateTime64(9, 'UTC')),
    end_ts DateTime64(9, 'UTC'),
    end_mid Nullable(Decimal(38, 18)),
    interval_vwap Nullable(Decimal(38, 18)),
    interval_volume Decimal(38, 18),
    interval_trades UInt32,
    slippage_arrival_bps Nullable(Decimal(38, 18)) COMMENT 'positive = cost',
    slippage_vwap_bps Nullable(Decimal(38, 18)) COMMENT 'positive = cost',
    execution_cost Nullable(Decimal(38, 18)) COMMENT 'quote currency, positive = cost',
    fees_quote Decimal(38, 18),
    opportunity_cost Nullable(Decimal(38, 18)),
    shortfall_bps Nullable(Decimal(38, 18)) COMMENT 'implementation shortfall, positive = cost',
    quote_currency LowCardinality(Nullable(String)),
    fees Map(String, Decimal(38, 18)),
    venue_mix Map(String, Decimal(38, 18)),
    note Nullable(String)
)
ENGINE = ReplacingMergeTree
ORDER BY (run_id, seq)
COMMENT 'Backtest TCA reports (the TCA stage in the replay); one row per report';
