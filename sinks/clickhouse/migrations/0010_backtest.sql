-- 0010_backtest: results of `tapewire backtest`, every row tagged with its run_id.
--   backtest_runs           one row per run: config hash and text, params, range, speed
--   backtest_orders         each request with its risk decision (oms.requests + decisions)
--   backtest_order_events   execution reports of the paper venues (oms.events)
--   backtest_fills          executions with fees and liquidity (oms.fills)
--   backtest_positions      every position at each sample time (--interval)
--   backtest_pnl            PnL series per account and currency at each sample time
-- Conventions as in 0002/0003: Decimal(38, 18), DateTime64(9, 'UTC') inserted as integer
-- ns, enums as LowCardinality(String). Identity = (run_id, seq or natural key) in a
-- ReplacingMergeTree: a run written twice (same run_id) leaves one copy after merges
-- (read with FINAL). All times are the simulated (market) clock, except the runs' wall
-- times started_at/finished_at. See docs/backtest.md for worked queries.

CREATE TABLE IF NOT EXISTS backtest_runs
(
    run_id String,
    sweep_id String COMMENT 'the sweep this run belongs to; empty for a single run',
    config_hash String COMMENT 'sha256 of the effective deployment document (sweep values applied)',
    config String COMMENT 'the effective deployment document as JSON',
    params Map(String, String) COMMENT 'sweep values of this run (key path -> value)',
    from_ts DateTime64(9, 'UTC'),
    to_ts DateTime64(9, 'UTC'),
    replay_order LowCardinality(String) COMMENT 'exchange or receive',
    interval_ns Int64 COMMENT 'PnL sampling interval',
    market_events UInt64,
    events_per_s Float64 COMMENT 'market events per second of replay loop (wall time)',
    started_at DateTime64(9, 'UTC') COMMENT 'wall clock',
    finished_at DateTime64(9, 'UTC') COMMENT 'wall clock',
    summary String COMMENT 'summary.json of the report'
)
ENGINE = ReplacingMergeTree
ORDER BY run_id
COMMENT 'Backtest runs (tapewire backtest); one row per run_id';

CREATE TABLE IF NOT EXISTS backtest_orders
(
    run_id String,
    seq UInt32 COMMENT 'request order within the run',
    client_order_id String,
    account LowCardinality(String),
    venue LowCardinality(String),
    instrument LowCardinality(String),
    action LowCardinality(String),
    side LowCardinality(String),
    order_type LowCardinality(String),
    time_in_force LowCardinality(String),
    quantity Decimal(38, 18),
    limit_price Nullable(Decimal(38, 18)),
    strategy_id LowCardinality(Nullable(String)),
    request_ts DateTime64(9, 'UTC'),
    decision LowCardinality(String) COMMENT 'APPROVED, DENIED, or NONE (dead-lettered)',
    rule LowCardinality(Nullable(String)),
    reason Nullable(String),
    reference_price Nullable(Decimal(38, 18)) COMMENT 'arrival mid: the NBBO mid the gate saw',
    decision_ts Nullable(DateTime64(9, 'UTC'))
)
ENGINE = ReplacingMergeTree
ORDER BY (run_id, seq)
COMMENT 'Backtest order requests with their risk decisions';

CREATE TABLE IF NOT EXISTS backtest_order_events
(
    run_id String,
    seq UInt32 COMMENT 'emission order within the run',
    event_id String,
    client_order_id String,
    account LowCardinality(String),
    venue LowCardinality(String),
    instrument LowCardinality(String),
    side LowCardinality(String),
    status LowCardinality(String),
    exec_type LowCardinality(String),
    quantity Decimal(38, 18),
    cum_qty Decimal(38, 18),
    leaves_qty Decimal(38, 18),
    avg_price Nullable(Decimal(38, 18)),
    last_qty Nullable(Decimal(38, 18)),
    last_price Nullable(Decimal(38, 18)),
    text Nullable(String),
    event_ts DateTime64(9, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (run_id, seq)
COMMENT 'Backtest execution reports of the paper venues';

CREATE TABLE IF NOT EXISTS backtest_fills
(
    run_id String,
    seq UInt32,
    fill_id String,
    client_order_id String,
    account LowCardinality(String),
    venue LowCardinality(String),
    instrument LowCardinality(String),
    side LowCardinality(String),
    price Decimal(38, 18),
    quantity Decimal(38, 18),
    fee Decimal(38, 18),
    fee_currency LowCardinality(Nullable(String)),
    liquidity LowCardinality(String),
    receive_ts DateTime64(9, 'UTC'),
    strategy_id LowCardinality(Nullable(String))
)
ENGINE = ReplacingMergeTree
ORDER BY (run_id, seq)
COMMENT 'Backtest fills';

CREATE TABLE IF NOT EXISTS backtest_positions
(
    run_id String,
    ts DateTime64(9, 'UTC') COMMENT 'sample time',
    account LowCardinality(String),
    venue LowCardinality(String),
    instrument LowCardinality(String),
    quantity Decimal(38, 18),
    avg_price Nullable(Decimal(38, 18)),
    realized_pnl Decimal(38, 18),
    unrealized_pnl Decimal(38, 18),
    fees Decimal(38, 18),
    mark_price Nullable(Decimal(38, 18)),
    pnl_currency LowCardinality(String)
)
ENGINE = ReplacingMergeTree
ORDER BY (run_id, ts, account, venue, instrument)
COMMENT 'Backtest positions at each sample time';

CREATE TABLE IF NOT EXISTS backtest_pnl
(
    run_id String,
    ts DateTime64(9, 'UTC') COMMENT 'sample time',
    account LowCardinality(String),
    currency LowCardinality(String),
    realized_pnl Decimal(38, 18),
    unrealized_pnl Decimal(38, 18),
    fees Decimal(38, 18),
    total_pnl Decimal(38, 18) COMMENT 'realized + unrealized - fees',
    drawdown Decimal(38, 18) COMMENT 'fall from the running peak of total_pnl'
)
ENGINE = ReplacingMergeTree
ORDER BY (run_id, ts, account, currency)
COMMENT 'Backtest PnL series per account and currency';
