-- 0001_trades: the harmonized trade tape, one row per trade printed by a venue.
--
-- Written by the ClickHouse sink from the md.trades Kafka topic; read by analysts,
-- Grafana and backtests. Design notes:
--
-- * Exact numbers: price and size are Decimal(38, 18) (an Int128 with 18 fractional
--   digits), so "0.00000812" as sent by the exchange is stored and returned as exactly
--   0.00000812, and prices up to 10^20 fit. Never Float64 on this path.
-- * Time: UTC, nanoseconds. exchange_ts is the venue's own trade time (what analyses of
--   the market use), receive_ts is when Tapewire's connector received the frame (latency
--   = receive_ts - exchange_ts). Insert them as integer nanoseconds since the epoch and
--   read them exactly with toUnixTimestamp64Nano(); Python datetimes hold only microseconds.
-- * ORDER BY (instrument, venue, exchange_ts, trade_id): nearly every question is "this
--   instrument over this time range" (optionally one venue), which this key answers by
--   reading a contiguous slice. Low-cardinality columns first also compresses best.
-- * ReplacingMergeTree: the ORDER BY key is the row identity. A trade written twice -
--   the sink replaying the same Kafka offsets after a crash, or the same trade
--   re-published - keeps one copy (the last inserted) once parts merge. Until a merge
--   has run both copies may be visible: queries that must be exact read
--   `FROM trades FINAL` (or run OPTIMIZE TABLE trades FINAL first). This requires
--   trade_id to be unique per (venue, instrument); the normalizer synthesizes a
--   deterministic id for venues that send none.
-- * PARTITION BY toYYYYMM(exchange_ts): monthly partitions keep the part count low at
--   any trade rate, prune by time, and make retention/backfill a partition operation
--   (ALTER TABLE trades DROP/REPLACE PARTITION 202401). Duplicates are only collapsed
--   within one partition, which holds because exchange_ts is part of the key.
-- * Kafka provenance (kafka_topic, kafka_partition, kafka_offset) says exactly which
--   record each row came from: the sink's idempotence checks and the "no duplicate, no
--   gap" proofs query it; it is not part of the identity, so the same trade read from two
--   offsets is still one trade.
-- * No DEFAULT now() style columns: a row's content is a function of its Kafka record
--   only, so re-inserting a batch produces byte-identical rows (insert deduplication
--   by block hash or token then works too).

CREATE TABLE IF NOT EXISTS trades
(
    venue LowCardinality(String)
        COMMENT 'exchange id as in ccxt, e.g. binance, coinbase, kraken',
    instrument LowCardinality(String)
        COMMENT 'canonical Tapewire instrument id',
    trade_id String
        COMMENT 'trade id as sent by the venue (or a deterministic synthetic id)',
    price Decimal(38, 18) CODEC(ZSTD(1))
        COMMENT 'trade price in quote currency, exact',
    size Decimal(38, 18) CODEC(ZSTD(1))
        COMMENT 'trade size in base currency (contracts for derivatives), exact',
    side Enum8('unknown' = 0, 'buy' = 1, 'sell' = 2)
        COMMENT 'aggressor (taker) side; unknown when the venue does not say',
    exchange_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1))
        COMMENT 'venue trade time, UTC, ns',
    receive_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1))
        COMMENT 'local receive time of the frame that carried the trade, UTC, ns',
    kafka_topic LowCardinality(String)
        COMMENT 'Kafka topic the row was read from',
    kafka_partition UInt32
        COMMENT 'Kafka partition the row was read from',
    kafka_offset UInt64
        COMMENT 'Kafka offset of the record the row was read from'
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(exchange_ts)
ORDER BY (instrument, venue, exchange_ts, trade_id)
COMMENT 'Harmonized trades from md.trades; one row per (instrument, venue, exchange_ts, trade_id), read with FINAL for exact counts';
