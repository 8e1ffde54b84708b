-- 0003_trading: the trading audit trail. Every step of an order is a row, keyed so that a
-- record written twice (sink replay) leaves one row after merges (read with FINAL):
--   order_requests  (oms.requests)               who asked what, when
--   risk_decisions  (oms.approved, oms.denied)   which rule decided, why, on what price
--   order_events    (oms.events)                 what the venue said, venue and local times
--   fills           (oms.fills)                  executions with fees and liquidity
--   positions       (positions)                  position/PnL snapshots after each change
--   alerts          (alerts)                     risk, router, positions alerts
-- Conventions as in 0002: Decimal(38, 18), DateTime64(9, 'UTC') inserted as integer ns,
-- enums as LowCardinality(String) (an Avro enum gaining a symbol never breaks an insert),
-- Kafka provenance on every row, deterministic insert tokens honoured
-- (non_replicated_deduplication_window), monthly partitions on the step's own time.

CREATE TABLE IF NOT EXISTS order_requests
(
    client_order_id String COMMENT 'idempotency key, unique per account',
    account LowCardinality(String),
    venue LowCardinality(String) COMMENT 'empty for CANCEL_ALL on all venues',
    instrument LowCardinality(String) COMMENT 'canonical id; empty for CANCEL_ALL on all',
    action LowCardinality(String) COMMENT 'NEW, CANCEL, REPLACE, CANCEL_ALL',
    orig_client_order_id Nullable(String) COMMENT 'order a CANCEL/REPLACE acts on',
    side LowCardinality(String),
    order_type LowCardinality(String),
    time_in_force LowCardinality(String),
    quantity Decimal(38, 18),
    limit_price Nullable(Decimal(38, 18)),
    stop_price Nullable(Decimal(38, 18)),
    trailing_offset Nullable(Decimal(38, 18)),
    trailing_offset_type LowCardinality(Nullable(String)),
    post_only Bool,
    reduce_only Bool,
    expire_ts Nullable(DateTime64(9, 'UTC')),
    strategy_id LowCardinality(Nullable(String)),
    requested_by LowCardinality(String) COMMENT 'who asked: strategy:<id>, cli:<user>, killswitch',
    request_ts DateTime64(9, 'UTC') COMMENT 'when the requester made it, ns',
    tags Map(String, String),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(request_ts)
ORDER BY (account, client_order_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Order requests from oms.requests (strategies, CLI, kill switch); identity = (account, client_order_id)';

CREATE TABLE IF NOT EXISTS risk_decisions
(
    decision_id String COMMENT 'risk:<account>:<client_order_id>:<decision ns>',
    client_order_id String,
    account LowCardinality(String),
    decision LowCardinality(String) COMMENT 'APPROVED or DENIED',
    rule LowCardinality(Nullable(String)) COMMENT 'denying rule; NULL when approved',
    reason Nullable(String) COMMENT 'why, with the numbers',
    rules_evaluated Array(LowCardinality(String)) COMMENT 'in order, up to the denying one',
    trading_state LowCardinality(String),
    reference_price Nullable(Decimal(38, 18)) COMMENT 'NBBO mid the gate saw (arrival mid)',
    reference_ts Nullable(DateTime64(9, 'UTC')),
    decision_ts DateTime64(9, 'UTC'),
    action LowCardinality(String),
    venue LowCardinality(String),
    instrument LowCardinality(String),
    side LowCardinality(String),
    order_type LowCardinality(String),
    quantity Decimal(38, 18),
    limit_price Nullable(Decimal(38, 18)),
    requested_by LowCardinality(String),
    strategy_id LowCardinality(Nullable(String)),
    request_ts DateTime64(9, 'UTC'),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(decision_ts)
ORDER BY (account, client_order_id, decision_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Risk decisions from oms.approved and oms.denied, with the request terms; identity = decision_id';

CREATE TABLE IF NOT EXISTS order_events
(
    event_id String COMMENT '<venue>:<venue_order_id>:<n> (paper) or the venue report id',
    client_order_id String,
    orig_client_order_id Nullable(String),
    venue_order_id Nullable(String),
    account LowCardinality(String),
    venue LowCardinality(String),
    instrument LowCardinality(String),
    side LowCardinality(String),
    order_type LowCardinality(String),
    time_in_force LowCardinality(String),
    status LowCardinality(String) COMMENT 'FIX OrdStatus after the event',
    exec_type LowCardinality(String) COMMENT 'FIX ExecType: why the report was sent',
    quantity Decimal(38, 18),
    limit_price Nullable(Decimal(38, 18)),
    stop_price Nullable(Decimal(38, 18)),
    cum_qty Decimal(38, 18),
    leaves_qty Decimal(38, 18),
    avg_price Nullable(Decimal(38, 18)),
    last_qty Nullable(Decimal(38, 18)),
    last_price Nullable(Decimal(38, 18)),
    exec_id Nullable(String),
    text Nullable(String) COMMENT 'what the venue or router said (reject reason, emulation)',
    emulated Bool,
    venue_ts Nullable(DateTime64(9, 'UTC')) COMMENT 'venue time of the event',
    event_ts DateTime64(9, 'UTC') COMMENT 'local time the event was known',
    strategy_id LowCardinality(Nullable(String)),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_ts)
ORDER BY (account, client_order_id, event_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Execution reports from oms.events; identity = (account, client_order_id, event_id)';

CREATE TABLE IF NOT EXISTS fills
(
    fill_id String COMMENT '<venue>:<exec_id>',
    client_order_id String,
    venue_order_id Nullable(String),
    account LowCardinality(String),
    venue LowCardinality(String),
    instrument LowCardinality(String),
    side LowCardinality(String),
    price Decimal(38, 18),
    quantity Decimal(38, 18),
    fee Decimal(38, 18) COMMENT 'negative = rebate',
    fee_currency LowCardinality(Nullable(String)),
    liquidity LowCardinality(String) COMMENT 'MAKER, TAKER or UNKNOWN',
    venue_ts Nullable(DateTime64(9, 'UTC')),
    receive_ts DateTime64(9, 'UTC'),
    strategy_id LowCardinality(Nullable(String)),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(receive_ts)
ORDER BY (account, venue, fill_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Fills from oms.fills; identity = (account, venue, fill_id)';

CREATE TABLE IF NOT EXISTS positions
(
    account LowCardinality(String),
    venue LowCardinality(String),
    instrument LowCardinality(String),
    quantity Decimal(38, 18) COMMENT 'signed: + long, - short',
    avg_price Nullable(Decimal(38, 18)) COMMENT 'average entry price; NULL when flat',
    realized_pnl Decimal(38, 18),
    unrealized_pnl Decimal(38, 18) COMMENT '(mark - avg) * quantity',
    fees Decimal(38, 18) COMMENT 'fees charged in pnl_currency',
    mark_price Nullable(Decimal(38, 18)) COMMENT 'NBBO mid',
    mark_ts Nullable(DateTime64(9, 'UTC')),
    pnl_currency LowCardinality(String),
    last_fill_id Nullable(String),
    update_ts DateTime64(9, 'UTC'),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(update_ts)
ORDER BY (account, instrument, venue, update_ts, kafka_topic, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Position snapshots from positions (one per change); latest = argMax(..., update_ts)';

CREATE TABLE IF NOT EXISTS alerts
(
    alert_id String,
    severity LowCardinality(String),
    source LowCardinality(String) COMMENT 'risk, router, positions, oms, feeds',
    code LowCardinality(String),
    message String,
    labels Map(String, String),
    event_ts DateTime64(9, 'UTC'),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_ts)
ORDER BY (source, alert_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Alerts from the alerts topic; identity = (source, alert_id)';
