-- Question: how much do orders slip on each venue, against the arrival mid and against
--   the market's VWAP over each order's life, in basis points (positive = cost)?
--   For the orders that arrived in a time range and got fills, per venue and side: the
--   orders, filled quantity and notional, and both slippages as aggregates of the stored
--   components (so a large order weighs by its size, never a mean of per-order bps):
--     slippage_arrival_bps = sum(execution_cost) * 10000 / sum(filled_qty * arrival_mid)
--     slippage_vwap_bps    = sum(s * (notional - filled_qty * interval_vwap)) * 10000
--                            / sum(filled_qty * interval_vwap),   s = +1 buy, -1 sell
--   each over the orders that have the reference (arrival_mid, interval_vwap not NULL);
--   NULL when none has it.
-- Table: tca FINAL (one row per order; kind = 'ORDER', parents are their own rows).
-- Time axis: arrival_ts (the request time).
-- Exactness: sums and products exact in Decimal256 (a product of two 18-place values has
--   36 places). A ratio of sums is taken as (num * 10^18) / (den * 10^18), both exactly
--   18-place Decimal256 values: ClickHouse divides a Decimal by multiplying the dividend
--   by 10^(the divisor's scale) in 256-bit integers, which overflows silently at 36
--   places; at 18 it does not. The quotient is truncated toward zero at 18 places.
-- Parameters:
--   {from:DateTime64(9, 'UTC')}    start of the range, inclusive (UTC)
--   {to:DateTime64(9, 'UTC')}      end of the range, exclusive (UTC)
SELECT
    venue,
    side,
    count() AS orders,
    sum(filled_qty) AS filled,
    sum(notional) AS filled_notional,
    toDecimal256(sumIf(execution_cost, arrival_mid IS NOT NULL), 18) * 10000 * 1000000000000000000
        / nullIf(toDecimal256(sumIf(toDecimal256(filled_qty, 18) * toDecimal256(arrival_mid, 18),
                                    arrival_mid IS NOT NULL) * 1000000000000000000, 18), 0)
        AS slippage_arrival_bps,
    toDecimal256(sumIf(if(side = 'BUY', 1, -1)
                           * (toDecimal256(notional, 18)
                              - toDecimal256(filled_qty, 18) * toDecimal256(interval_vwap, 18)),
                       interval_vwap IS NOT NULL) * 10000 * 1000000000000000000, 18)
        / nullIf(toDecimal256(sumIf(toDecimal256(filled_qty, 18) * toDecimal256(interval_vwap, 18),
                                    interval_vwap IS NOT NULL) * 1000000000000000000, 18), 0)
        AS slippage_vwap_bps
FROM tca FINAL
WHERE kind = 'ORDER' AND filled_qty > 0
  AND arrival_ts >= {from:DateTime64(9, 'UTC')} AND arrival_ts < {to:DateTime64(9, 'UTC')}
GROUP BY venue, side
ORDER BY venue, side
