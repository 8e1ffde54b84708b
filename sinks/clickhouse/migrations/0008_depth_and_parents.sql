-- 0008_depth_and_parents: the consolidated depth (md.depth) and parent orders
-- (oms.parent_requests, oms.parent_events) of the smart order router and execution algos.

-- md.depth: top N levels per venue of one consolidated instrument, fee-adjusted. One row
-- per published snapshot; each level keeps its venue, the venue's instrument, the book
-- price and the effective (taker-fee-adjusted) price. Sides are sorted best effective
-- price first, so bids[1] / asks[1] are the best places to sell / buy after fees.
CREATE TABLE IF NOT EXISTS consolidated_depth
(
    instrument LowCardinality(String) COMMENT 'consolidated id (quote group applied)',
    levels Int32 COMMENT 'levels per venue and side (N)',
    bids Array(Tuple(venue String, instrument String, price Decimal(38, 18),
        size Decimal(38, 18), effective_price Decimal(38, 18)))
        COMMENT 'every live venue''s best N bids, best effective price (bid x (1 - taker fee)) first',
    asks Array(Tuple(venue String, instrument String, price Decimal(38, 18),
        size Decimal(38, 18), effective_price Decimal(38, 18)))
        COMMENT 'every live venue''s best N asks, best effective price (ask x (1 + taker fee)) first',
    venue_count Int32,
    receive_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1))
        COMMENT 'receive time of the newest book update in the snapshot',
    process_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(receive_ts)
ORDER BY (instrument, receive_ts, kafka_topic, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Consolidated depth snapshots from md.depth; identity = Kafka record; read with FINAL';

CREATE TABLE IF NOT EXISTS parent_requests
(
    parent_id String,
    account LowCardinality(String),
    action LowCardinality(String) COMMENT 'NEW or CANCEL',
    algo LowCardinality(String) COMMENT 'SOR, or an execution algo',
    instrument LowCardinality(String),
    side LowCardinality(String),
    quantity Decimal(38, 18),
    limit_price Nullable(Decimal(38, 18)),
    venues Array(String) COMMENT 'allowed venues; empty = all',
    params Map(String, String),
    strategy_id LowCardinality(Nullable(String)),
    requested_by String,
    request_ts DateTime64(9, 'UTC'),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(request_ts)
ORDER BY (account, parent_id, request_ts, kafka_topic, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Parent orders and their cancels from oms.parent_requests; identity = Kafka record';

CREATE TABLE IF NOT EXISTS parent_events
(
    event_id String COMMENT '<parent_id>:<n>',
    parent_id String,
    account LowCardinality(String),
    algo LowCardinality(String),
    instrument LowCardinality(String),
    side LowCardinality(String),
    event_type LowCardinality(String)
        COMMENT 'ParentNew, ChildrenRouted, ChildFilled, ChildDone, CancelRequested',
    event String COMMENT 'the event as the algo''s JSON (the journal)',
    status LowCardinality(String) COMMENT 'FIX OrdStatus of the parent after the event',
    quantity Decimal(38, 18),
    limit_price Nullable(Decimal(38, 18)),
    cum_qty Decimal(38, 18),
    leaves_qty Decimal(38, 18),
    avg_price Nullable(Decimal(38, 18)) COMMENT 'FIX AvgPx over the children, no fees',
    avg_price_with_fees Nullable(Decimal(38, 18)),
    children Int32,
    open_children Int32,
    waves Int32,
    strategy_id LowCardinality(Nullable(String)),
    event_ts DateTime64(9, 'UTC'),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_ts)
ORDER BY (account, parent_id, event_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Parent order events with the state after each, from oms.parent_events; identity = (account, parent_id, event_id)';
