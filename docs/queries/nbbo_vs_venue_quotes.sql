-- Question: how does the consolidated best bid/offer (NBBO) compare with each venue's own
--   quotes, and which venues set it?
--   One row per source: 'NBBO' and each venue. For each: the number of records in the
--   range and the tightest, widest and mean spread in basis points,
--   spread_bps = (ask - bid) * 20000 / (ask + bid) (Decimal, each division truncated to
--   18 places); for venues also how many NBBO records had this venue on the best bid
--   (nbbo_best_bid) and on the best ask (nbbo_best_ask); NULL on the NBBO row.
-- Tables: quotes FINAL, nbbo FINAL (both one row per Kafka record).
-- Time axis: quotes by receive_ts; NBBO records by the receive time of their newest input,
--   greatest(bid_receive_ts, ask_receive_ts) (process_ts is the aggregator's wall clock).
--   Records with an empty side are skipped.
-- Parameters:
--   {instrument:String}          canonical id, e.g. 'BTC-USDT-SPOT'
--   {from:DateTime64(9, 'UTC')}  start of the range, inclusive
--   {to:DateTime64(9, 'UTC')}    end of the range, exclusive
SELECT
    s.source AS source,
    s.records AS records,
    s.min_spread_bps AS min_spread_bps,
    s.max_spread_bps AS max_spread_bps,
    s.mean_spread_bps AS mean_spread_bps,
    b.nbbo_best_bid AS nbbo_best_bid,
    b.nbbo_best_ask AS nbbo_best_ask
FROM
(
    SELECT
        source,
        count() AS records,
        min(spread_bps) AS min_spread_bps,
        max(spread_bps) AS max_spread_bps,
        sum(spread_bps) / toDecimal256(count(), 0) AS mean_spread_bps
    FROM
    (
        SELECT
            toString(venue) AS source,
            toDecimal256(ask_price - bid_price, 18) * 20000
                / toDecimal256(ask_price + bid_price, 18) AS spread_bps
        FROM quotes FINAL
        WHERE instrument = {instrument:String}
          AND receive_ts >= {from:DateTime64(9, 'UTC')} AND receive_ts < {to:DateTime64(9, 'UTC')}
          AND bid_price IS NOT NULL AND ask_price IS NOT NULL
        UNION ALL
        SELECT
            'NBBO' AS source,
            toDecimal256(ask_price - bid_price, 18) * 20000
                / toDecimal256(ask_price + bid_price, 18) AS spread_bps
        FROM nbbo FINAL
        WHERE instrument = {instrument:String}
          AND greatest(bid_receive_ts, ask_receive_ts) >= {from:DateTime64(9, 'UTC')}
          AND greatest(bid_receive_ts, ask_receive_ts) < {to:DateTime64(9, 'UTC')}
          AND bid_price IS NOT NULL AND ask_price IS NOT NULL
    )
    GROUP BY source
) AS s
LEFT JOIN
(
    SELECT
        best.1 AS source,
        toUInt64(sum(best.2)) AS nbbo_best_bid,
        toUInt64(sum(best.3)) AS nbbo_best_ask
    FROM
    (
        SELECT arrayJoin([
            (toString(assumeNotNull(bid_venue)), 1, 0),
            (toString(assumeNotNull(ask_venue)), 0, 1)
        ]) AS best
        FROM nbbo FINAL
        WHERE instrument = {instrument:String}
          AND greatest(bid_receive_ts, ask_receive_ts) >= {from:DateTime64(9, 'UTC')}
          AND greatest(bid_receive_ts, ask_receive_ts) < {to:DateTime64(9, 'UTC')}
          AND bid_price IS NOT NULL AND ask_price IS NOT NULL
    )
    GROUP BY source
) AS b ON s.source = b.source
ORDER BY source = 'NBBO' DESC, source
SETTINGS join_use_nulls = 1
