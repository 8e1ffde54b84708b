-- 0002_market_data: every md.* topic as a table, dead letters, and bar roll-ups.
--
-- Conventions shared by all tables (see 0001_trades.sql and docs/sink.md):
-- * Decimal(38, 18) for every price and size, DateTime64(9, 'UTC') for every time
--   (inserted as integer ns), LowCardinality(String) for venue/instrument/channel.
-- * ReplacingMergeTree whose ORDER BY key is the row's identity: a natural id where the
--   data has one (trades, bars, coverage), else the Kafka provenance of the record
--   (topic, partition, offset) behind a time prefix. Any record written twice (sink
--   restarted after SIGKILL, topic replayed) leaves one row after merges; exact reads use
--   FINAL. This is the sink's idempotency guarantee.
-- * non_replicated_deduplication_window: the sink also sends a deterministic
--   insert_deduplication_token per (topic, partition, offset range); ClickHouse honours
--   tokens on non-replicated MergeTree tables ONLY when this setting is > 0 (verified on
--   engine 26.9: without it a repeated token inserts again). With it, a batch replayed
--   after a crash is dropped at insert time, so even reads without FINAL stay exact in
--   the common case. Materialized-view targets need the setting too.
-- * Monthly partitions (toYYYYMM) on the event time; raw frames use daily partitions so
--   the TTL drops whole parts (ttl_only_drop_parts).
-- * Kafka provenance columns on every table: which record each row came from.

ALTER TABLE trades MODIFY SETTING non_replicated_deduplication_window = 10000;

-- md.raw: exchange frames byte for byte (payload is a String = arbitrary bytes).
CREATE TABLE IF NOT EXISTS raw_frames
(
    venue LowCardinality(String) COMMENT 'exchange id as in ccxt',
    connection_id String COMMENT 'connector connection id',
    sequence Int64 COMMENT 'per-connection frame sequence number',
    transport LowCardinality(String) COMMENT 'WEBSOCKET, REST or UNKNOWN',
    origin LowCardinality(String) COMMENT 'LIVE, REPLAY, SIMULATOR or UNKNOWN',
    channel LowCardinality(Nullable(String)) COMMENT 'channel hint, if known',
    symbol Nullable(String) COMMENT 'symbol hint, if known',
    payload String CODEC(ZSTD(3)) COMMENT 'the frame exactly as received (bytes)',
    binary Bool COMMENT 'true when the payload is not text',
    receive_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)) COMMENT 'local receive time, ns',
    request_ts Nullable(DateTime64(9, 'UTC')) COMMENT 'REST request time, ns',
    rest_url Nullable(String),
    rest_status Nullable(Int32),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(receive_ts)
ORDER BY (venue, receive_ts, connection_id, sequence)
TTL toDateTime(receive_ts) + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1
COMMENT 'Raw exchange frames from md.raw, kept 30 days (ALTER TABLE raw_frames MODIFY TTL ... to change)';

-- md.book: L2 snapshots and deltas; levels as arrays of named (price, size) tuples.
CREATE TABLE IF NOT EXISTS book_updates
(
    venue LowCardinality(String),
    instrument LowCardinality(String),
    kind Enum8('SNAPSHOT' = 1, 'DELTA' = 2),
    bids Array(Tuple(price Decimal(38, 18), size Decimal(38, 18)))
        COMMENT 'bid levels; size 0 in a delta removes the level',
    asks Array(Tuple(price Decimal(38, 18), size Decimal(38, 18))),
    depth Nullable(Int32),
    first_sequence Nullable(Int64),
    last_sequence Nullable(Int64),
    prev_sequence Nullable(Int64),
    checksum Nullable(Int64),
    exchange_ts Nullable(DateTime64(9, 'UTC')),
    receive_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    process_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(receive_ts)
ORDER BY (instrument, venue, receive_ts, kafka_topic, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Book snapshots and deltas from md.book; identity = Kafka record; read with FINAL';

-- md.quotes: per-venue best bid/offer.
CREATE TABLE IF NOT EXISTS quotes
(
    venue LowCardinality(String),
    instrument LowCardinality(String),
    bid_price Nullable(Decimal(38, 18)),
    bid_size Nullable(Decimal(38, 18)),
    ask_price Nullable(Decimal(38, 18)),
    ask_size Nullable(Decimal(38, 18)),
    source LowCardinality(String) COMMENT 'VENUE_BBO, BOOK or UNKNOWN',
    exchange_ts Nullable(DateTime64(9, 'UTC')),
    receive_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    process_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(receive_ts)
ORDER BY (instrument, venue, receive_ts, kafka_topic, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Per-venue BBO from md.quotes; identity = Kafka record; read with FINAL';

-- md.bars.<interval>: one table, the interval is a column. A bar revised after late
-- trades comes again with a higher revision: ReplacingMergeTree(revision) keeps it.
CREATE TABLE IF NOT EXISTS bars
(
    venue LowCardinality(String),
    instrument LowCardinality(String),
    interval LowCardinality(String) COMMENT 'e.g. 1s, 1m',
    interval_ns Int64,
    start_ts DateTime64(9, 'UTC'),
    end_ts DateTime64(9, 'UTC'),
    open Decimal(38, 18),
    high Decimal(38, 18),
    low Decimal(38, 18),
    close Decimal(38, 18),
    volume Decimal(38, 18),
    quote_volume Decimal(38, 18),
    vwap Nullable(Decimal(38, 18)),
    trade_count Int64,
    buy_volume Decimal(38, 18),
    sell_volume Decimal(38, 18),
    revision Int32,
    process_ts DateTime64(9, 'UTC'),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(start_ts)
ORDER BY (instrument, venue, interval, start_ts)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'OHLCV bars from md.bars.*; one row per (instrument, venue, interval, start_ts), latest revision wins; read with FINAL';

-- md.nbbo: consolidated best bid/offer per canonical instrument.
CREATE TABLE IF NOT EXISTS nbbo
(
    instrument LowCardinality(String),
    bid_price Nullable(Decimal(38, 18)),
    bid_size Nullable(Decimal(38, 18)),
    bid_venue LowCardinality(Nullable(String)),
    ask_price Nullable(Decimal(38, 18)),
    ask_size Nullable(Decimal(38, 18)),
    ask_venue LowCardinality(Nullable(String)),
    venue_count Int32,
    bid_receive_ts Nullable(DateTime64(9, 'UTC')),
    ask_receive_ts Nullable(DateTime64(9, 'UTC')),
    process_ts DateTime64(9, 'UTC') CODEC(Delta, ZSTD(1)),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(process_ts)
ORDER BY (instrument, process_ts, kafka_topic, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'NBBO from md.nbbo; identity = Kafka record; read with FINAL';

-- md.coverage: periods in which a venue's data is incomplete. A gap reported open
-- (to_ts NULL) and later closed is one row: the later report (higher process_ts) wins.
CREATE TABLE IF NOT EXISTS coverage
(
    venue LowCardinality(String),
    instrument LowCardinality(String),
    channel LowCardinality(String) COMMENT 'trades, book, quotes, ...',
    event Enum8('GAP' = 1, 'RESYNC' = 2),
    from_ts DateTime64(9, 'UTC') COMMENT 'first instant with incomplete data',
    to_ts Nullable(DateTime64(9, 'UTC')) COMMENT 'end of the incomplete period; NULL = still open',
    reason String,
    process_ts DateTime64(9, 'UTC'),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree(process_ts)
PARTITION BY toYYYYMM(from_ts)
ORDER BY (venue, instrument, channel, from_ts, event)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Gaps and resyncs from md.coverage: exclude [from_ts, to_ts) per venue/instrument/channel';

-- dlq.*: records a stage could not process, with the reason.
CREATE TABLE IF NOT EXISTS dead_letters
(
    stage LowCardinality(String),
    source_topic LowCardinality(String),
    source_partition Nullable(Int32),
    source_offset Nullable(Int64),
    key Nullable(String),
    payload String CODEC(ZSTD(3)),
    error_type LowCardinality(String),
    reason String,
    labels Map(String, String),
    failed_ts DateTime64(9, 'UTC'),
    kafka_topic LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(failed_ts)
ORDER BY (stage, failed_ts, kafka_topic, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'Dead letters from dlq.* topics; identity = Kafka record';

-- Coarser bars (1h, 1d) rolled up from stored 1m bars, exact and idempotent.
-- The state is the SET of the 1m bars of the period (groupUniqArray of full tuples, at
-- most 60 or 1440 per group), not running sums: a 1m bar inserted twice (replay) is one
-- set member, so volumes never double, and a revised 1m bar is resolved at read time
-- (highest revision per start_ts). Sums/argMin/argMax states would be exact only without
-- duplicates; max/min alone are idempotent but volumes are not. Read bars_rollup_final.
CREATE TABLE IF NOT EXISTS bars_rollup
(
    venue LowCardinality(String),
    instrument LowCardinality(String),
    interval LowCardinality(String) COMMENT '1h or 1d',
    start_ts DateTime64(9, 'UTC'),
    members AggregateFunction(groupUniqArray, Tuple(
        start_ts DateTime64(9, 'UTC'), revision Int32,
        open Decimal(38, 18), high Decimal(38, 18), low Decimal(38, 18), close Decimal(38, 18),
        volume Decimal(38, 18), quote_volume Decimal(38, 18), trade_count Int64,
        buy_volume Decimal(38, 18), sell_volume Decimal(38, 18)))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(start_ts)
ORDER BY (instrument, venue, interval, start_ts)
SETTINGS non_replicated_deduplication_window = 10000
COMMENT 'State of 1h/1d bars rolled up from 1m bars; read the view bars_rollup_final';

CREATE MATERIALIZED VIEW IF NOT EXISTS bars_rollup_1h_mv TO bars_rollup AS
SELECT venue, instrument, '1h' AS interval,
       toDateTime64(toStartOfHour(start_ts), 9, 'UTC') AS start_ts,
       groupUniqArrayState(CAST((bars.start_ts, revision, open, high, low, close, volume,
           quote_volume, trade_count, buy_volume, sell_volume),
           'Tuple(start_ts DateTime64(9, \'UTC\'), revision Int32, open Decimal(38, 18), high Decimal(38, 18), low Decimal(38, 18), close Decimal(38, 18), volume Decimal(38, 18), quote_volume Decimal(38, 18), trade_count Int64, buy_volume Decimal(38, 18), sell_volume Decimal(38, 18))')) AS members
FROM bars
WHERE interval = '1m'
GROUP BY venue, instrument, start_ts;

CREATE MATERIALIZED VIEW IF NOT EXISTS bars_rollup_1d_mv TO bars_rollup AS
SELECT venue, instrument, '1d' AS interval,
       toDateTime64(toStartOfDay(start_ts), 9, 'UTC') AS start_ts,
       groupUniqArrayState(CAST((bars.start_ts, revision, open, high, low, close, volume,
           quote_volume, trade_count, buy_volume, sell_volume),
           'Tuple(start_ts DateTime64(9, \'UTC\'), revision Int32, open Decimal(38, 18), high Decimal(38, 18), low Decimal(38, 18), close Decimal(38, 18), volume Decimal(38, 18), quote_volume Decimal(38, 18), trade_count Int64, buy_volume Decimal(38, 18), sell_volume Decimal(38, 18))')) AS members
FROM bars
WHERE interval = '1m'
GROUP BY venue, instrument, start_ts;

-- Exact coarse bars: latest revision of every 1m member, then OHLCV over the period.
CREATE VIEW IF NOT EXISTS bars_rollup_final AS
SELECT venue, instrument, interval, start_ts,
       latest[1].open AS open,
       arrayMax(arrayMap(m -> m.high, latest)) AS high,
       arrayMin(arrayMap(m -> m.low, latest)) AS low,
       latest[-1].close AS close,
       arraySum(arrayMap(m -> m.volume, latest)) AS volume,
       arraySum(arrayMap(m -> m.quote_volume, latest)) AS quote_volume,
       arraySum(arrayMap(m -> m.trade_count, latest)) AS trade_count,
       arraySum(arrayMap(m -> m.buy_volume, latest)) AS buy_volume,
       arraySum(arrayMap(m -> m.sell_volume, latest)) AS sell_volume,
       length(latest) AS source_bars
FROM
(
    SELECT venue, instrument, interval, start_ts,
           arraySort(m -> (m.start_ts, m.revision), groupUniqArrayMerge(members)) AS sorted,
           arrayFilter((m, i) -> i = length(sorted) OR sorted[i + 1].start_ts != m.start_ts,
                       sorted, arrayEnumerate(sorted)) AS latest
    FROM bars_rollup
    GROUP BY venue, instrument, interval, start_ts
);
