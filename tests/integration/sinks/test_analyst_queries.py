"""The worked analyst queries in ``docs/queries/`` run on the real ClickHouse engine and
return exactly what plain Python computes from the same seeded rows.

Seeding goes through the sink's path minus Kafka: each record is encoded and decoded with
the Avro codec (so it is a valid ``md.*`` record), mapped to its row by
``tapewire.sinks.clickhouse.rows`` and inserted; some rows are inserted twice (a replayed chunk, a
re-published trade, a gap reported open then closed, a revised 1m bar) so that a query
without ``FINAL`` or without the roll-up's set semantics would give a wrong answer.
Queries run through ``run_sql`` (what ``tapewire sql`` uses), with ClickHouse query
parameters. Every ``.sql`` file must have a check here (``test_every_query_has_a_check``).
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.query import ExactDateTime, run_sql
from tapewire.sinks.clickhouse.rows import mapping_for_topic
from tapewire.streams.aggregate import DepthConfig, DepthPublisher
from tests.integration.sinks.tca_queries import TCA_CHECKS

QUERIES = Path(__file__).resolve().parents[3] / "docs" / "queries"
T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
S = 1_000_000_000
MIN = 60 * S
HOUR = 60 * MIN
BTC, ETH = "BTC-USDT-SPOT", "ETH-USDT-SPOT"
VENUES = ("binance", "okx")
PARTITION = {("binance", BTC): 0, ("okx", BTC): 1, ("binance", ETH): 2, ("okx", ETH): 0}
MID = {BTC: Decimal("65000"), ETH: Decimal("3500")}
_PARAM = re.compile(r"\{(\w+):")

Record = dict[str, Any]


# -- exact arithmetic, independent of ClickHouse --------------------------------------


def _trunc18(value: Fraction) -> Decimal:
    """Truncated toward zero to 18 places (ClickHouse Decimal division)."""
    n = abs(value.numerator) * 10**18 // value.denominator
    return Decimal(n if value >= 0 else -n).scaleb(-18)


def _half_even18(value: Fraction) -> Decimal:
    q, r = divmod(value.numerator * 10**18, value.denominator)
    if 2 * r > value.denominator or (2 * r == value.denominator and q % 2):
        q += 1
    return Decimal(q).scaleb(-18)


def _spread_bps(bid: Decimal, ask: Decimal) -> Decimal:
    return _trunc18(Fraction(ask - bid) * 20000 / Fraction(ask + bid))


def _mean(values: Sequence[Decimal]) -> Decimal:
    return _trunc18(Fraction(sum(values, Decimal(0))) / len(values))


def _ns(value: Any) -> int:
    """Epoch ns of a DateTime64 (``ExactDateTime``) or DateTime (``datetime``) result."""
    if isinstance(value, ExactDateTime):
        return value.epoch_ns
    assert isinstance(value, datetime)
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(moment.timestamp()) * S


def _at(ns: int) -> str:
    """A ``DateTime64(9, 'UTC')`` query parameter, exact to the nanosecond."""
    seconds, fraction = divmod(ns, S)
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{fraction:09d}"


# -- seeded data ------------------------------------------------------------------------


@dataclass
class Seed:
    """Records as published (before any duplication), per topic."""

    trades: list[Record] = field(default_factory=list)
    quotes: list[Record] = field(default_factory=list)
    nbbo: list[Record] = field(default_factory=list)
    book: list[Record] = field(default_factory=list)
    coverage: list[Record] = field(default_factory=list)
    """The final state of each gap (what ``coverage FINAL`` must give)."""
    bars_1m: list[Record] = field(default_factory=list)
    """Latest revision of each 1m bar."""
    depth: list[Record] = field(default_factory=list)
    """Consolidated depth snapshots (binance's book and an okx copy), as published."""


def _price(rng: random.Random, instrument: str) -> Decimal:
    return MID[instrument] + Decimal(rng.randrange(-5_000, 5_000)).scaleb(-2)


def _trades(rng: random.Random) -> list[Record]:
    out = []
    for i in range(400):
        venue, instrument = rng.choice(VENUES), rng.choice((BTC, ETH))
        ts = T0 + rng.randrange(0, 180_000) * 1_000_000 + i  # 3 minutes, unique ns
        out.append(
            {
                "venue": venue,
                "instrument": instrument,
                "trade_id": f"{venue[0]}{i}",
                "price": _price(rng, instrument),
                "size": Decimal(rng.randrange(1, 10**6)).scaleb(-rng.choice((8, 6, 5))),
                "side": rng.choice(("BUY", "SELL", "UNKNOWN")),
                "exchange_ts_ns": ts,
                "receive_ts_ns": ts + 2_000_000,
                "process_ts_ns": ts + 3_000_000,
                "connection_id": f"{venue}-1",
                "frame_sequence": i,
            }
        )
    return sorted(out, key=lambda t: t["exchange_ts_ns"])


def _quotes(rng: random.Random) -> list[Record]:
    """Each venue quotes around a shared random-walk mid every ~2 s for 3 minutes."""
    out = []
    for instrument in (BTC, ETH):
        mid = MID[instrument]
        for k in range(90):
            mid += Decimal(rng.randrange(-100, 101)).scaleb(-2)
            for venue in VENUES:
                ts = T0 + k * 2 * S + rng.randrange(0, 1_000_000_000)
                bid = mid - Decimal(rng.randrange(1, 300)).scaleb(-2)
                ask = mid + Decimal(rng.randrange(1, 300)).scaleb(-2)
                empty = k == 7 and venue == "okx"  # one-sided book: skipped by the queries
                out.append(
                    {
                        "venue": venue,
                        "instrument": instrument,
                        "bid_price": None if empty else bid,
                        "bid_size": None if empty else Decimal(rng.randrange(1, 10**6)) / 1000,
                        "ask_price": ask,
                        "ask_size": Decimal(rng.randrange(1, 10**6)).scaleb(-5),
                        "source": "VENUE_BBO",
                        "exchange_ts_ns": ts - 1_000_000,
                        "receive_ts_ns": ts,
                        "process_ts_ns": ts + 500_000,
                    }
                )
    return sorted(out, key=lambda q: q["receive_ts_ns"])


def _nbbo(quotes: list[Record]) -> list[Record]:
    """What the NBBO aggregator emits after each quote (best of each venue's last quote)."""
    out = []
    last: dict[str, dict[str, Record]] = defaultdict(dict)
    for q in quotes:
        last[q["instrument"]][q["venue"]] = q
        book = last[q["instrument"]]
        bids = [v for v in book.values() if v["bid_price"] is not None]
        asks = [v for v in book.values() if v["ask_price"] is not None]
        best_bid = max(bids, key=lambda v: v["bid_price"]) if bids else None
        best_ask = min(asks, key=lambda v: v["ask_price"]) if asks else None
        out.append(
            {
                "instrument": q["instrument"],
                "bid_price": best_bid and best_bid["bid_price"],
                "bid_size": best_bid and best_bid["bid_size"],
                "bid_venue": best_bid and best_bid["venue"],
                "ask_price": best_ask and best_ask["ask_price"],
                "ask_size": best_ask and best_ask["ask_size"],
                "ask_venue": best_ask and best_ask["venue"],
                "venue_count": len(book),
                "bid_receive_ts_ns": best_bid and best_bid["receive_ts_ns"],
                "ask_receive_ts_ns": best_ask and best_ask["receive_ts_ns"],
                "process_ts_ns": q["receive_ts_ns"] + 900_000,
            }
        )
    return out


def _book(rng: random.Random) -> list[Record]:
    """binance BTC: snapshot at 1 s, deltas every 0.25 s, a fresh snapshot at 30 s."""
    out: list[Record] = []
    seq = 1000

    def level(price: Decimal, size: Decimal) -> Record:
        return {"price": price, "size": size}

    for k in range(240):
        ts = T0 + S + k * 250_000_000
        snapshot = k in (0, 116)
        if snapshot:
            bids = [
                level(Decimal("64990") - i, Decimal(rng.randrange(1, 10**5)).scaleb(-4))
                for i in range(8)
            ]
            asks = [
                level(Decimal("64991") + i, Decimal(rng.randrange(1, 10**5)).scaleb(-4))
                for i in range(8)
            ]
        else:
            bids = [
                level(
                    Decimal("64990") - rng.randrange(0, 12),
                    Decimal(0)
                    if rng.random() < 0.3
                    else Decimal(rng.randrange(1, 10**5)).scaleb(-4),
                )
                for _ in range(rng.randrange(0, 3))
            ]
            asks = [
                level(
                    Decimal("64991") + rng.randrange(0, 12),
                    Decimal(0)
                    if rng.random() < 0.3
                    else Decimal(rng.randrange(1, 10**5)).scaleb(-4),
                )
                for _ in range(rng.randrange(0, 3))
            ]
        out.append(
            {
                "venue": "binance",
                "instrument": BTC,
                "kind": "SNAPSHOT" if snapshot else "DELTA",
                "bids": bids,
                "asks": asks,
                "depth": 8 if snapshot else None,
                "first_sequence": seq + 1,
                "last_sequence": seq + 3,
                "prev_sequence": None if snapshot else seq,
                "checksum": None,
                "exchange_ts_ns": ts - 1_000_000,
                "receive_ts_ns": ts,
                "process_ts_ns": ts + 100_000,
            }
        )
        seq += 3
    return out


def _depth(book: list[Record]) -> list[Record]:
    """``md.depth`` as the real publisher makes it from binance's book and an okx book
    2.5 USDT lower with 60 % of the size, shifted by 0.1 s (7.5 and 8 bp taker fees)."""
    fees = {"binance": Decimal("7.5"), "okx": Decimal(8)}
    publisher = DepthPublisher(DepthConfig(levels=5, taker_fee_bps=fees), clock=lambda: T0)

    def okx(update: Record) -> Record:
        def shift(levels: list[Record]) -> list[Record]:
            return [
                {"price": x["price"] - Decimal("2.5"), "size": x["size"] * Decimal("0.6")}
                for x in levels
            ]

        ts = update["receive_ts_ns"] + 100_000_000
        return {
            **update,
            "venue": "okx",
            "bids": shift(update["bids"]),
            "asks": shift(update["asks"]),
            "receive_ts_ns": ts,
            "process_ts_ns": ts,
        }

    updates = sorted([*book, *map(okx, book)], key=lambda u: u["receive_ts_ns"])
    out = []
    for update in updates:
        group = publisher.add(update)
        snapshot = None if group is None else publisher.snapshot(group)
        if snapshot is not None:
            out.append(snapshot.to_dict())
    return out


def _gap(venue: str, instrument: str, channel: str, start: int, end: int | None) -> Record:
    return {
        "venue": venue,
        "instrument": instrument,
        "channel": channel,
        "event": "GAP",
        "from_ns": start,
        "to_ns": end,
        "reason": "sequence gap",
        "process_ts_ns": (end or start) + S,
    }


def _bar(venue: str, minute: int, rng: random.Random, revision: int = 0) -> Record:
    open_, close = _price(rng, BTC), _price(rng, BTC)
    high = max(open_, close) + Decimal(rng.randrange(0, 500)).scaleb(-2)
    low = min(open_, close) - Decimal(rng.randrange(0, 500)).scaleb(-2)
    buy = Decimal(rng.randrange(0, 10**8)).scaleb(-6)
    sell = Decimal(rng.randrange(1, 10**8)).scaleb(-6)
    volume = buy + sell
    quote_volume = (volume * (low + (high - low) * Decimal(rng.randrange(0, 101)) / 100)).quantize(
        Decimal(1).scaleb(-10)
    )
    start = T0 + minute * MIN
    return {
        "venue": venue,
        "instrument": BTC,
        "interval": "1m",
        "interval_ns": MIN,
        "start_ts_ns": start,
        "end_ts_ns": start + MIN,
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": volume,
        "quote_volume": quote_volume,
        "vwap": _half_even18(Fraction(quote_volume) / Fraction(volume)),
        "trade_count": rng.randrange(1, 500),
        "buy_volume": buy,
        "sell_volume": sell,
        "revision": revision,
        "process_ts_ns": start + MIN + 2 * S,
    }


class _Inserter:
    """Records → codec round trip → sink row mapping → INSERT, with Kafka provenance."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.codec = Codec()
        self.offsets: dict[tuple[str, int], int] = defaultdict(int)

    def insert(
        self, topic: str, records: Iterable[Record], partition_of: Callable[[Record], int]
    ) -> None:
        mapping = mapping_for_topic(topic)
        serde = self.codec.for_topic(topic)
        rows = []
        for record in records:
            partition = partition_of(record)
            offset = self.offsets[(topic, partition)]
            self.offsets[(topic, partition)] = offset + 1
            decoded = serde.decode(serde.encode(record))
            rows.append(mapping.row(decoded, topic, partition, offset))
        self.client.insert(mapping.table, rows, column_names=list(mapping.columns))


def _key_partition(record: Record) -> int:
    return PARTITION[(record["venue"], record["instrument"])]


@pytest.fixture
def seed(clickhouse: Client) -> Seed:
    rng = random.Random(20240101)
    out = Seed(trades=_trades(rng), quotes=_quotes(rng), book=_book(rng))
    out.nbbo = _nbbo(out.quotes)
    out.depth = _depth(out.book)
    ins = _Inserter(clickhouse)
    ins.insert("md.trades", out.trades, _key_partition)
    # the same trades again from later offsets (re-published): one row each under FINAL
    ins.insert("md.trades", out.trades[::7], _key_partition)
    ins.insert("md.quotes", out.quotes, _key_partition)
    ins.insert("md.nbbo", out.nbbo, lambda r: 0 if r["instrument"] == BTC else 1)
    ins.insert("md.book", out.book, _key_partition)
    # a replayed chunk of the book: same Kafka records, so the same provenance
    replay = _Inserter(clickhouse)
    replay.insert("md.book", out.book[:60], _key_partition)
    ins.insert("md.depth", out.depth, lambda r: 0)
    replay.insert("md.depth", out.depth[:50], lambda r: 0)  # a replayed chunk

    gaps = [
        _gap("binance", BTC, "book", T0 + 40 * S, T0 + 50 * S),
        _gap("okx", ETH, "trades", T0 + 150 * S, None),
        _gap("okx", BTC, "quotes", T0 + 100 * S + 123, T0 + 101 * S),
        _gap("binance", ETH, "book", T0 + 10 * S, T0 + 20 * S),
    ]
    reported_open = {**gaps[0], "to_ns": None, "process_ts_ns": T0 + 41 * S}
    ins.insert("md.coverage", [reported_open], lambda r: 0)
    ins.insert("md.coverage", gaps, lambda r: 0)
    out.coverage = gaps

    bars = [_bar("binance", m, rng) for m in range(0, 90)]
    bars += [_bar("okx", m, rng) for m in range(10, 71)]
    revised = {**_bar("binance", 5, rng, revision=1)}
    ins.insert("md.bars.1m", bars, lambda r: 0)
    ins.insert("md.bars.1m", [revised], lambda r: 0)  # a late trade revised minute 5
    ins.insert("md.bars.1m", [bars[100]], lambda r: 0)  # a replayed okx bar
    out.bars_1m = [
        revised if (b["venue"], b["start_ts_ns"]) == ("binance", T0 + 5 * MIN) else b for b in bars
    ]
    return out


# -- running the queries ----------------------------------------------------------------


def _run(client: Client, clickhouse_url: str, name: str, **params: Any) -> list[tuple[Any, ...]]:
    sql = (QUERIES / name).read_text()
    assert client.database is not None
    result = run_sql(clickhouse_url, sql, database=client.database, parameters=params)
    return [tuple(row) for row in result.rows]


def _in(ns: int, start: int, end: int) -> bool:
    return start <= ns < end


def check_spread(client: Client, url: str, seed: Seed) -> None:
    start, end = T0 + 30 * S, T0 + 150 * S
    got = _run(
        client,
        url,
        "spread_bps_by_venue.sql",
        instrument=ETH,
        **{"from": _at(start), "to": _at(end)},
        bucket_s=60,
    )
    groups: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
    for q in seed.quotes:
        if (
            q["instrument"] == ETH
            and _in(q["receive_ts_ns"], start, end)
            and q["bid_price"] is not None
        ):
            bucket = q["receive_ts_ns"] // MIN * MIN
            groups[(bucket, q["venue"])].append(_spread_bps(q["bid_price"], q["ask_price"]))
    want = [(b, v, len(s), min(s), max(s), _mean(s)) for (b, v), s in sorted(groups.items())]
    assert [(_ns(r[0]), *r[1:]) for r in got] == want
    assert len(want) == 6


def check_vwap(client: Client, url: str, seed: Seed) -> None:
    start, end = T0 + 20 * S, T0 + 170 * S
    got = _run(client, url, "vwap_per_minute.sql", **{"from": _at(start), "to": _at(end)})
    groups: dict[tuple[int, str], list[Record]] = defaultdict(list)
    for t in seed.trades:
        if _in(t["exchange_ts_ns"], start, end):
            groups[(t["exchange_ts_ns"] // MIN * MIN, t["instrument"])].append(t)
    want = []
    for (minute, instrument), trades in sorted(groups.items()):
        volume = sum((t["size"] for t in trades), Decimal(0))
        notional = sum((Fraction(t["price"]) * Fraction(t["size"]) for t in trades), Fraction(0))
        want.append(
            (
                minute,
                instrument,
                len(trades),
                volume,
                Decimal(notional.numerator) / Decimal(notional.denominator),
                _half_even18(notional / Fraction(volume)),
            )
        )
    assert [(_ns(r[0]), *r[1:]) for r in got] == want
    assert len(want) == 6


def check_volume(client: Client, url: str, seed: Seed) -> None:
    start, end = T0, T0 + 3 * MIN
    got = _run(client, url, "volume_by_venue_and_side.sql", **{"from": _at(start), "to": _at(end)})
    groups: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
    for t in seed.trades:
        groups[(t["venue"], t["instrument"], t["side"].lower())].append(t)
    want = {
        key: (
            len(ts),
            sum((t["size"] for t in ts), Decimal(0)),
            sum((t["price"] * t["size"] for t in ts), Decimal(0)),
        )
        for key, ts in groups.items()
    }
    assert {(r[0], r[1], r[2]): tuple(r[3:]) for r in got} == want
    assert len(got) == len(want) == 12
    side_order = {"unknown": 0, "buy": 1, "sell": 2}  # ORDER BY the Enum8 value
    assert [r[:3] for r in got] == sorted(
        (r[:3] for r in got), key=lambda r: (r[0], r[1], side_order[r[2]])
    )


def _book_at(
    updates: list[Record], at: int, levels: int
) -> list[tuple[str, int, Decimal, Decimal]]:
    """The book at ``at`` from scratch: last snapshot at or before it, then deltas."""
    seen = [u for u in updates if u["receive_ts_ns"] <= at]
    snaps = [i for i, u in enumerate(seen) if u["kind"] == "SNAPSHOT"]
    if not snaps:
        return []
    sides: dict[str, dict[Decimal, Decimal]] = {"bid": {}, "ask": {}}
    for u in seen[snaps[-1] :]:
        for side, key in (("bid", "bids"), ("ask", "asks")):
            for lvl in u[key]:
                sides[side][lvl["price"]] = lvl["size"]
    out: list[tuple[str, int, Decimal, Decimal]] = []
    for side in ("bid", "ask"):
        live = sorted(((p, s) for p, s in sides[side].items() if s > 0), reverse=side == "bid")
        out += [(side, n, p, s) for n, (p, s) in enumerate(live[:levels], start=1)]
    return out


def check_book_depth(client: Client, url: str, seed: Seed) -> None:
    cases = [
        T0,  # before the first snapshot: empty
        T0 + S,  # exactly the first snapshot
        T0 + 17 * S + 250_000_000,  # exactly a delta's receive time (inclusive)
        T0 + 29 * S + 999_999_999,  # just before the second snapshot
        T0 + 30 * S,  # the second snapshot
        T0 + 45 * S + 1,
        T0 + 10 * MIN,  # after everything
    ]
    assert seed.book[116]["receive_ts_ns"] == T0 + 30 * S
    non_empty = 0
    for at in cases:
        for levels in (3, 10):
            got = _run(
                client,
                url,
                "book_depth_at.sql",
                venue="binance",
                instrument=BTC,
                at=_at(at),
                levels=levels,
            )
            want = _book_at(seed.book, at, levels)
            assert got == want, (at, levels)
            non_empty += bool(want)
    assert non_empty == 12
    assert (
        _run(
            client,
            url,
            "book_depth_at.sql",
            venue="okx",
            instrument=BTC,
            at=_at(T0 + MIN),
            levels=5,
        )
        == []
    )


def check_trades_excluding_gaps(client: Client, url: str, seed: Seed) -> None:
    start, end = T0, T0 + 3 * MIN
    excluded = 0
    for instrument in (BTC, ETH):
        got = _run(
            client,
            url,
            "trades_excluding_gaps.sql",
            instrument=instrument,
            **{"from": _at(start), "to": _at(end)},
        )
        gaps = [g for g in seed.coverage if g["instrument"] == instrument]
        kept = []
        for t in seed.trades:
            if t["instrument"] != instrument:
                continue
            inside = any(
                g["venue"] == t["venue"]
                and g["from_ns"] <= t["exchange_ts_ns"]
                and (g["to_ns"] is None or t["exchange_ts_ns"] < g["to_ns"])
                for g in gaps
            )
            excluded += inside
            if not inside:
                kept.append(t)
        want = [
            (
                t["venue"],
                t["trade_id"],
                t["exchange_ts_ns"],
                t["price"],
                t["size"],
                t["side"].lower(),
            )
            for t in sorted(kept, key=lambda t: (t["exchange_ts_ns"], t["venue"], t["trade_id"]))
        ]
        assert [(r[0], r[1], _ns(r[2]), *r[3:]) for r in got] == want
    assert excluded > 20  # the gaps do remove trades (the closed one and the open one)


def check_nbbo_vs_quotes(client: Client, url: str, seed: Seed) -> None:
    start, end = T0 + 10 * S, T0 + 170 * S
    got = _run(
        client,
        url,
        "nbbo_vs_venue_quotes.sql",
        instrument=BTC,
        **{"from": _at(start), "to": _at(end)},
    )
    spreads: dict[str, list[Decimal]] = defaultdict(list)
    best: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for q in seed.quotes:
        if (
            q["instrument"] == BTC
            and _in(q["receive_ts_ns"], start, end)
            and q["bid_price"] is not None
        ):
            spreads[q["venue"]].append(_spread_bps(q["bid_price"], q["ask_price"]))
    for n in seed.nbbo:
        if n["instrument"] != BTC or n["bid_price"] is None or n["ask_price"] is None:
            continue
        if _in(max(n["bid_receive_ts_ns"], n["ask_receive_ts_ns"]), start, end):
            spreads["NBBO"].append(_spread_bps(n["bid_price"], n["ask_price"]))
            best[n["bid_venue"]][0] += 1
            best[n["ask_venue"]][1] += 1
    want = [
        (
            source,
            len(s),
            min(s),
            max(s),
            _mean(s),
            None if source == "NBBO" else best[source][0],
            None if source == "NBBO" else best[source][1],
        )
        for source, s in sorted(spreads.items(), key=lambda kv: (kv[0] != "NBBO", kv[0]))
    ]
    assert got == want
    assert [r[0] for r in got] == ["NBBO", "binance", "okx"]
    assert got[0][3] <= min(r[3] for r in got[1:])  # the NBBO is never wider than a venue


def check_bars_1h(client: Client, url: str, seed: Seed) -> None:
    got = _run(
        client,
        url,
        "bars_1h_from_rollup.sql",
        instrument=BTC,
        **{"from": _at(T0), "to": _at(T0 + 2 * HOUR)},
    )
    groups: dict[tuple[int, str], list[Record]] = defaultdict(list)
    for b in seed.bars_1m:
        groups[(b["start_ts_ns"] // HOUR * HOUR, b["venue"])].append(b)
    want = []
    for (hour, venue), bars in sorted(groups.items()):
        bars.sort(key=lambda b: b["start_ts_ns"])
        volume = sum((b["volume"] for b in bars), Decimal(0))
        quote_volume = sum((b["quote_volume"] for b in bars), Decimal(0))
        want.append(
            (
                hour,
                venue,
                bars[0]["open"],
                max(b["high"] for b in bars),
                min(b["low"] for b in bars),
                bars[-1]["close"],
                volume,
                quote_volume,
                _half_even18(Fraction(quote_volume) / Fraction(volume)),
                sum(b["trade_count"] for b in bars),
                sum((b["buy_volume"] for b in bars), Decimal(0)),
                sum((b["sell_volume"] for b in bars), Decimal(0)),
                len(bars),
            )
        )
    assert [(_ns(r[0]), *r[1:]) for r in got] == want
    assert [(r[1], r[-1]) for r in got] == [
        ("binance", 60),
        ("okx", 50),
        ("binance", 30),
        ("okx", 11),
    ]


def _sweep(levels: list[Record], quantity: Decimal) -> tuple[Decimal, Decimal]:
    """(filled, cost truncated to 18 places) of walking ``levels`` in order."""
    filled, cost = Decimal(0), Fraction(0)
    for level in levels:
        take = min(level["size"], quantity - filled)
        if take <= 0:
            break
        filled += take
        cost += Fraction(take) * Fraction(level["effective_price"])
    return filled, _trunc18(cost)


def check_sweep_cost(client: Client, url: str, seed: Seed) -> None:
    partial = improved = 0
    for k, at in enumerate((T0 + S + 100_000_000, T0 + 20 * S + 7, T0 + 31 * S, T0 + 10 * MIN)):
        snapshot = [d for d in seed.depth if d["receive_ts_ns"] <= at][-1]
        for side in ("BUY", "SELL"):
            for quantity in (Decimal("0.5"), Decimal("4.2"), Decimal(k * 10 + 3)):
                got = _run(
                    client,
                    url,
                    "sweep_cost_across_venues.sql",
                    instrument=BTC,
                    side=side,
                    quantity=quantity,
                    at=_at(at),
                )
                book = snapshot["asks" if side == "BUY" else "bids"]
                want = []
                for route in ("ALL", *sorted({x["venue"] for x in book})):
                    levels = [x for x in book if route in ("ALL", x["venue"])]
                    filled, cost = _sweep(levels, quantity)
                    avg = _trunc18(Fraction(cost) / Fraction(filled)) if filled else None
                    want.append([route, filled, cost, avg, int(filled == quantity)])
                best = want[0][3]
                for row in want:
                    diff = None
                    if row[4] and want[0][4]:
                        assert row[3] is not None
                        assert best is not None
                        sign = 1 if side == "BUY" else -1
                        diff = _trunc18(Fraction(sign * (row[3] - best)) * 10000 / Fraction(best))
                        assert diff >= 0  # across venues is never worse than one venue
                        improved += diff > 0
                    row.append(diff)
                    partial += not row[4]
                assert [list(r) for r in got] == want, (at, side, quantity)
    assert partial > 0
    assert improved > 0
    assert (
        _run(
            client,
            url,
            "sweep_cost_across_venues.sql",
            instrument=BTC,
            side="BUY",
            quantity=Decimal(1),
            at=_at(T0),
        )
        == []
    )


CHECKS: dict[str, Callable[[Client, str, Seed], None]] = {
    "spread_bps_by_venue.sql": check_spread,
    "vwap_per_minute.sql": check_vwap,
    "volume_by_venue_and_side.sql": check_volume,
    "book_depth_at.sql": check_book_depth,
    "trades_excluding_gaps.sql": check_trades_excluding_gaps,
    "nbbo_vs_venue_quotes.sql": check_nbbo_vs_quotes,
    "bars_1h_from_rollup.sql": check_bars_1h,
    "sweep_cost_across_venues.sql": check_sweep_cost,
    **TCA_CHECKS,  # seeded through the TCA core (tca_queries.py)
}


def test_every_query_has_a_check() -> None:
    files = sorted(p.name for p in QUERIES.glob("*.sql"))
    assert files, f"no queries in {QUERIES}"
    assert files == sorted(CHECKS), "every docs/queries/*.sql needs a check in this file"


def test_every_query_documents_its_question_and_parameters() -> None:
    for path in sorted(QUERIES.glob("*.sql")):
        text = path.read_text()
        assert text.startswith("-- Question: "), path.name
        header = text.split("\nSELECT", 1)[0].split("\nWITH", 1)[0]
        for name in sorted(set(_PARAM.findall(text))):
            assert f"{{{name}:" in header, (path.name, name)


def _cases() -> list[Any]:
    return [name for name in sorted(CHECKS)]


@pytest.mark.parametrize("name", _cases())
def test_query_matches_python(
    name: str, clickhouse_url: str, clickhouse: Client, seed: Seed
) -> None:
    with localcontext(prec=120):  # exact Python arithmetic on 38-digit decimals
        CHECKS[name](clickhouse, clickhouse_url, seed)


def test_seeded_duplicates_are_visible_without_final(clickhouse: Client, seed: Seed) -> None:
    """The seed really contains duplicates, so the FINAL in the queries is exercised."""
    for table, published in (
        ("trades", len(seed.trades)),
        ("book_updates", len(seed.book)),
        ("consolidated_depth", len(seed.depth)),
    ):
        raw = clickhouse.query(f"SELECT count() FROM {table}").result_rows[0][0]
        final = clickhouse.query(f"SELECT count() FROM {table} FINAL").result_rows[0][0]
        assert final == published
        assert raw > published, table
