-- 0006_derivatives: md.derivatives (mark price, index price, funding rate per derivative).
--
-- Identity = Kafka record, as for quotes (docs/clickhouse.md); read with FINAL. Funding
-- rates are signed fractions per funding interval (0.0001 = 0.01 %).

CREATE TABLE IF NOT EXISTS derivatives
(
    venue LowCardinality(String),
    instrument LowCardinality(String),
    mark_price Nullable(Decimal(38, 18)),
    index_price Nullable(Decimal(38, 18)),
    funding_rate Nullable(Decimal(38, 18)) COMMENT 'per funding interval, a fraction; may be negative',
    next_funding_ts Nullable(DateTime64(9, 'UTC')),
    exchange_ts Nullable(DateTime64(9, 'UTC')),
    receive_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    process_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    normalizer_version LowCardinality(String) DEFAULT ''
        COMMENT 'normalizer version that wrote the row (tapewire renormalize); empty = live pipeline',
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(receive_ts)
ORDER BY (instrument, venue, receive_ts, kafka_topic, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Mark/index prices and funding rates from md.derivatives; identity = Kafka record; read with FINAL';
