"""Checks of the TCA queries in ``docs/queries/tca_*.sql`` (registered in
``test_analyst_queries.CHECKS``): seeded through the real TCA core, compared with Python.

The seed runs a seeded random set of orders (two venues, two instruments, three strategies
and manual orders, buys and sells, partial fills and cancels, fees in quote, base and BNB,
one order without any market data, one SOR parent over two waves) through
:class:`~tapewire.streams.tca.TcaEngine` with market data, inserts its reports (``tca``) and
the fills (``oms.fills``) through the codec and the sink's row mapping, and inserts some
reports twice (a replayed chunk). The parent's first revision is stored too, so only
``FINAL`` (ReplacingMergeTree(revision)) gives its latest report.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from clickhouse_connect.driver.client import Client

from tapewire.records.tca import TcaReport
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.query import run_sql
from tapewire.sinks.clickhouse.rows import mapping_for_topic
from tapewire.streams.tca import TcaEngine
from tests.factories.market import nbbo, trade
from tests.factories.orders import approval, order_event, order_request
from tests.factories.trading import fill

T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
S = 1_000_000_000
MID = {"BTC-USDT-SPOT": Decimal("65000"), "ETH-USDT-SPOT": Decimal("3500")}
BASE = {"BTC-USDT-SPOT": "BTC", "ETH-USDT-SPOT": "ETH"}
STRATEGIES = ("mm", "twap", "xspread", None)
CODEC = Codec()


@dataclass
class TcaSeed:
    """The latest report per identity and every fill, as inserted."""

    reports: list[TcaReport] = field(default_factory=list)
    fills: list[dict[str, Any]] = field(default_factory=list)


def _trunc18(value: Fraction) -> Decimal:
    n = abs(value.numerator) * 10**18 // value.denominator
    return Decimal(n if value >= 0 else -n).scaleb(-18)


def _ratio(num: Fraction, den: Fraction) -> Decimal | None:
    return None if den == 0 else _trunc18(num / den)


def _orders(rng: random.Random, tca: TcaEngine, seed: TcaSeed, out: list[TcaReport]) -> None:
    mids = dict(MID)
    for i in range(40):
        ts = T0 + i * 3 * S
        instrument = rng.choice(sorted(MID))
        mids[instrument] += Decimal(rng.randrange(-300, 301)).scaleb(-2)
        half = Decimal(rng.randrange(1, 50)).scaleb(-2)
        if i != 17:  # order 17 arrives with no market data for its instrument yet
            tca.on_nbbo(
                nbbo(mids[instrument] - half, mids[instrument] + half, ts=ts, instrument=instrument)
            )
        side = rng.choice(("BUY", "SELL"))
        venue = rng.choice(("binance", "okx"))
        qty = Decimal(rng.randrange(1, 400)).scaleb(-3)
        cid = f"o{i}"
        strategy = rng.choice(STRATEGIES)
        request = order_request(
            cid,
            venue=venue,
            instrument=instrument if i != 17 else "SOL-USDT-SPOT",
            side=side,
            qty=qty,
            ts=ts + 1,
            strategy_id=strategy,
        )
        out += tca.on_approved(approval(cid, request=request, reference_price=None))
        for k in range(rng.randrange(0, 6)):
            price = mids[instrument] + Decimal(rng.randrange(-500, 501)).scaleb(-2)
            tca.on_trade(
                trade(
                    price,
                    Decimal(rng.randrange(1, 900)).scaleb(-3),
                    ts=ts + 10 + k,
                    instrument=instrument,
                    venue=rng.choice(("binance", "okx")),
                )
            )
        filled = Decimal(0)
        for k in range(rng.randrange(0, 3)):
            part = (
                qty
                if k == 1
                else (qty * Decimal(rng.randrange(1, 10)) / 10).quantize(Decimal("0.0001"))
            )
            part = min(part, qty - filled)
            if part <= 0:
                break
            price = mids[instrument] + Decimal(rng.randrange(-300, 301)).scaleb(-2)
            currency = rng.choice(("USDT", BASE[instrument], "BNB"))
            fee = (price * part * Decimal("0.001")).quantize(Decimal("0.00000001"))
            if currency == BASE[instrument]:
                fee = (part * Decimal("0.001")).quantize(Decimal("0.00000001"))
            record = fill(
                f"f{i}-{k}",
                side,
                price,
                part,
                fee=fee,
                cid=cid,
                venue=venue,
                instrument=request.instrument,
                ts=ts + 20 + k,
                fee_currency=currency,
            )
            seed.fills.append(dict(record))
            out += tca.on_fill(record)
            filled += part
        status = "FILLED" if filled == qty else "CANCELED"
        out += tca.on_event(
            order_event(
                cid,
                status,
                2,
                exec_type="TRADE" if filled == qty else "CANCELED",
                venue=venue,
                instrument=request.instrument,
                side=side,
                quantity=qty,
                cum_qty=filled,
                leaves_qty=Decimal(0),
                event_ts_ns=ts + 30,
                strategy_id=strategy,
            )
        )


def _parent(tca: TcaEngine, seed: TcaSeed, out: list[TcaReport]) -> None:
    ts = T0 + 200 * S
    instrument = "BTC-USDT-SPOT"
    tca.on_nbbo(nbbo("65000", "65001", ts=ts, instrument=instrument))
    tags = {"sor.parent": "P1", "sor.parent_qty": "0.5"}
    waves = [
        [("P1:c1", "binance", "0.2", "65001.5"), ("P1:c2", "okx", "0.2", "65002")],
        [("P1:c3", "binance", "0.1", "65003")],
    ]
    for w, wave in enumerate(waves):
        for cid, venue, qty, _price in wave:
            request = order_request(
                cid, venue=venue, qty=qty, ts=ts + w, strategy_id="sor", tags=tags
            )
            out += tca.on_approved(approval(cid, request=request, reference_price=None))
        for cid, venue, qty, price in wave:
            record = fill(
                f"{cid}-f", "BUY", price, qty, fee="0.01", cid=cid, venue=venue, ts=ts + w + 1
            )
            seed.fills.append(dict(record))
            out += tca.on_fill(record)
            out += tca.on_event(
                order_event(
                    cid,
                    "FILLED",
                    2,
                    exec_type="TRADE",
                    venue=venue,
                    quantity=Decimal(qty),
                    cum_qty=Decimal(qty),
                    leaves_qty=Decimal(0),
                    event_ts_ns=ts + w + 2,
                    strategy_id="sor",
                )
            )


def seed_tca(client: Client) -> TcaSeed:
    """Run the seeded orders through the TCA core and insert reports and fills."""
    seed = TcaSeed()
    tca = TcaEngine()
    produced: list[TcaReport] = []
    _orders(random.Random(20240101), tca, seed, produced)
    _parent(tca, seed, produced)
    latest: dict[str, TcaReport] = {}
    for report in produced:
        latest[report.tca_id] = report
    seed.reports = list(latest.values())
    assert sum(r.kind == "PARENT" for r in produced) == 2  # revisions 1 and 2 both stored
    offsets: dict[str, int] = defaultdict(int)

    def insert(topic: str, records: Iterable[Any]) -> None:
        mapping, serde = mapping_for_topic(topic), CODEC.for_topic(topic)
        rows = []
        for record in records:
            rows.append(mapping.row(serde.decode(serde.encode(record)), topic, 0, offsets[topic]))
            offsets[topic] += 1
        client.insert(mapping.table, rows, column_names=list(mapping.columns))

    insert("tca", produced)
    insert("tca", produced[::5])  # a replayed chunk: the same identities again
    insert("oms.fills", seed.fills)
    return seed


def _run(client: Client, url: str, name: str, start: int, end: int) -> list[tuple[Any, ...]]:
    from tests.integration.sinks.test_analyst_queries import QUERIES, _at

    assert client.database is not None
    sql = (QUERIES / name).read_text()
    params = {"from": _at(start), "to": _at(end)}
    return [tuple(r) for r in run_sql(url, sql, database=client.database, parameters=params).rows]


def _f(value: Decimal | None) -> Fraction:
    return Fraction(value or 0)


def check_tca_slippage_by_venue(client: Client, url: str, _seed: object) -> None:
    seed = seed_tca(client)
    start, end = T0 + 10 * S, T0 + 300 * S
    got = _run(client, url, "tca_slippage_by_venue.sql", start, end)
    groups: dict[tuple[str, str], list[TcaReport]] = defaultdict(list)
    for r in seed.reports:
        if r.kind == "ORDER" and r.filled_qty > 0 and start <= r.arrival_ts_ns < end:
            assert r.venue is not None
            groups[(r.venue, r.side)].append(r)
    want = []
    for (venue, side), rs in sorted(groups.items()):
        arrived = [r for r in rs if r.arrival_mid is not None]
        vwapped = [r for r in rs if r.interval_vwap is not None]
        sign = 1 if side == "BUY" else -1
        want.append(
            (
                venue,
                side,
                len(rs),
                sum((r.filled_qty for r in rs), Decimal(0)),
                sum((r.notional for r in rs), Decimal(0)),
                _ratio(
                    sum((_f(r.execution_cost) for r in arrived), Fraction(0)) * 10000,
                    sum((_f(r.filled_qty) * _f(r.arrival_mid) for r in arrived), Fraction(0)),
                ),
                _ratio(
                    sum(
                        (
                            sign * (_f(r.notional) - _f(r.filled_qty) * _f(r.interval_vwap))
                            for r in vwapped
                        ),
                        Fraction(0),
                    )
                    * 10000,
                    sum((_f(r.filled_qty) * _f(r.interval_vwap) for r in vwapped), Fraction(0)),
                ),
            )
        )
    assert got == want
    assert len(want) == 4
    assert all(row[5] is not None for row in want)


def check_tca_shortfall_by_strategy(client: Client, url: str, _seed: object) -> None:
    seed = seed_tca(client)
    start, end = T0, T0 + 300 * S
    got = _run(client, url, "tca_shortfall_by_strategy.sql", start, end)
    groups: dict[tuple[str | None, str, str], list[TcaReport]] = defaultdict(list)
    for r in seed.reports:
        if start <= r.arrival_ts_ns < end:
            groups[(r.strategy_id, r.instrument, r.kind)].append(r)
    want = []
    for (strategy, instrument, kind), rs in sorted(
        groups.items(), key=lambda kv: (kv[0][0] is not None, kv[0][0] or "", *kv[0][1:])
    ):
        sized = [r for r in rs if r.quantity is not None]
        arrived = [r for r in rs if r.arrival_mid is not None]
        cost = sum(
            (_f(r.execution_cost) + _f(r.fees_quote) + _f(r.opportunity_cost) for r in arrived),
            Fraction(0),
        )
        paper = sum(
            (
                _f(r.quantity if r.quantity is not None else r.filled_qty) * _f(r.arrival_mid)
                for r in arrived
            ),
            Fraction(0),
        )
        want.append(
            (
                strategy,
                instrument,
                kind,
                len(rs),
                sum((r.notional for r in rs), Decimal(0)),
                _ratio(
                    sum((_f(r.filled_qty) for r in sized), Fraction(0)),
                    sum((_f(r.quantity) for r in sized), Fraction(0)),
                ),
                _ratio(cost * 10000, paper),
            )
        )
    assert got == want
    kinds = {(row[0], row[2]) for row in want}
    assert ("sor", "PARENT") in kinds
    assert any(row[0] is None for row in want)  # manual orders
    assert any(row[6] is None for row in want)  # the order with no market data


def check_tca_fee_share(client: Client, url: str, _seed: object) -> None:
    seed = seed_tca(client)
    start, end = T0 + 5 * S, T0 + 250 * S
    got = _run(client, url, "tca_fee_share.sql", start, end)
    orders = {(r.account, r.order_id): r for r in seed.reports if r.kind == "ORDER"}
    groups: dict[tuple[str, str | None, str | None], list[dict[str, Any]]] = defaultdict(list)
    venue_orders: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for f in seed.fills:
        key = (f["account"], f["client_order_id"])
        if key in orders and start <= f["receive_ts_ns"] < end:
            groups[(f["venue"], orders[key].quote_currency, f["fee_currency"])].append(f)
            venue_orders[f["venue"]].add(key)
    shares: dict[str, Decimal | None] = {}
    for venue, keys in venue_orders.items():
        arrived = [orders[k] for k in keys if orders[k].arrival_mid is not None]
        fees_quote = sum((_f(r.fees_quote) for r in arrived), Fraction(0))
        cost = sum(
            (_f(r.execution_cost) + _f(r.fees_quote) + _f(r.opportunity_cost) for r in arrived),
            Fraction(0),
        )
        shares[venue] = _ratio(fees_quote, cost) if arrived else None
    want = []
    for (venue, quote, currency), fs in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2] or "")
    ):
        notional = sum((Fraction(f["price"]) * Fraction(f["quantity"]) for f in fs), Fraction(0))
        fee_sum: Decimal = sum((f["fee"] for f in fs), Decimal(0))
        want.append(
            (
                venue,
                quote,
                currency,
                len(fs),
                Decimal(notional.numerator) / Decimal(notional.denominator),
                fee_sum,
                _ratio(Fraction(fee_sum) * 10000, notional) if currency == quote else None,
                shares[venue],
            )
        )
    assert [r[:4] for r in got] == [w[:4] for w in want]
    for g, w in zip(got, want, strict=True):
        assert g == w, (g, w)
    assert {w[2] for w in want} >= {"USDT", "BNB"}


TCA_CHECKS: dict[str, Callable[[Client, str, Any], None]] = {
    "tca_slippage_by_venue.sql": check_tca_slippage_by_venue,
    "tca_shortfall_by_strategy.sql": check_tca_shortfall_by_strategy,
    "tca_fee_share.sql": check_tca_fee_share,
}
