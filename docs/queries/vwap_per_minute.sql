-- Question: what was each instrument's volume-weighted average price, minute by minute,
--   across all venues?
--   Per minute (of exchange time) and instrument: trade count, volume (base units),
--   notional (quote units) and VWAP = sum(price * size) / sum(size).
-- Table: trades FINAL (one row per (instrument, venue, exchange_ts, trade_id)).
-- Exactness: price * size is computed in Decimal256 at scale 36, so the notional is exact;
--   VWAP divides at scale 36 (truncating) and rounds half-even to 18 places, the same
--   rule as the bars' vwap column (truncation at 36 digits cannot fake a tie at the 19th).
-- Parameters:
--   {from:DateTime64(9, 'UTC')}    start of the range, inclusive (UTC)
--   {to:DateTime64(9, 'UTC')}      end of the range, exclusive (UTC)
SELECT
    toStartOfMinute(exchange_ts) AS minute,
    instrument,
    count() AS trades,
    sum(size) AS volume,
    sum(toDecimal256(price, 18) * toDecimal256(size, 18)) AS notional,
    toDecimal128(roundBankers(notional / toDecimal256(volume, 18), 18), 18) AS vwap
FROM trades FINAL
WHERE exchange_ts >= {from:DateTime64(9, 'UTC')} AND exchange_ts < {to:DateTime64(9, 'UTC')}
GROUP BY minute, instrument
ORDER BY minute, instrument
