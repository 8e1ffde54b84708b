-- Question: which trades of an instrument can I trust, i.e. lie outside every period the
--   pipeline marked incomplete for that venue?
--   Returns the trades in [from, to) except those whose exchange_ts falls inside a
--   coverage interval [from_ts, to_ts) of the same venue and instrument (to_ts NULL =
--   still open = everything after from_ts). Use the same anti-join for quotes and books.
-- Tables: trades FINAL, coverage FINAL (FINAL on coverage matters: a gap reported open
--   and later closed is one row, the latest report wins).
-- Channels: every channel counts (a book gap or a disconnect means the venue's stream
--   was interrupted); restrict with `AND channel IN (...)` in the coverage subquery.
-- How: ClickHouse joins on equality only, so the gaps of each (venue, instrument) are
--   gathered into one array of (from_ts, to_ts) per key (a trade of a key without gaps
--   meets an empty array) and a trade is dropped if any interval contains it.
-- Parameters:
--   {instrument:String}     e.g. 'BTC-USDT-SPOT'
--   {from:DateTime64(9, 'UTC')}    start of the range, inclusive (exchange time, UTC)
--   {to:DateTime64(9, 'UTC')}      end of the range, exclusive
SELECT t.venue, t.trade_id, t.exchange_ts, t.price, t.size, t.side
FROM
(
    SELECT venue, instrument, trade_id, exchange_ts, price, size, side
    FROM trades FINAL
    WHERE instrument = {instrument:String}
      AND exchange_ts >= {from:DateTime64(9, 'UTC')} AND exchange_ts < {to:DateTime64(9, 'UTC')}
) AS t
LEFT JOIN
(
    SELECT venue, instrument, groupArray((from_ts, to_ts)) AS gaps
    FROM coverage FINAL
    WHERE instrument = {instrument:String}
    GROUP BY venue, instrument
) AS g ON t.venue = g.venue AND t.instrument = g.instrument
WHERE NOT arrayExists(
    gap -> t.exchange_ts >= gap.1 AND (gap.2 IS NULL OR t.exchange_ts < gap.2), g.gaps
)
ORDER BY t.exchange_ts, t.venue, t.trade_id
