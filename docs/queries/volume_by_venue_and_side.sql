-- Question: how much traded on each venue, split by aggressor side?
--   Per venue, instrument and taker side ('buy', 'sell', 'unknown' when the venue does
--   not say): trade count, volume (base units) and notional (quote units, exact).
-- Table: trades FINAL.
-- Parameters:
--   {from:DateTime64(9, 'UTC')}    start of the range, inclusive (exchange time, UTC)
--   {to:DateTime64(9, 'UTC')}      end of the range, exclusive
SELECT
    venue,
    instrument,
    side,
    count() AS trades,
    sum(size) AS volume,
    sum(toDecimal256(price, 18) * toDecimal256(size, 18)) AS notional
FROM trades FINAL
WHERE exchange_ts >= {from:DateTime64(9, 'UTC')} AND exchange_ts < {to:DateTime64(9, 'UTC')}
GROUP BY venue, instrument, side
ORDER BY venue, instrument, side
