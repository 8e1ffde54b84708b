-- Question: what did one venue's order book look like at instant T (top N levels)?
--   Rebuilds the book from book_updates as stored: the latest SNAPSHOT received at or
--   before T, then every DELTA after it up to T, applied in stream order. For each
--   (side, price) the last update wins (within one update, the later array element);
--   size 0 removes the level. Returns the best
--   {levels} bids (highest first) and asks (lowest first) with their 1-based level.
-- Table: book_updates FINAL (snapshots and deltas, one row per Kafka record).
-- Order: the Kafka offset. The normalizer publishes one book's updates in order on one
--   partition (key = venue:instrument), so (kafka_partition, kafka_offset) is the
--   authoritative order; receive_ts only bounds the window [snapshot, T].
-- Coverage: if the book had a gap, the normalizer publishes nothing until its resync
--   snapshot, so a T inside a gap returns the book as of before the gap; check the
--   coverage table (channel 'book') to know whether T is inside one.
-- Parameters:
--   {venue:String}          e.g. 'binance'
--   {instrument:String}     e.g. 'BTC-USDT-SPOT'
--   {at:DateTime64(9, 'UTC')}      the instant T (UTC), inclusive
--   {levels:UInt16}         levels per side, e.g. 10
WITH
    (
        SELECT max((kafka_partition, kafka_offset))
        FROM book_updates FINAL
        WHERE venue = {venue:String} AND instrument = {instrument:String}
          AND kind = 'SNAPSHOT' AND receive_ts <= {at:DateTime64(9, 'UTC')}
    ) AS snapshot_pos
SELECT side, level, price, size
FROM
(
    SELECT
        side,
        price,
        size,
        row_number() OVER (
            PARTITION BY side ORDER BY if(side = 'bid', -price, price)
        ) AS level
    FROM
    (
        SELECT side, price, argMax(size, pos) AS size
        FROM
        (
            SELECT
                arrayJoin(arrayConcat(
                    arrayMap((l, i) -> ('bid', l.price, l.size, i), bids, arrayEnumerate(bids)),
                    arrayMap((l, i) -> ('ask', l.price, l.size, i), asks, arrayEnumerate(asks))
                )) AS level_update,
                level_update.1 AS side,
                level_update.2 AS price,
                level_update.3 AS size,
                (kafka_partition, kafka_offset, level_update.4) AS pos
            FROM book_updates FINAL
            WHERE venue = {venue:String} AND instrument = {instrument:String}
              AND receive_ts <= {at:DateTime64(9, 'UTC')}
              AND (kafka_partition, kafka_offset) >= snapshot_pos
        )
        GROUP BY side, price
        HAVING size > 0
    )
)
WHERE level <= {levels:UInt16}
ORDER BY side = 'ask', level
