"""Recorded real exchange frames (``tests/data/real``) through the Normalizer.

Every expected value is computed here from the raw payloads with a plain
``json.loads(parse_float=Decimal)`` and a few lines of book keeping per venue (never through
ccxt), then compared with what the Normalizer published: per-channel counts, every trade,
every quote, every book record (levels as wire text, sequences, timestamps), plus literal
spot values read off the captures. A dropped real frame opens a coverage GAP; a truncated
real frame is a DeadLetter and the frames after it still normalize. Bybit: the recorded
``orderbook.1`` frames against the documentation-derived markets, where none of their
symbols is listed: one ``UnknownInstrument`` DeadLetter per frame.

Only recordings under cryptofeed's permissive licence are used (Binance 2021, OKX 2022,
Bybit ``orderbook.1`` 2025). Provenance, and what was deliberately left out (the AGPL
``v3`` branch captures): ``tests/data/real/README.md``.
"""

from __future__ import annotations

import functools
import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tapewire.core.records import Record, TypedRecord
from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.normalizer import BookState
from tapewire.testing.frames import read_frames

REAL = Path(__file__).resolve().parents[3] / "data" / "real"
MS = 1_000_000
PROCESS_TS = 42
VENUES = ("binance", "okx")  # full captures; Bybit: orderbook.1 only (bbo.jsonl)

Frame = dict[str, Any]
Level = tuple[str, str]  # (price, size) as wire text
Side = dict[Decimal, Level]
TradeView = tuple[str, str, str, str, str, int | None, int]
QuoteView = tuple[str, str | None, str | None, str | None, str | None, int | None, int]
BookView = tuple[Any, ...]


# --------------------------------------------------------------------------- loading
def fixture_path(venue: str, name: str = "frames") -> Path:
    return REAL / venue / f"{name}.jsonl"


@functools.cache
def rows(venue: str, name: str = "frames") -> tuple[dict[str, Any], ...]:
    """The fixture lines as recorded (JSON objects), in md.raw order."""
    text = fixture_path(venue, name).read_text(encoding="utf-8")
    return tuple(json.loads(line) for line in text.splitlines())


@functools.cache
def _frames(venue: str, name: str) -> tuple[Frame, ...]:
    return tuple(read_frames(fixture_path(venue, name), venue))


def frames(venue: str, name: str = "frames") -> list[Frame]:
    """RawFrame records of a fixture (fresh dicts: tests may edit them)."""
    return [dict(f) for f in _frames(venue, name)]


def per_connection(frames: Iterable[Frame]) -> list[Frame]:
    """Number ``sequence`` per connection from 0, as the connector does (RawFrame schema);
    a frame left out of the list is one the connection never received."""
    counters: dict[str, int] = {}
    out = []
    for f in frames:
        seq = counters.get(f["connection_id"], 0)
        counters[f["connection_id"]] = seq + 1
        out.append({**f, "sequence": seq})
    return out


def run(
    frames: Iterable[Frame], norm: Normalizer | None = None
) -> tuple[NormalizeResult, list[NormalizeResult]]:
    norm = norm or Normalizer(clock=lambda: PROCESS_TS)
    per_frame = [norm.process(f) for f in per_connection(frames)]
    total = NormalizeResult()
    for res in per_frame:
        total.extend(res)
    return total, per_frame


@functools.cache
def full_run(venue: str) -> tuple[NormalizeResult, list[NormalizeResult]]:
    return run(frames(venue))


def unsequenced(trades: Iterable[Record]) -> list[dict[str, Any]]:
    """Trades without ``frame_sequence`` (renumbered when a test leaves a frame out)."""
    return [{k: v for k, v in t.items() if k != "frame_sequence"} for t in trades]


def counts(res: NormalizeResult) -> dict[str, int]:
    # md.derivatives only where a frame carries mark/index/funding data
    return {t: len(r) for t, r in res.records.items() if r or t != "md.derivatives"}


def payload(row: dict[str, Any]) -> Any:
    """A recorded payload, decoded independently of the normalizer."""
    return json.loads(row["payload"], parse_float=Decimal)


# --------------------------------------------------------------------------- views
def txt(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def trade_views(res: NormalizeResult) -> list[TradeView]:
    return [
        (
            t["instrument"],
            t["trade_id"],
            format(t["price"], "f"),
            format(t["size"], "f"),
            t["side"],
            t["exchange_ts_ns"],
            t["receive_ts_ns"],
        )
        for t in res["md.trades"]
    ]


def quote_views(res: NormalizeResult) -> list[QuoteView]:
    return [
        (
            q["instrument"],
            txt(q["bid_price"]),
            txt(q["bid_size"]),
            txt(q["ask_price"]),
            txt(q["ask_size"]),
            q["exchange_ts_ns"],
            q["receive_ts_ns"],
        )
        for q in res["md.quotes"]
    ]


def levels(side: list[dict[str, Decimal]]) -> list[Level]:
    return [(format(lv["price"], "f"), format(lv["size"], "f")) for lv in side]


def book_views(res: NormalizeResult) -> list[BookView]:
    return [
        (
            b["instrument"],
            b["kind"],
            levels(b["bids"]),
            levels(b["asks"]),
            b["first_sequence"],
            b["last_sequence"],
            b["prev_sequence"],
            b["checksum"],
            b["depth"],
            b["exchange_ts_ns"],
            b["receive_ts_ns"],
        )
        for b in res["md.book"]
    ]


def assert_exact_types(value: Any, path: str = "") -> None:
    """No float anywhere: only Decimal, int, str, bytes, None and containers of them."""
    if isinstance(value, TypedRecord):
        value = value.to_dict()
    if isinstance(value, dict):
        for k, v in value.items():
            assert_exact_types(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            assert_exact_types(v, f"{path}[{i}]")
    else:
        assert not isinstance(value, float | bool), f"{path} = {value!r}"
        assert value is None or isinstance(value, Decimal | int | str | bytes), path


# --------------------------------------------------------------------------- reference books
def ms(value: Any) -> int:
    return int(value) * MS


def text(value: Any) -> str:
    """Wire text of a raw value (str) or of a published Decimal (never exponent form)."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def ordered(side: Side, descending: bool) -> list[Level]:
    return [side[p] for p in sorted(side, reverse=descending)]


def changed(pairs: Iterable[tuple[Any, Any]], descending: bool) -> list[Level]:
    """The levels a frame changes, last write per price wins, best first."""
    side: Side = {}
    for price, size in pairs:
        side[Decimal(text(price))] = (text(price), text(size))
    return ordered(side, descending)


@dataclass
class RefBook:
    """An L2 book kept from the raw frames: price -> (price text, size text)."""

    bids: Side = field(default_factory=dict)
    asks: Side = field(default_factory=dict)

    def reset(self, bids: Iterable[tuple[Any, Any]], asks: Iterable[tuple[Any, Any]]) -> None:
        self.bids, self.asks = {}, {}
        self.apply(bids, asks)

    def apply(self, bids: Iterable[tuple[Any, Any]], asks: Iterable[tuple[Any, Any]]) -> None:
        for side, pairs in ((self.bids, bids), (self.asks, asks)):
            for price, size in pairs:
                key = Decimal(text(price))
                if Decimal(text(size)) == 0:
                    side.pop(key, None)
                else:
                    side[key] = (text(price), text(size))

    def view(self) -> tuple[list[Level], list[Level]]:
        return ordered(self.bids, True), ordered(self.asks, False)

    def top(self) -> tuple[Level, Level]:
        bids, asks = self.view()
        return bids[0], asks[0]


def replay(records: Iterable[Record]) -> dict[str, RefBook]:
    """Rebuild every book from the published md.book records alone (what a consumer does)."""
    books: dict[str, RefBook] = {}
    for rec in records:
        bids = [(lv["price"], lv["size"]) for lv in rec["bids"]]
        asks = [(lv["price"], lv["size"]) for lv in rec["asks"]]
        book = books.setdefault(rec["instrument"], RefBook())
        if rec["kind"] == "SNAPSHOT":
            book.reset(bids, asks)
        else:
            book.apply(bids, asks)
    return books


@dataclass
class Expected:
    trades: list[TradeView] = field(default_factory=list)
    quotes: list[QuoteView] = field(default_factory=list)
    books: list[BookView] = field(default_factory=list)
    final: dict[str, RefBook] = field(default_factory=dict)
    aggressor_checked: int = 0  # trades whose side the live book confirms


def confirm_aggressor(exp: Expected, book: RefBook | None, price: Any, taker: str) -> None:
    """A trade printed at or through the best ask was a buy, at or through the best bid a
    sell: check the side a venue reports against the live reference book."""
    if book is None or not book.bids or not book.asks:
        return
    (best_bid, _), (best_ask, _) = book.top()
    if Decimal(text(price)) >= Decimal(best_ask):
        assert taker == "BUY", (price, taker)
        exp.aggressor_checked += 1
    elif Decimal(text(price)) <= Decimal(best_bid):
        assert taker == "SELL", (price, taker)
        exp.aggressor_checked += 1


def pairs(levels: Iterable[list[Any]]) -> list[tuple[Any, Any]]:
    return [(lv[0], lv[1]) for lv in levels]


# --------------------------------------------------------------------------- binance
def binance_expected(recorded: Iterable[dict[str, Any]]) -> Expected:
    """Binance spot: REST snapshot + buffered ``depthUpdate`` replay by the U/u rules."""
    exp = Expected()
    inst: dict[str, str] = {}
    nonce: dict[str, int] = {}
    buffered: dict[str, list[dict[str, Any]]] = {}
    for row in recorded:
        recv = row["received_ns"]
        if row["transport"] == "REST":
            body = payload(row)
            if urlparse(row["url"]).path == "/api/v3/exchangeInfo":
                inst = {
                    s["symbol"]: f"{s['baseAsset']}-{s['quoteAsset']}-SPOT" for s in body["symbols"]
                }
                continue
            query = parse_qs(urlparse(row["url"]).query)
            sym = query["symbol"][0]
            if sym in nonce:
                continue  # the book is live: a REST snapshot is not applied
            book = exp.final[inst[sym]] = RefBook()
            book.reset(pairs(body["bids"]), pairs(body["asks"]))
            last = int(body["lastUpdateId"])
            for d in buffered.pop(sym, []):
                if d["u"] <= last:
                    continue
                assert d["U"] <= last + 1
                book.apply(pairs(d["b"]), pairs(d["a"]))
                last = d["u"]
            nonce[sym] = last
            bids, asks = book.view()
            depth = int(query["limit"][0])
            exp.books.append(
                (inst[sym], "SNAPSHOT", bids, asks, None, last, None, None, depth, None, recv)
            )
            continue
        msg = payload(row)
        data, stream = msg["data"], msg["stream"]
        if data.get("e") == "aggTrade":
            side = "SELL" if data["m"] else "BUY"  # m: the buyer was the maker
            confirm_aggressor(exp, exp.final.get(inst[data["s"]]), data["p"], side)
            exp.trades.append(
                (inst[data["s"]], str(data["a"]), data["p"], data["q"], side, ms(data["T"]), recv)
            )
        elif data.get("e") == "depthUpdate":
            sym = data["s"]
            if sym not in nonce:
                buffered.setdefault(sym, []).append(data)
                continue
            if data["u"] <= nonce[sym]:
                continue  # already in the snapshot
            assert data["U"] <= nonce[sym] + 1  # U <= last + 1 <= u: the capture has no gap
            exp.final[inst[sym]].apply(pairs(data["b"]), pairs(data["a"]))
            nonce[sym] = data["u"]
            exp.books.append(
                (
                    inst[sym],
                    "DELTA",
                    changed(pairs(data["b"]), True),
                    changed(pairs(data["a"]), False),
                    data["U"],
                    data["u"],
                    None,
                    None,
                    None,
                    ms(data["E"]),
                    recv,
                )
            )
        elif stream.endswith("@bookTicker"):  # no timestamp in a bookTicker
            q = (inst[data["s"]], data["b"], data["B"], data["a"], data["A"], None, recv)
            exp.quotes.append(q)
    return exp


def test_binance_counts_and_values() -> None:
    total, per_frame = full_run("binance")
    exp = binance_expected(rows("binance"))
    assert len(per_frame) == 270
    assert counts(total) == {
        "md.trades": 2,
        "md.book": 176,
        "md.quotes": 84,
        "md.coverage": 8,
        "dlq.normalize": 0,
    }
    # each of the 4 books' first deltas came before its REST snapshot: waiting, then synced
    waits = [(c["instrument"], c["event"], c["reason"]) for c in total["md.coverage"]]
    books = ["NKN-USDT-SPOT", "BLZ-ETH-SPOT", "LRC-BTC-SPOT", "RUNE-EUR-SPOT"]
    assert waits == [
        (b, event, "waiting_for_snapshot") for b in books for event in ("GAP", "RESYNC")
    ]
    assert exp.aggressor_checked == 2  # both trades lifted the best ask: BUY
    assert trade_views(total) == exp.trades
    assert quote_views(total) == exp.quotes
    assert book_views(total) == exp.books
    kinds = [(b["instrument"], b["kind"]) for b in total["md.book"]]
    assert kinds.count(("NKN-USDT-SPOT", "SNAPSHOT")) == 1
    assert kinds.count(("NKN-USDT-SPOT", "DELTA")) == 149
    replayed = replay(total["md.book"])
    assert {i: b.view() for i, b in replayed.items()} == {i: b.view() for i, b in exp.final.items()}
    # literal spot values, read off the capture
    assert exp.trades[0] == (
        "NKN-USDT-SPOT",
        "15683430",
        "0.35280000",
        "58.00000000",
        "BUY",
        1633998523963 * MS,
        1633998523_957215000,  # the recorder's clock: 6 ms behind Binance's
    )
    assert exp.quotes[0][:5] == (
        "NKN-USDT-SPOT",
        "0.35210000",
        "672.00000000",
        "0.35260000",
        "3199.00000000",
    )
    snap = total["md.book"][0]
    assert (snap["instrument"], snap["last_sequence"], snap["depth"]) == (
        "NKN-USDT-SPOT",
        499869752,
        1000,
    )
    assert (len(snap["bids"]), len(snap["asks"])) == (609, 1000)
    assert levels(snap["bids"])[0] == ("0.35210000", "672.00000000")
    assert snap["receive_ts_ns"] == 1633998512_320639000


def test_binance_dropped_delta_opens_a_gap_and_a_stale_snapshot_is_refused() -> None:
    recorded = frames("binance")
    full, _ = full_run("binance")
    nkn = [
        i for i, f in enumerate(recorded) if f["payload"].startswith(b'{"stream":"nknusdt@depth')
    ]
    dropped = nkn[20]  # a delta well after the REST snapshot synced the book
    norm = Normalizer(clock=lambda: PROCESS_TS)
    rest = next(f for f in recorded if b"symbol=NKNUSDT" in (f.get("rest_url") or "").encode())
    kept = recorded[:dropped] + recorded[dropped + 1 :]
    total, per_frame = run([*kept, rest], norm)
    published = [
        b for b in full["md.book"] if b["receive_ts_ns"] < recorded[dropped]["receive_ts_ns"]
    ]
    last_good = [b for b in published if b["instrument"] == "NKN-USDT-SPOT"][-1]
    (gap,) = (r.to_dict() for r in total["md.coverage"] if r["reason"] != "waiting_for_snapshot")
    assert gap == {
        "venue": "binance",
        "instrument": "NKN-USDT-SPOT",
        "channel": "book",
        "event": "GAP",
        "from_ns": last_good["receive_ts_ns"],
        "to_ns": None,
        "reason": "sequence_gap",
        "process_ts_ns": PROCESS_TS,
    }
    # the NKN-USDT book publishes nothing after the loss; the recorded REST snapshot, fed
    # again at the end, is older than the deltas buffered since the gap: refused, no RESYNC.
    # The other books, the trades and the quotes are exactly those of the full run.
    cut = recorded[dropped]["receive_ts_ns"]
    assert total["md.book"] == [
        b for b in full["md.book"] if b["instrument"] != "NKN-USDT-SPOT" or b["receive_ts_ns"] < cut
    ]
    assert counts(per_frame[-1]) == counts(NormalizeResult())
    assert unsequenced(total["md.trades"]) == unsequenced(full["md.trades"])
    assert total["md.quotes"] == full["md.quotes"]
    assert norm.book_state("binance", "NKN-USDT-SPOT") is BookState.RESYNCING
    assert norm.book_state("binance", "LRC-BTC-SPOT") is BookState.LIVE
    assert total["dlq.normalize"] == []


# --------------------------------------------------------------------------- okx
def okx_checksum(book: RefBook) -> int:
    """OKX CRC32 over the top 25 levels, ``bid:ask`` interleaved, signed int32."""
    bids, asks = book.view()
    parts: list[str] = []
    for i in range(25):
        if i < len(bids):
            parts += list(bids[i])
        if i < len(asks):
            parts += list(asks[i])
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def okx_expected(recorded: Iterable[dict[str, Any]]) -> Expected:
    exp = Expected()
    inst: dict[str, str] = {}
    for row in recorded:
        recv = row["received_ns"]
        msg = payload(row)
        if row["transport"] == "REST":
            inst = {d["instId"]: f"{d['baseCcy']}-{d['quoteCcy']}-SPOT" for d in msg["data"]}
            continue
        channel = msg["arg"]["channel"]
        if "event" in msg:  # subscription acks
            continue
        for item in msg["data"]:
            if channel == "trades":
                book = exp.final.get(inst[item["instId"]])
                confirm_aggressor(exp, book, item["px"], item["side"].upper())
                exp.trades.append(
                    (
                        inst[item["instId"]],
                        item["tradeId"],
                        item["px"],
                        item["sz"],
                        item["side"].upper(),
                        ms(item["ts"]),
                        recv,
                    )
                )
            elif channel == "tickers":
                exp.quotes.append(
                    (
                        inst[item["instId"]],
                        item["bidPx"],
                        item["bidSz"],
                        item["askPx"],
                        item["askSz"],
                        ms(item["ts"]),
                        recv,
                    )
                )
            elif channel == "books":
                name = inst[msg["arg"]["instId"]]
                book = exp.final.setdefault(name, RefBook())
                snapshot = msg["action"] == "snapshot"
                if snapshot:
                    book.reset(pairs(item["bids"]), pairs(item["asks"]))
                    bids, asks = book.view()
                else:
                    book.apply(pairs(item["bids"]), pairs(item["asks"]))
                    bids = changed(pairs(item["bids"]), True)
                    asks = changed(pairs(item["asks"]), False)
                assert okx_checksum(book) == item["checksum"]  # the reference book is right
                kind = "SNAPSHOT" if snapshot else "DELTA"
                depth = 400 if snapshot else None
                ts = ms(item["ts"])
                checksum = item["checksum"]
                exp.books.append(
                    (name, kind, bids, asks, None, None, None, checksum, depth, ts, recv)
                )
    return exp


def test_okx_counts_and_values() -> None:
    total, per_frame = full_run("okx")
    exp = okx_expected(rows("okx"))
    assert len(per_frame) == 199
    assert counts(total) == {
        "md.trades": 69,
        "md.book": 98,
        "md.quotes": 25,  # one per ``tickers`` frame
        "md.coverage": 0,
        "dlq.normalize": 0,
    }
    assert total.duplicates == 0
    assert exp.aggressor_checked == 68  # sides agree with the live book
    assert trade_views(total) == exp.trades
    assert quote_views(total) == exp.quotes
    assert book_views(total) == exp.books  # every checksum verified on the way
    replayed = replay(total["md.book"])
    assert replayed["BTC-USDT-SPOT"].view() == exp.final["BTC-USDT-SPOT"].view()
    assert replayed["BTC-USDT-SPOT"].top() == (("30236.1", "0.18050747"), ("30236.2", "0.001"))
    t = total["md.trades"][0]
    assert (t["trade_id"], t["price"], t["size"], t["side"]) == (
        "338476307",
        Decimal("30236"),
        Decimal("0.0002"),
        "BUY",
    )
    assert (t["exchange_ts_ns"], t["receive_ts_ns"]) == (1652459224818 * MS, 1652459225_507260300)
    q = total["md.quotes"][0]
    assert (q["bid_price"], q["bid_size"], q["ask_price"], q["ask_size"]) == (
        Decimal("30228.6"),
        Decimal("0.23393"),
        Decimal("30228.7"),
        Decimal("1.55896972"),
    )
    assert q["exchange_ts_ns"] == 1652459224956 * MS


def test_okx_dropped_update_fails_the_next_checksum() -> None:
    recorded = frames("okx")
    full, _ = full_run("okx")
    updates = [i for i, f in enumerate(recorded) if b'"action":"update"' in f["payload"]]
    dropped = updates[30]
    total, per_frame = run(recorded[:dropped] + recorded[dropped + 1 :])
    before = [b for b in full["md.book"] if b["receive_ts_ns"] < recorded[dropped]["receive_ts_ns"]]
    assert total["md.book"] == before  # nothing published after the loss
    (gap,) = total["md.coverage"]
    assert (gap["instrument"], gap["event"], gap["reason"]) == ("BTC-USDT-SPOT", "GAP", "checksum")
    assert (gap["from_ns"], gap["to_ns"]) == (before[-1]["receive_ts_ns"], None)
    # the GAP is raised by the very next update (index shifts by one after the drop)
    assert counts(per_frame[updates[31] - 1])["md.coverage"] == 1
    assert unsequenced(total["md.trades"]) == unsequenced(full["md.trades"])
    assert total["md.quotes"] == full["md.quotes"]
    assert total["dlq.normalize"] == []


# --------------------------------------------------------------------------- bybit
DOC_BYBIT = REAL.parent / "frames" / "bybit" / "frames.jsonl"
"""Documentation-derived Bybit fixture (``tests/data/frames/bybit/README.md``): its REST
``instruments-info?category=spot`` frame is the markets of the ``orderbook.1`` test (the
2025 capture kept only the retired ``/v2/public/symbols``, which ccxt no longer loads)."""


def bybit_markets_frames() -> list[Frame]:
    return [f for f in read_frames(DOC_BYBIT, "bybit") if f["transport"] == "REST"]


def bybit_instruments(markets: Iterable[Frame]) -> dict[str, str]:
    """Symbol -> instrument of the spot instruments responses, read from the raw JSON."""
    return {
        s["symbol"]: f"{s['baseCoin']}-{s['quoteCoin']}-SPOT"
        for f in markets
        for s in json.loads(f["payload"])["result"]["list"]
    }


LISTED = "a market id listed in the venue's loaded markets"


@functools.cache
def bybit_bbo_run() -> tuple[NormalizeResult, list[NormalizeResult]]:
    markets = bybit_markets_frames()
    rest = {"bybit": {f["rest_url"]: f["payload"] for f in markets}}
    return run(frames("bybit", "bbo"), Normalizer(rest, clock=lambda: PROCESS_TS))


def test_bybit_bbo_symbols_outside_the_markets_are_unknown_instrument_dead_letters() -> None:
    """Spot ``orderbook.1`` frames of a 2025 capture, against the documentation-derived
    markets (BTCUSDT only): none of the six recorded symbols is listed there, so every
    ``orderbook.1`` frame is exactly one ``UnknownInstrument`` dead letter carrying the
    recorded payload, the subscription acks produce nothing, and no quote, book or gap is
    published. (Quote values from ``orderbook.1`` are checked on the documentation-derived
    frames, ``tests/unit/streams/normalize/test_bybit.py``.)"""
    recorded = rows("bybit", "bbo")
    inst = bybit_instruments(bybit_markets_frames())
    assert inst == {"BTCUSDT": "BTC-USDT-SPOT"}
    total, per_frame = bybit_bbo_run()
    # expected per frame, from the raw JSON: the symbol of each orderbook.1 frame, None for
    # the other frames (subscription acks)
    symbols: list[str | None] = []
    acks = 0
    for row in recorded:
        msg = payload(row)
        topic = msg.get("topic", "")
        if topic.startswith("orderbook.1."):
            assert msg["data"]["s"] == topic.removeprefix("orderbook.1.")
            (_bid,), (_ask,) = msg["data"]["b"], msg["data"]["a"]  # one level a side: a BBO
            symbols.append(msg["data"]["s"])
        else:
            assert (msg["op"], msg["success"]) == ("subscribe", True)
            acks += 1
            symbols.append(None)
    dead = [s for s in symbols if s is not None]
    assert not set(dead) & set(inst)  # no recorded symbol is in the markets
    assert len(per_frame) == len(recorded) == 145
    assert acks == 6
    assert Counter(dead) == {
        "ARBUSDC": 54,
        "OPUSDC": 30,
        "KCSUSDT": 19,
        "CPOOLUSDT": 14,
        "TUSDUSDT": 11,
        "MASAUSDT": 11,
    }
    assert counts(total) == {
        "md.trades": 0,
        "md.book": 0,  # orderbook.1 is a BBO, never a book
        "md.quotes": 0,  # no recorded symbol is in the markets
        "md.coverage": 0,
        "dlq.normalize": len(dead),
    }
    assert len(dead) == 139
    for i, (row, res, sym) in enumerate(zip(recorded, per_frame, symbols, strict=True)):
        if sym is None:
            assert counts(res) == counts(NormalizeResult()), i
            continue
        assert counts(res) == {**counts(NormalizeResult()), "dlq.normalize": 1}, i
        (letter,) = res["dlq.normalize"]
        assert (letter["error_type"], letter["reason"]) == (
            "UnknownInstrument",
            # markets are loaded: not NoMarkets (the native Bybit mapper names the field)
            f"bybit: field 'market' = {sym!r}: expected {LISTED}",
        )
        assert letter["payload"] == row["payload"].encode()
        assert (letter["source_topic"], letter["failed_ts_ns"]) == ("md.raw", PROCESS_TS)
        assert letter["labels"] == {
            "venue": "bybit",
            "connection_id": "BYBIT.ws.2",
            "sequence": str(i),
            "transport": "WEBSOCKET",
            "receive_ts_ns": str(row["received_ns"]),
            "payload_is": "raw_frame_payload",
        }
    first = total["dlq.normalize"][0]
    assert (first["reason"], first["labels"]["receive_ts_ns"]) == (
        f"bybit: field 'market' = 'OPUSDC': expected {LISTED}",  # the 2nd line of bbo.jsonl
        "1749833474324952800",
    )


# --------------------------------------------------------------------------- all venues
TRADE_PREFIX: dict[str, Callable[[bytes], bool]] = {
    "binance": lambda p: b"@aggTrade" in p[:40],
    "okx": lambda p: p.startswith(b'{"arg":{"channel":"trades"') and b'"data"' in p,
}


@pytest.mark.parametrize("venue", VENUES)
def test_truncated_real_frame_is_a_dead_letter_and_the_stream_goes_on(venue: str) -> None:
    recorded = frames(venue)
    full, full_frames = full_run(venue)
    k = next(i for i, f in enumerate(recorded) if TRADE_PREFIX[venue](f["payload"]))
    lost = full_frames[k]["md.trades"]
    assert lost, "the truncated frame carried trades"
    cut = recorded[k]["payload"][: len(recorded[k]["payload"]) // 2]
    recorded[k] = {**recorded[k], "payload": cut}
    total, per_frame = run(recorded)
    (dead,) = total["dlq.normalize"]
    assert (dead["error_type"], dead["payload"], dead["source_topic"]) == (
        "DecodeError",
        cut,
        "md.raw",
    )
    assert dead["labels"]["receive_ts_ns"] == str(recorded[k]["receive_ts_ns"])
    assert counts(per_frame[k]) == {**counts(NormalizeResult()), "dlq.normalize": 1}
    # every later frame still normalizes: all the rest is exactly what the full run gave
    assert total["md.trades"] == [t for t in full["md.trades"] if t not in lost]
    assert total["md.book"] == full["md.book"]
    assert total["md.quotes"] == full["md.quotes"]
    assert sum(len(r["md.trades"]) for r in per_frame[k + 1 :]) > 0


RUNS: dict[str, Callable[[], tuple[NormalizeResult, list[NormalizeResult]]]] = {
    "binance": lambda: full_run("binance"),
    "okx": lambda: full_run("okx"),
    "bybit-bbo": bybit_bbo_run,  # dead letters only (see the orderbook.1 test)
}


@pytest.mark.parametrize("run_name", sorted(RUNS))
def test_real_outputs_are_exact_and_encode_with_the_avro_codec(run_name: str) -> None:
    total, _ = RUNS[run_name]()
    codec = Codec()
    encoded = 0
    for topic, recs in total.records.items():
        for rec in recs:
            assert_exact_types(rec, topic)
            assert codec.read(topic, codec.encode(topic, rec)) == rec
            encoded += 1
    assert encoded == sum(counts(total).values()) > 0


@pytest.mark.parametrize(
    ("venue", "name", "year"),
    [("binance", "frames", 2021), ("okx", "frames", 2022), ("bybit", "bbo", 2025)],
)
def test_receive_times_are_utc_ns_in_md_raw_order(venue: str, name: str, year: int) -> None:
    recorded = rows(venue, name)
    stamps = [r["received_ns"] for r in recorded]
    assert all(isinstance(s, int) for s in stamps)
    assert stamps == sorted(stamps)
    first = datetime.fromtimestamp(stamps[0] // 1_000_000_000, UTC)
    last = datetime.fromtimestamp(stamps[-1] // 1_000_000_000, UTC)
    assert first.year == last.year == year
