-- Question: how wide is each venue's quoted spread over time, in basis points?
--   For one instrument and a time range, per time bucket and venue: the number of BBO
--   quotes, the tightest, widest and mean spread, where
--   spread_bps = (ask - bid) / mid * 10000 = (ask - bid) * 20000 / (ask + bid).
-- Table: quotes FINAL (per-venue BBO; FINAL = exactly one row per Kafka record).
-- Time axis: receive_ts (local receive time; quotes from venues without a BBO timestamp
--   have exchange_ts NULL). Quotes with an empty side (bid or ask NULL) are skipped.
-- Exactness: Decimal arithmetic in Decimal256; each division truncates to 18 decimal
--   places (ClickHouse Decimal division), the mean is sum / count, truncated the same way.
-- Parameters:
--   {instrument:String}     canonical id, e.g. 'BTC-USDT-SPOT'
--   {from:DateTime64(9, 'UTC')}    start of the range, inclusive (UTC)
--   {to:DateTime64(9, 'UTC')}      end of the range, exclusive (UTC)
--   {bucket_s:UInt32}       bucket width in seconds, e.g. 60
SELECT
    toStartOfInterval(receive_ts, toIntervalSecond({bucket_s:UInt32})) AS bucket,
    venue,
    count() AS quotes,
    min(spread_bps) AS min_spread_bps,
    max(spread_bps) AS max_spread_bps,
    sum(spread_bps) / toDecimal256(count(), 0) AS mean_spread_bps
FROM
(
    SELECT
        receive_ts,
        venue,
        toDecimal256(ask_price - bid_price, 18) * 20000
            / toDecimal256(ask_price + bid_price, 18) AS spread_bps
    FROM quotes FINAL
    WHERE instrument = {instrument:String}
      AND receive_ts >= {from:DateTime64(9, 'UTC')} AND receive_ts < {to:DateTime64(9, 'UTC')}
      AND bid_price IS NOT NULL AND ask_price IS NOT NULL
)
GROUP BY bucket, venue
ORDER BY bucket, venue
