-- Question: what would taking {quantity} of an instrument cost at a given moment, routed
--   across every venue of the consolidated depth (best fee-adjusted levels first, as the
--   smart order router does) versus on each venue alone?
--   One row per route: 'ALL' (every venue) and each venue of the snapshot. filled is what
--   the snapshot's visible levels give (at most {quantity}); cost the sum of
--   take x effective_price (taker fee included); avg_effective_price = cost / filled
--   (truncated to 18 places, NULL when nothing fills); complete = 1 when filled = quantity;
--   vs_all_bps = how much worse the route's average is than ALL's, in basis points
--   (buys: (avg - all) / all x 10000, sells: (all - avg) / all x 10000), NULL unless both
--   fill completely.
-- Tables: consolidated_depth FINAL (one row per md.depth snapshot; each side is sorted
--   best effective price first, so the walk takes the array in order).
-- Time axis: the latest snapshot with receive_ts <= {at}; no snapshot: no rows.
-- Parameters:
--   {instrument:String}           consolidated id, e.g. 'BTC-USDT-SPOT'
--   {side:String}                 'BUY' (walks the asks) or 'SELL' (walks the bids)
--   {quantity:Decimal(38, 18)}    quantity to take, in base units
--   {at:DateTime64(9, 'UTC')}     the moment, inclusive
SELECT
    route,
    filled,
    cost,
    avg_effective_price,
    complete,
    if(
        complete AND all_complete,
        toDecimal256(
            if({side:String} = 'BUY', avg_effective_price - all_avg, all_avg - avg_effective_price),
            18
        ) * 10000 / toDecimal256(all_avg, 18),
        NULL
    ) AS vs_all_bps
FROM
(
    SELECT
        route,
        toDecimal128(arraySum(takes), 18) AS filled,
        toDecimal128(arraySum(arrayMap((t, l) -> t * toDecimal256(l.5, 18), takes, levels)), 18)
            AS cost,
        if(filled > 0, toDecimal128(toDecimal256(cost, 18) / toDecimal256(filled, 18), 18), NULL)
            AS avg_effective_price,
        toUInt8(filled = {quantity:Decimal(38, 18)}) AS complete,
        anyIf(avg_effective_price, route = 'ALL') OVER () AS all_avg,
        anyIf(complete, route = 'ALL') OVER () AS all_complete
    FROM
    (
        SELECT
            route,
            arrayFilter(l -> route = 'ALL' OR l.1 = route, book) AS levels,
            arrayMap(l -> toDecimal256(l.4, 18), levels) AS sizes,
            arrayMap(
                (s, c) -> least(s, greatest(toDecimal256({quantity:Decimal(38, 18)}, 18) - (c - s),
                    toDecimal256(0, 18))),
                sizes,
                arrayCumSum(sizes)
            ) AS takes
        FROM
        (
            SELECT if({side:String} = 'BUY', asks, bids) AS book
            FROM consolidated_depth FINAL
            WHERE instrument = {instrument:String}
              AND receive_ts <= {at:DateTime64(9, 'UTC')}
            ORDER BY receive_ts DESC, kafka_topic DESC, kafka_partition DESC, kafka_offset DESC
            LIMIT 1
        )
        ARRAY JOIN arrayConcat(['ALL'], arraySort(arrayDistinct(arrayMap(l -> l.1, book))))
            AS route
    )
)
ORDER BY route != 'ALL', route
