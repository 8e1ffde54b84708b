-- 0009_tca: transaction cost analysis, one row per report on the tca topic (docs/tca.md).
--
-- An order's report is written once, when the order is done (terminal report and all its
-- fills); a parent's (SOR/algo) is re-issued with revision + 1 each time all its known
-- children are done. The identity is (account, kind, order_id); ReplacingMergeTree(revision)
-- keeps the latest revision of a parent and one copy of a replayed record: read with FINAL.
-- ORDER BY starts with the account (every report query filters by it), then kind and id.
-- Monthly partitions on the arrival time (a parent's rows stay in its first child's month).
-- Conventions as in 0003: Decimal(38, 18) (bps and costs are exact, rounded once half-even
-- at 18 places by the stage), DateTime64(9, 'UTC') inserted as integer ns, Kafka
-- provenance last, deterministic insert tokens honoured.

CREATE TABLE IF NOT EXISTS tca
(
    tca_id String COMMENT 'order:<account>:<client_order_id> or parent:<account>:<parent id>',
    kind LowCardinality(String) COMMENT 'ORDER or PARENT',
    account LowCardinality(String),
    order_id String COMMENT 'client_order_id, or the parent id',
    parent_id Nullable(String) COMMENT 'an order''s sor.parent / algo.parent tag',
    venue LowCardinality(Nullable(String)) COMMENT 'NULL for a parent: see venue_mix',
    instrument LowCardinality(String),
    side LowCardinality(String),
    strategy_id LowCardinality(Nullable(String)),
    status LowCardinality(String) COMMENT 'order: terminal OrdStatus; parent: FILLED, PARTIALLY_FILLED, UNFILLED',
    revision UInt32 COMMENT '0 for an order; 1, 2, ... for a parent (latest wins)',
    children UInt32 COMMENT 'child orders a parent report covers',
    quantity Nullable(Decimal(38, 18)) COMMENT 'NULL: a parent without its quantity tag',
    filled_qty Decimal(38, 18),
    fill_ratio Nullable(Decimal(38, 18)),
    avg_price Nullable(Decimal(38, 18)),
    notional Decimal(38, 18) COMMENT 'sum(price * quantity) of the fills, quote currency',
    arrival_ts DateTime64(9, 'UTC') COMMENT 'request time (a parent: its first child''s)',
    arrival_mid Nullable(Decimal(38, 18)) COMMENT 'mid at or before arrival; NULL = none seen',
    arrival_source LowCardinality(String) COMMENT 'NBBO, QUOTE, RISK_REFERENCE or NONE',
    arrival_quote_ts Nullable(DateTime64(9, 'UTC')) COMMENT 'time of the data behind arrival_mid',
    end_ts DateTime64(9, 'UTC') COMMENT 'last fill or terminal report',
    end_mid Nullable(Decimal(38, 18)),
    interval_vwap Nullable(Decimal(38, 18)) COMMENT 'market VWAP from arrival to end, every venue',
    interval_volume Decimal(38, 18),
    interval_trades UInt32,
    slippage_arrival_bps Nullable(Decimal(38, 18)) COMMENT 'positive = cost',
    slippage_vwap_bps Nullable(Decimal(38, 18)) COMMENT 'positive = cost',
    execution_cost Nullable(Decimal(38, 18)) COMMENT 'quote currency, positive = cost',
    fees_quote Decimal(38, 18) COMMENT 'fees in quote currency (quote and base currency fees)',
    opportunity_cost Nullable(Decimal(38, 18)) COMMENT 'unfilled quantity at end mid - arrival mid',
    shortfall_bps Nullable(Decimal(38, 18)) COMMENT 'implementation shortfall, positive = cost',
    quote_currency LowCardinality(Nullable(String)),
    fees Map(String, Decimal(38, 18)) COMMENT 'fees per currency as reported (negative = rebate)',
    venue_mix Map(String, Decimal(38, 18)) COMMENT 'share of filled_qty per venue',
    note Nullable(String) COMMENT 'why a figure is NULL or partial',
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(arrival_ts)
ORDER BY (account, kind, order_id)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'TCA reports from the tca topic; identity = (account, kind, order_id), latest revision wins';
