-- Fixes two faults of 0002 (found by tests/integration/test_analyst_queries.py and
-- test_pipeline_clickhouse.py):
-- 1. The 1h/1d roll-up views filtered on `interval`, which their own `'1h' AS interval`
--    alias shadowed, so every row was dropped. They are recreated filtering on
--    `bars.interval`, and the roll-up state is backfilled from the 1m bars already stored
--    (the state is a set of 1m bars, so a backfill that runs twice adds nothing).
-- 2. raw_frames expired rows 30 days after the frame's own receive time, so a replay of an
--    old capture (or a simulator run in the past) was deleted at its first merge. Retention
--    now counts from when the sink stored the row.

DROP VIEW IF EXISTS bars_rollup_1h_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS bars_rollup_1h_mv TO bars_rollup AS
SELECT venue, instrument, '1h' AS interval,
       toDateTime64(toStartOfHour(start_ts), 9, 'UTC') AS start_ts,
       groupUniqArrayState(CAST((bars.start_ts, revision, open, high, low, close, volume,
           quote_volume, trade_count, buy_volume, sell_volume),
           'Tuple(start_ts DateTime64(9, \'UTC\'), revision Int32, open Decimal(38, 18), high Decimal(38, 18), low Decimal(38, 18), close Decimal(38, 18), volume Decimal(38, 18), quote_volume Decimal(38, 18), trade_count Int64, buy_volume Decimal(38, 18), sell_volume Decimal(38, 18))')) AS members
FROM bars
WHERE bars.interval = '1m'
GROUP BY venue, instrument, start_ts;

DROP VIEW IF EXISTS bars_rollup_1d_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS bars_rollup_1d_mv TO bars_rollup AS
SELECT venue, instrument, '1d' AS interval,
       toDateTime64(toStartOfDay(start_ts), 9, 'UTC') AS start_ts,
       groupUniqArrayState(CAST((bars.start_ts, revision, open, high, low, close, volume,
           quote_volume, trade_count, buy_volume, sell_volume),
           'Tuple(start_ts DateTime64(9, \'UTC\'), revision Int32, open Decimal(38, 18), high Decimal(38, 18), low Decimal(38, 18), close Decimal(38, 18), volume Decimal(38, 18), quote_volume Decimal(38, 18), trade_count Int64, buy_volume Decimal(38, 18), sell_volume Decimal(38, 18))')) AS members
FROM bars
WHERE bars.interval = '1m'
GROUP BY venue, instrument, start_ts;

INSERT INTO bars_rollup
SELECT venue, instrument, '1h' AS interval,
       toDateTime64(toStartOfHour(start_ts), 9, 'UTC') AS start_ts,
       groupUniqArrayState(CAST((bars.start_ts, revision, open, high, low, close, volume,
           quote_volume, trade_count, buy_volume, sell_volume),
           'Tuple(start_ts DateTime64(9, \'UTC\'), revision Int32, open Decimal(38, 18), high Decimal(38, 18), low Decimal(38, 18), close Decimal(38, 18), volume Decimal(38, 18), quote_volume Decimal(38, 18), trade_count Int64, buy_volume Decimal(38, 18), sell_volume Decimal(38, 18))')) AS members
FROM bars
WHERE bars.interval = '1m'
GROUP BY venue, instrument, start_ts;

INSERT INTO bars_rollup
SELECT venue, instrument, '1d' AS interval,
       toDateTime64(toStartOfDay(start_ts), 9, 'UTC') AS start_ts,
       groupUniqArrayState(CAST((bars.start_ts, revision, open, high, low, close, volume,
           quote_volume, trade_count, buy_volume, sell_volume),
           'Tuple(start_ts DateTime64(9, \'UTC\'), revision Int32, open Decimal(38, 18), high Decimal(38, 18), low Decimal(38, 18), close Decimal(38, 18), volume Decimal(38, 18), quote_volume Decimal(38, 18), trade_count Int64, buy_volume Decimal(38, 18), sell_volume Decimal(38, 18))')) AS members
FROM bars
WHERE bars.interval = '1m'
GROUP BY venue, instrument, start_ts;

ALTER TABLE raw_frames
    ADD COLUMN IF NOT EXISTS stored_at DateTime('UTC') DEFAULT now()
    COMMENT 'when the sink stored the row; retention counts from here';

ALTER TABLE raw_frames MODIFY TTL stored_at + INTERVAL 30 DAY;
