-- Question: what are the hourly OHLCV bars of an instrument, per venue?
--   Reads the roll-up view bars_rollup_final (interval '1h'), which the materialized view
--   bars_rollup_1h_mv fills from every stored 1m bar: open = first 1m open, close = last
--   1m close, high/low = max/min, volumes and counts = sums; a replayed 1m bar counts
--   once and a revised 1m bar counts in its latest revision (see 0002_market_data.sql).
--   VWAP = quote_volume / volume, rounded half-even to 18 places.
-- Table: bars_rollup_final (a view; no FINAL needed, it resolves duplicates itself).
-- Parameters:
--   {instrument:String}     e.g. 'BTC-USDT-SPOT'
--   {from:DateTime64(9, 'UTC')}    first hour, inclusive (UTC)
--   {to:DateTime64(9, 'UTC')}      end, exclusive
SELECT
    start_ts,
    venue,
    open,
    high,
    low,
    close,
    volume,
    quote_volume,
    toDecimal128(
        roundBankers(toDecimal256(quote_volume, 36) / toDecimal256(volume, 18), 18), 18
    ) AS vwap,
    trade_count,
    buy_volume,
    sell_volume,
    source_bars
FROM bars_rollup_final
WHERE interval = '1h' AND instrument = {instrument:String}
  AND start_ts >= {from:DateTime64(9, 'UTC')} AND start_ts < {to:DateTime64(9, 'UTC')}
ORDER BY start_ts, venue
