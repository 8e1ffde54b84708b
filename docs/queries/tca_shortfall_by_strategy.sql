-- Question: what does each strategy's execution cost, as implementation shortfall in basis
--   points of the paper value (positive = cost), and how much of what it asked for fills?
--   For the reports that arrived in a time range, per strategy (NULL = manual orders),
--   instrument and kind (ORDER, or PARENT for SOR/algo parents): the reports, notional,
--   fill ratio = sum(filled_qty) / sum(quantity) (over reports with a quantity), and
--     shortfall_bps = sum(execution_cost + fees_quote + opportunity_cost) * 10000
--                     / sum(quantity * arrival_mid)
--   over the reports with an arrival mid (a parent without its quantity tag counts its
--   filled quantity and no opportunity cost, as its own shortfall does: docs/tca.md).
-- Table: tca FINAL (one row per order, the latest revision of a parent).
-- Time axis: arrival_ts.
-- Exactness: as tca_slippage_by_venue.sql (exact sums, ratios truncated at 18 places).
-- Parameters:
--   {from:DateTime64(9, 'UTC')}    start of the range, inclusive (UTC)
--   {to:DateTime64(9, 'UTC')}      end of the range, exclusive (UTC)
SELECT
    strategy_id,
    instrument,
    kind,
    count() AS reports,
    sum(notional) AS filled_notional,
    toDecimal256(sumIf(filled_qty, quantity IS NOT NULL), 18)
        / nullIf(toDecimal256(sumIf(assumeNotNull(quantity), quantity IS NOT NULL), 18), 0)
        AS fill_ratio,
    toDecimal256(sumIf(assumeNotNull(execution_cost) + fees_quote + ifNull(opportunity_cost, 0),
                       arrival_mid IS NOT NULL), 18) * 10000 * 1000000000000000000
        / nullIf(toDecimal256(sumIf(toDecimal256(ifNull(quantity, filled_qty), 18)
                                        * toDecimal256(arrival_mid, 18),
                                    arrival_mid IS NOT NULL) * 1000000000000000000, 18), 0)
        AS shortfall_bps
FROM tca FINAL
WHERE arrival_ts >= {from:DateTime64(9, 'UTC')} AND arrival_ts < {to:DateTime64(9, 'UTC')}
GROUP BY strategy_id, instrument, kind
ORDER BY strategy_id NULLS FIRST, instrument, kind
