-- Question: what do fees cost on each venue, per fee currency, and what share of the
--   execution cost are they?
--   Fills of the orders TCA has reported (fills FINAL joined to tca FINAL, kind = 'ORDER')
--   received in a time range, per venue, quote and fee currency: the fills, notional
--   sum(price * quantity), fees sum(fee) (negative = rebate), fee_bps = fees * 10000 /
--   notional when the fees are in the instrument's quote currency (NULL otherwise: a BNB
--   fee is not a share of a USDT notional), and per venue (same value on each of its rows)
--     fee_share = sum(fees_quote) / sum(execution_cost + fees_quote + opportunity_cost)
--   over its orders with an arrival mid: the part of the implementation shortfall that is
--   fees (above 1 when the fills beat the arrival mid; NULL when the cost is 0 or the
--   venue has no such order: LEFT JOIN onto a Nullable column gives NULL).
-- Tables: fills FINAL, tca FINAL.
-- Time axis: fills.receive_ts for the fills; the fee share is over the same orders.
-- Exactness: as tca_slippage_by_venue.sql (exact sums, ratios truncated at 18 places).
-- Parameters:
--   {from:DateTime64(9, 'UTC')}    start of the range, inclusive (UTC)
--   {to:DateTime64(9, 'UTC')}      end of the range, exclusive (UTC)
WITH
    orders AS
    (
        SELECT account, order_id, quote_currency, execution_cost, fees_quote,
               opportunity_cost, arrival_mid
        FROM tca FINAL
        WHERE kind = 'ORDER'
    ),
    venue_fills AS
    (
        SELECT f.venue AS venue, f.fee_currency AS fee_currency, f.account AS account,
               f.client_order_id AS client_order_id,
               toDecimal256(f.price, 18) * toDecimal256(f.quantity, 18) AS notional,
               f.fee AS fee, o.quote_currency AS quote_currency
        FROM fills AS f FINAL
        INNER JOIN orders AS o ON f.account = o.account AND f.client_order_id = o.order_id
        WHERE f.receive_ts >= {from:DateTime64(9, 'UTC')} AND f.receive_ts < {to:DateTime64(9, 'UTC')}
    ),
    shares AS
    (
        SELECT venue,
               toDecimal256(sum(o.fees_quote), 18)
                   / nullIf(toDecimal256(sum(assumeNotNull(o.execution_cost) + o.fees_quote
                                             + ifNull(o.opportunity_cost, 0)), 18), 0)
                   AS fee_share
        FROM (SELECT DISTINCT venue, account, client_order_id FROM venue_fills) AS v
        INNER JOIN orders AS o ON v.account = o.account AND v.client_order_id = o.order_id
        WHERE o.arrival_mid IS NOT NULL
        GROUP BY venue
    )
SELECT
    vf.venue AS venue,
    vf.quote_currency AS quote_currency,
    vf.fee_currency AS fee_currency,
    count() AS fills,
    sum(vf.notional) AS filled_notional,
    sum(vf.fee) AS fees,
    if(vf.fee_currency = vf.quote_currency,
       toDecimal256(sum(vf.fee), 18) * 10000 * 1000000000000000000
           / nullIf(toDecimal256(sum(vf.notional) * 1000000000000000000, 18), 0),
       NULL) AS fee_bps,
    any(s.fee_share) AS fee_share
FROM venue_fills AS vf
LEFT JOIN shares AS s ON vf.venue = s.venue
GROUP BY vf.venue, vf.quote_currency, vf.fee_currency
ORDER BY venue, quote_currency, fee_currency NULLS FIRST
