"""Tapewire's normalizer core against cryptofeed's own parsers, same frames, one process.

Run: ``make bench-mappers`` (builds ``.venv-bench`` with the ``bench-cryptofeed`` extra),
or ``.venv-bench/bin/python bench/bench_mappers.py [--rounds 7] [--sample-s 0.5]``.

Per workload (a venue and a channel, from the recorded frames of ``tests/data/real``; with
``--doc`` also the documentation-derived ``... (doc)`` workloads of the venues without a
capture, from ``tests/data/frames``, see ``doc_workloads``), every side parses the same
frames from the wire text to typed records with ``Decimal`` prices:

- ``tapewire ccxt`` / ``tapewire native``: ``Normalizer.process_batch`` on RawFrame records
  (payload bytes), through ccxt's handlers (``native=False``) and through the native
  mappers; a side is any core with ``process_batch`` (one entry of ``CORES``);
- ``tapewire stage``: the whole normalize stage (default Normalizer: native mappers),
  Avro-encoded md.raw messages in, encoded output messages out (``NormalizeStage.process``),
  Binance only;
- ``cryptofeed``: the venue's ``Feed.message_handler`` coroutine on the payload text, with
  callbacks that count the Trade / OrderBook / Ticker objects it produces. Symbol metadata
  is parsed offline by cryptofeed's own ``_parse_symbol_data`` from the recorded REST
  response and set with ``Symbols.set`` (a Feed would otherwise fetch it at construction);
  Binance's REST depth snapshot (``http_conn.read``) is answered from the recorded response;
  what the other venues' Feeds need offline (symbols from ccxt's markets, the books their
  ``subscribe()`` would set up, Bybit's ``conn.address``) is set in their ``*_workloads``.

Every pass starts from a fresh state (a new Normalizer / stage / Feed, built untimed) and
times only the frame loop, so book sequences replay correctly; what is alive before the
loop is frozen out of the collector's reach during it, and all the states of a sample are
built before it (``--method``, see ``METHOD``); a sample is as many passes as fill
``--sample-s``. Sides alternate within each round (A B C A B C ...), ``--rounds`` times;
medians over rounds. Before timing, one pass of each side is checked: output counts, and
the outputs themselves compared between the sides (trade ids, prices, sizes, sides; quote
prices; book levels). A cProfile of the native Tapewire core on Binance depth deltas is saved
beside the results file. No thresholds: numbers only (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import gzip
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import ccxt  # noqa: E402

try:
    from cryptofeed.defines import ASK, BID, L1_BOOK, L2_BOOK, TICKER, TRADES
    from cryptofeed.exchanges import (
        OKX,
        Binance,
        BinanceFutures,
        Bitfinex,
        Bitget,
        Bitstamp,
        Bybit,
        Coinbase,
        CryptoDotCom,
        Deribit,
        Gateio,
        Gemini,
        Huobi,
        Kraken,
        KrakenFutures,
        KuCoin,
    )
    from cryptofeed.feed import Feed
    from cryptofeed.symbols import Symbols
    from cryptofeed.types import OrderBook
except ImportError as exc:  # pragma: no cover - the message is the point
    raise SystemExit(
        f"cryptofeed is not installed ({exc}): run `make bench-venv` and use .venv-bench"
    ) from exc

from bench_end_to_end import machine  # noqa: E402

from tapewire.schemas.codec import Codec  # noqa: E402
from tapewire.streams.normalize import Normalizer  # noqa: E402
from tapewire.streams.normalize.mappers.common import (  # noqa: E402
    kraken_crc32,
    okx_checksum_text,
)
from tapewire.streams.stages.base import InMsg  # noqa: E402
from tapewire.streams.stages.normalize import NormalizeStage  # noqa: E402
from tapewire.testing.frames import read_frames  # noqa: E402

REAL = ROOT / "tests" / "data" / "real"
FRAMES = ROOT / "tests" / "data" / "frames"
RESULTS = ROOT / "bench" / "results"

Frame = dict[str, Any]
"""A RawFrame record as decoded from md.raw (``tapewire.testing.frames``)."""
View = tuple[Any, ...]
"""One output as comparable values (same shape on every side of a workload)."""


# --------------------------------------------------------------------------- workloads
@dataclass
class Workload:
    """One venue and channel: the frames of one pass and what each side needs."""

    name: str
    venue: str
    topic: str  # Tapewire output topic counted
    cf_channel: str  # cryptofeed callback channel counted
    frames: list[Frame]  # RawFrame records of one pass, in md.raw order
    counted: int  # websocket frames of the channel in one pass (the per-frame divisor)
    markets: list[dict[str, Any]]  # ccxt unified markets for Tapewire (untimed setup)
    cf_feed: Callable[[], Feed]  # a fresh cryptofeed Feed (callbacks attached later)
    snapshots: dict[str, str] = field(default_factory=dict)  # exchange symbol -> REST text
    note: str = ""
    setup: list[Frame] = field(default_factory=list)  # processed first on each fresh state,
    # untimed: book snapshots (REST for Binance, the websocket snapshot for OKX)
    cf_conn: Any = None  # the ``conn`` cryptofeed's handler gets (Bybit reads its address)
    cf_view: Callable[[Any], View] | None = None  # a cryptofeed output's view, if not the
    # channel's usual one (``cryptofeed_view``)
    skip: tuple[str, ...] = ()  # sides not run on this workload (the note says why)
    ordered: bool = True  # False: outputs compared as sorted lists (the sides emit a
    # frame's items in different orders; the note says why)
    cf_binary: bool = False  # cryptofeed's handler gets the payload bytes (HTX: gzip)


class Core(Protocol):
    """What a Tapewire side needs from a normalizer core."""

    def process_batch(self, frames: Sequence[Frame]) -> Any: ...


CoreFactory = Callable[[Workload], Core]

CORES: dict[str, CoreFactory] = {
    "tapewire ccxt": lambda w: Normalizer(markets={w.venue: w.markets}, native=False),
    "tapewire native": lambda w: Normalizer(markets={w.venue: w.markets}),
}
"""Tapewire cores timed side by side (all sides of a round alternate): the ccxt mapper path
and the native mappers (``tapewire.streams.normalize.mappers``, the default). The first is
the reference of the output checks; the profile is of ``PROFILED``."""
PROFILED = "tapewire native"


def _rows(venue: str) -> list[Frame]:
    return read_frames(REAL / venue / "frames.jsonl", venue)


def _per_connection(frames: list[Frame]) -> list[Frame]:
    """Number ``sequence`` per connection from 0, as the connector does."""
    counters: dict[str, int] = {}
    out = []
    for f in frames:
        seq = counters.get(f["connection_id"], 0)
        counters[f["connection_id"]] = seq + 1
        out.append({**f, "sequence": seq})
    return out


def _unified(venue: str, markets_frame: Frame, instruments: set[str]) -> list[dict[str, Any]]:
    """ccxt unified markets of the recorded REST response, only the captured instruments
    (a fresh Normalizer per pass then builds in ~7 ms instead of ~300 ms)."""
    norm = Normalizer()
    norm.process(markets_frame)
    markets = norm.venues[venue].ex.markets
    return [m for m in markets.values() if m["id"] in instruments]


def _payload(frame: Frame) -> Any:
    return json.loads(frame["payload"])


def _first_applied(snaps: list[Frame], deltas: list[Frame]) -> set[int]:
    """ids of each symbol's first depth delta past its REST snapshot (``u`` > the
    snapshot's ``lastUpdateId``): where a book becomes synced."""
    last = {
        parse_qs(urlparse(r["rest_url"]).query)["symbol"][0]: _payload(r)["lastUpdateId"]
        for r in snaps
    }
    out: set[int] = set()
    for r in deltas:
        data = _payload(r)["data"]
        if data["s"] in last and data["u"] > last[data["s"]]:
            del last[data["s"]]
            out.add(id(r))
    return out


def binance_workloads(trades: int) -> list[Workload]:
    """Depth deltas and bookTicker (recorded), aggTrade (``trades`` frames derived from the
    two recorded ones: ids and prices varied, the shape unchanged)."""
    rows = _rows("binance")
    info = next(r for r in rows if r["transport"] == "REST" and "exchangeInfo" in r["rest_url"])
    syms, sym_info = Binance._parse_symbol_data(json.loads(info["payload"]))
    Symbols.set(Binance.id, syms, sym_info)
    ws = [r for r in rows if r["transport"] == "WEBSOCKET"]
    instruments = {_payload(r)["data"]["s"] for r in ws}
    markets = _unified("binance", info, instruments)
    std = sorted(k for k, v in syms.items() if v in instruments)

    def feed() -> Feed:
        return Binance(symbols=std, channels=[L2_BOOK, TRADES, TICKER])

    snaps = [r for r in rows if r["transport"] == "REST" and "/depth" in r["rest_url"]]
    snapshots = {
        parse_qs(urlparse(r["rest_url"]).query)["symbol"][0]: r["payload"].decode() for r in snaps
    }
    depth = [r for r in rows if "@depth" in str(r["channel"]) or r in snaps]
    deltas = [r for r in depth if r["transport"] == "WEBSOCKET"]
    numbered = _per_connection(deltas)
    first = _first_applied(snaps, numbered)
    bridging = [r for r in numbered if id(r) in first]
    synced = [r for r in numbered if id(r) not in first]
    tickers = [r for r in ws if str(r["channel"]).endswith("@bookTicker")]
    recorded = [r for r in ws if str(r["channel"]).endswith("@aggTrade")]
    derived = []
    for i in range(trades):
        template = recorded[i % len(recorded)]
        msg = _payload(template)
        data = msg["data"]
        data["a"] = data["a"] + i
        data["f"] = data["l"] = data["a"]
        price = Decimal(data["p"])
        data["p"] = f"{price + Decimal(i % 97) * Decimal('0.00001'):f}"
        data["q"] = f"{Decimal(data['q']) + i % 13:f}"
        data["m"] = bool(i % 2)
        data["T"] = data["E"] = data["T"] + i
        payload = json.dumps(msg, separators=(",", ":")).encode()
        derived.append(
            {**template, "payload": payload, "receive_ts_ns": template["receive_ts_ns"] + i}
        )
    return [
        Workload(
            "binance depth deltas",
            "binance",
            "md.book",
            L2_BOOK,
            synced,
            len(synced),
            markets,
            feed,
            snapshots,
            f"recorded 2021-10-12: the {len(synced)} depth@100ms frames on synced books timed; "
            "untimed first: the 4 REST snapshots (1000 levels; Tapewire: REST frames, "
            "cryptofeed: its own _snapshot, the fetch answered from the recording), then each "
            "symbol's first applied delta (Tapewire publishes the snapshot there)",
            setup=snaps + bridging,
        ),
        Workload(
            "binance depth + snapshots",
            "binance",
            "md.book",
            L2_BOOK,
            _per_connection(depth),
            len(deltas),
            markets,
            feed,
            snapshots,
            "the same 177 frames with the 4 REST snapshots in capture order, all timed "
            "(cryptofeed fetches each at the symbol's first delta); per depth frame",
        ),
        Workload(
            "binance aggTrade",
            "binance",
            "md.trades",
            TRADES,
            _per_connection(derived),
            len(derived),
            markets,
            feed,
            note=f"{trades} frames derived from the 2 recorded aggTrade frames (ids, prices, "
            "sizes, sides varied)",
        ),
        Workload(
            "binance bookTicker",
            "binance",
            "md.quotes",
            TICKER,
            _per_connection(tickers * 10),
            len(tickers) * 10,
            markets,
            feed,
            note="the 84 recorded bookTicker frames, 10 times per pass (stateless)",
        ),
    ]


def okx_workloads() -> list[Workload]:
    """Books (snapshot + updates with checksums), trades, tickers: all recorded."""
    rows = _rows("okx")
    info = next(r for r in rows if r["transport"] == "REST")
    syms, sym_info = OKX._parse_symbol_data([json.loads(info["payload"])])
    Symbols.set(OKX.id, syms, sym_info)
    ws = [r for r in rows if r["transport"] == "WEBSOCKET" and "arg" in _payload(r)]
    data = [r for r in ws if "data" in _payload(r)]
    markets = _unified("okx", info, {"BTC-USDT"})

    def by(channel: str) -> list[Frame]:
        return [r for r in data if _payload(r)["arg"]["channel"] == channel]

    def feed(checksum: bool = False) -> Callable[[], Feed]:
        return lambda: OKX(
            symbols=["BTC-USDT"],
            channels=[L2_BOOK, TRADES, TICKER],
            checksum_validation=checksum,
        )

    books, trades, tickers = by("books"), by("trades"), by("tickers")
    assert _payload(books[0])["action"] == "snapshot"
    return [
        Workload(
            "okx books",
            "okx",
            "md.book",
            L2_BOOK,
            _per_connection(books)[1:],
            len(books) - 1,
            markets,
            feed(),
            note="recorded 2022-05-13: the 97 updates timed, the snapshot (400 levels) applied "
            "first, untimed; Tapewire checks every checksum, cryptofeed only with "
            "checksum_validation=True (both sides shown)",
            setup=_per_connection(books)[:1],
        ),
        Workload(
            "okx trades",
            "okx",
            "md.trades",
            TRADES,
            _per_connection(trades),
            len(trades),
            markets,
            feed(),
            note="the 69 recorded trades frames (Tapewire dedups trade ids: once per pass)",
        ),
        Workload(
            "okx tickers",
            "okx",
            "md.quotes",
            TICKER,
            _per_connection(tickers * 10),
            len(tickers) * 10,
            markets,
            feed(),
            note="the 25 recorded tickers frames, 10 times per pass (stateless)",
        ),
    ]


def _frames(venue: str, name: str = "frames") -> list[Frame]:
    return read_frames(REAL / venue / f"{name}.jsonl", venue)


def _split(template: Frame, items: list[dict[str, Any]]) -> list[Frame]:
    """One websocket frame per item of a recorded list (a snapshot's trades), the item's
    text as recorded in ``template`` (checked verbatim), in the item order given."""
    out = []
    for i, item in enumerate(items):
        text = json.dumps(item, separators=(",", ":"))
        if text.encode() not in template["payload"]:
            raise SystemExit(f"not verbatim in the recording: {text[:80]}")
        out.append(
            {**template, "payload": text.encode(), "receive_ts_ns": template["receive_ts_ns"] + i}
        )
    return out


def krakenfutures_workloads() -> list[Workload]:
    """Book (snapshots + one level per frame, ``seq`` +1), trades, ticker_lite: recorded
    (markets: ccxt's parse of the recorded instruments response, ``tests/data/frames``)."""
    venue = "krakenfutures"
    markets = json.loads((FRAMES / venue / "markets.json").read_text(encoding="utf-8"))
    # cryptofeed's own parse of the instruments response (ccxt keeps each entry as ``info``;
    # lower-case symbols as the 2021 endpoint listed them: cryptofeed lower-cases the
    # socket's product_id to look them up)
    syms, sym_info = KrakenFutures._parse_symbol_data({"instruments": [m["info"] for m in markets]})
    Symbols.set(KrakenFutures.id, syms, sym_info)
    std = sorted(syms)

    def feed() -> Feed:
        f = KrakenFutures(symbols=std, channels=[L2_BOOK, TRADES, TICKER])
        f._KrakenFutures__reset()  # what its subscribe() does: books, seq_no
        return f

    ws = [r for r in _frames(venue) if r["transport"] == "WEBSOCKET"]

    def by(feed_name: str) -> list[Frame]:
        return [
            r for r in ws if _payload(r).get("feed") == feed_name and "event" not in _payload(r)
        ]

    snaps, books, tickers = by("book_snapshot"), by("book"), by("ticker_lite")
    trades = [
        f
        for snap in by("trade_snapshot")
        for f in _split(snap, list(reversed(_payload(snap)["trades"])))
    ] + by("trade")
    return [
        Workload(
            "krakenfutures book",
            venue,
            "md.book",
            L2_BOOK,
            _per_connection(books),
            len(books),
            markets,
            feed,
            note=f"recorded 2021-07-22 PI_XRPUSD, FI_BCHUSD_210730: the {len(books)} book "
            "frames (one level each, seq +1, checked on both sides) timed; the 2 "
            "book_snapshot frames applied first, untimed",
            setup=_per_connection(snaps),
        ),
        Workload(
            "krakenfutures trades",
            venue,
            "md.trades",
            TRADES,
            _per_connection(trades),
            len(trades),
            markets,
            feed,
            note=f"{len(trades)} recorded trades, each as a trade frame: the 200 of the 2 "
            "trade_snapshot frames (each trade's text as recorded, oldest first; cryptofeed "
            "ignores trade_snapshot) and the 1 live trade frame",
        ),
        Workload(
            "krakenfutures ticker_lite",
            venue,
            "md.quotes",
            TICKER,
            _per_connection(tickers * 10),
            len(tickers) * 10,
            markets,
            feed,
            note=f"the {len(tickers)} recorded ticker_lite frames, 10 times per pass (stateless)",
        ),
    ]


def gemini_workloads() -> list[Workload]:
    """Book (l2_updates: the first per symbol is the book) and trades: recorded."""
    venue = "gemini"
    markets = json.loads((FRAMES / venue / "markets.json").read_text(encoding="utf-8"))
    ws = [r for r in _frames(venue) if r["transport"] == "WEBSOCKET"]
    updates = [r for r in ws if _payload(r)["type"] == "l2_updates"]
    firsts = [r for r in updates if "trades" in _payload(r)]
    recorded = {_payload(r)["symbol"] for r in updates}
    # cryptofeed's own parse of /v1/symbols/details entries (not recorded: ccxt's markets
    # kept only the /v1/symbols list), built from ccxt's markets in that shape
    syms, sym_info = Gemini._parse_symbol_data(
        [
            {
                "symbol": m["id"].upper(),
                "base_currency": m["base"],
                "quote_currency": m["quote"],
                "tick_size": m["precision"]["price"],
                "status": "open",
            }
            for m in markets
            if m["id"].upper() in recorded
        ]
    )
    Symbols.set(Gemini.id, syms, sym_info)
    std = sorted(syms)

    def feed() -> Feed:
        f = Gemini(symbols=std, channels=[L2_BOOK, TRADES])
        f._Gemini__reset(list(syms.values()))  # what its subscribe() does: empty books
        return f

    later = [r for r in updates if r not in firsts]
    trades = [f for r in firsts for f in _split(r, _payload(r)["trades"])]
    trades += [r for r in ws if _payload(r)["type"] == "trade"]
    return [
        Workload(
            "gemini book",
            venue,
            "md.book",
            L2_BOOK,
            _per_connection(later),
            len(later),
            markets,
            feed,
            note=f"recorded 2021-06-24 ALCXUSD, ANKRUSD: the {len(later)} later l2_updates "
            "timed; each symbol's first l2_updates (the whole book, 50 recent trades) applied "
            "first, untimed",
            setup=_per_connection(firsts),
        ),
        Workload(
            "gemini trades",
            venue,
            "md.trades",
            TRADES,
            _per_connection(trades),
            len(trades),
            markets,
            feed,
            note=f"{len(trades)} recorded trades, each as a trade frame: the 100 listed in the "
            "2 first l2_updates (each trade's text as recorded; cryptofeed ignores them there) "
            "and the 4 live trade frames",
        ),
    ]


@dataclass
class _Conn:
    """What cryptofeed's Bybit handler reads of its connection: the socket address."""

    address: str


def _top(book: Any) -> View:
    """cryptofeed's one-level book as a quote view: (best bid, best ask)."""
    bids, asks = book.book.bids.to_dict(), book.book.asks.to_dict()
    return (max(bids) if bids else None, min(asks) if asks else None)


def bybit_workloads() -> list[Workload]:
    """``orderbook.1`` (Bybit's BBO): recorded, markets documentation-shaped."""
    venue = "bybit"
    rest = read_frames(FRAMES / venue / "bbo-markets.json", venue)
    norm = Normalizer()
    norm.load_markets(venue, rest)
    markets = list(norm.venues[venue].ex.markets.values())
    syms, sym_info = Bybit._parse_symbol_data([json.loads(r["payload"]) for r in rest])
    Symbols.set(Bybit.id, syms, sym_info)
    std = sorted(syms)

    def feed() -> Feed:
        return Bybit(symbols=std, channels=[L2_BOOK])

    ws = [r for r in _frames(venue, "bbo") if "topic" in _payload(r)]
    return [
        Workload(
            "bybit orderbook.1",
            venue,
            "md.quotes",
            L2_BOOK,
            _per_connection(ws * 10),
            len(ws) * 10,
            markets,
            feed,
            note=f"recorded 2025-06-13: the {len(ws)} orderbook.1 frames (6 spot symbols, "
            "every one a snapshot), 10 times per pass; Tapewire: a quote each; cryptofeed "
            "(no Bybit L1 channel; it subscribes orderbook.200) parses them with its L2 book "
            "handler: a one-level book snapshot each, compared as (best bid, best ask)",
            cf_conn=_Conn("wss://stream.bybit.com/v5/public/spot"),
            cf_view=_top,
        ),
    ]


# --------------------------------------------------------------------------- documentation-derived
# Venues without a recorded capture: the valid frames of their documentation-derived
# fixtures (``tests/data/frames/<venue>``, provenance in its README; the deliberately broken
# frames left out), derived to a pass's length where needed (ids, prices, sizes varied, the
# frame shape kept). Named ``... (doc)``; run only with ``--doc``.
DOC_NOTE = "documentation-derived frames (not a capture): "


def _doc_frames(venue: str, name: str = "frames") -> list[Frame]:
    return read_frames(FRAMES / venue / f"{name}.jsonl", venue)


def _add_symbols(exchange: str, syms: dict[str, str], info: dict[str, Any]) -> None:
    """``Symbols.set``, merged with what another workload set for the same cryptofeed id."""
    if Symbols.populated(exchange):
        old_syms, old_info = Symbols.get(exchange)
        syms = {**old_syms, **syms}
        merged: dict[str, Any] = {k: dict(v) for k, v in old_info.items()}
        for key, values in info.items():
            merged.setdefault(key, {}).update(values)
        info = merged
    Symbols.set(exchange, syms, info)


def _json_frame(template: Frame, msg: Any, i: int) -> Frame:
    """A derived websocket frame: ``msg`` as compact JSON, received ``i`` ns after
    ``template``."""
    payload = json.dumps(msg, separators=(",", ":")).encode()
    return {**template, "payload": payload, "receive_ts_ns": template["receive_ts_ns"] + i}


def _tick(text: str, steps: int, tick: str) -> str:
    """``text`` moved by ``steps`` ticks, with the wire text's number of decimals."""
    value = Decimal(text) + steps * Decimal(tick)
    return f"{value:.{max(0, -Decimal(text).as_tuple().exponent)}f}"  # type: ignore[operator]


def binanceusdm_workloads(n: int = 400) -> list[Workload]:
    """aggTrade, bookTicker and depth deltas derived from the USD-M fixture's valid frames."""
    venue = "binanceusdm"
    rows = _doc_frames(venue)
    info = next(r for r in rows if r["transport"] == "REST" and "exchangeInfo" in r["rest_url"])
    syms, sym_info = BinanceFutures._parse_symbol_data(json.loads(info["payload"]))
    _add_symbols(BinanceFutures.id, syms, sym_info)
    valid = []
    for r in rows:
        try:
            msg = _payload(r)
        except ValueError:
            continue  # the truncated trade (a dead-letter test)
        if r["transport"] == "WEBSOCKET" and "data" in msg:
            valid.append(r)
    instruments = {_payload(r)["data"]["s"] for r in valid}
    markets = _unified(venue, info, instruments)
    std = sorted(k for k, v in syms.items() if v in instruments)

    def feed() -> Feed:
        return BinanceFutures(symbols=std, channels=[L2_BOOK, TRADES, TICKER])

    def of(event: str) -> list[Frame]:
        return [r for r in valid if _payload(r)["data"]["e"] == event]

    trades = []
    for i, template in enumerate(of("aggTrade") * (n // 2)):
        msg = _payload(template)
        data = msg["data"]
        data["a"] += i
        data["f"] = data["l"] = data["f"] + i
        data["p"] = _tick(data["p"], i % 97, "0.10")
        data["q"] = _tick(data["q"], i % 13, "0.001")
        data["m"] = bool(i % 2)
        data["T"] += i
        data["E"] += i
        trades.append(_json_frame(template, msg, i))
    tickers = []
    for i, template in enumerate(of("bookTicker") * n):
        msg = _payload(template)
        data = msg["data"]
        data["u"] += i
        data["b"] = _tick(data["b"], -(i % 7), "0.10")
        data["a"] = _tick(data["a"], i % 5, "0.10")
        data["B"] = _tick(data["B"], i % 11, "0.001")
        data["A"] = _tick(data["A"], i % 17, "0.001")
        data["T"] += i
        data["E"] += i
        tickers.append(_json_frame(template, msg, i))
    # depth: the REST snapshot (lastUpdateId 158) and the delta spanning it (158..160) set up
    # the book; then 161..163 and deltas derived from it, each chaining (pu = previous u)
    depth = [r for r in rows if "@depth" in str(r["channel"])]
    snap = next(r for r in rows if "/depth" in str(r["rest_url"]))
    last = _payload(snap)["lastUpdateId"]
    bridge = next(r for r in depth if _payload(r)["data"]["U"] <= last <= _payload(r)["data"]["u"])
    template = next(r for r in depth if _payload(r)["data"]["pu"] == _payload(bridge)["data"]["u"])
    deltas = [template]
    prev = _payload(template)["data"]
    for i in range(1, n):
        msg = _payload(template)
        data = msg["data"]
        data["pu"] = prev["u"]
        data["U"] = prev["u"] + 1
        data["u"] = data["U"] + i % 3
        data["E"] = prev["E"] + 100
        data["T"] = prev["T"] + 100
        # bids below, asks above the snapshot's touch; every 5th frame deletes the
        # previous frame's bid level
        bid = _tick("16540.00", i % 90, "0.10")
        size = "0" if i % 5 == 0 else _tick("0.100", i % 23, "0.001")
        if i % 5 == 0:
            bid = _tick("16540.00", (i - 1) % 90, "0.10")
        data["b"] = [[bid, size]]
        data["a"] = [[_tick("16551.00", i % 90, "0.10"), _tick("1.000", i % 19, "0.001")]]
        deltas.append(_json_frame(template, msg, i))
        prev = data
    snapshots = {"BTCUSDT": snap["payload"].decode()}
    return [
        Workload(
            "binanceusdm aggTrade (doc)",
            venue,
            "md.trades",
            TRADES,
            _per_connection(trades),
            len(trades),
            markets,
            feed,
            note=DOC_NOTE + f"{len(trades)} aggTrade frames derived from the fixture's 2 "
            "(BTCUSDT, ETHUSDT; ids, prices, sizes, sides varied)",
        ),
        Workload(
            "binanceusdm bookTicker (doc)",
            venue,
            "md.quotes",
            TICKER,
            _per_connection(tickers),
            len(tickers),
            markets,
            feed,
            note=DOC_NOTE + f"{len(tickers)} bookTicker frames derived from the fixture's 1 "
            "(update ids, prices, sizes varied)",
        ),
        Workload(
            "binanceusdm depth (doc)",
            venue,
            "md.book",
            L2_BOOK,
            _per_connection(deltas),
            len(deltas),
            markets,
            feed,
            snapshots,
            DOC_NOTE + f"{len(deltas)} depth deltas timed: the fixture's 161..163 (pu 160) and "
            "deltas derived from it (pu chained; a bid and an ask each, every 5th a bid "
            "delete); untimed first: the REST snapshot (lastUpdateId 158) and the delta "
            "spanning it (158..160)",
            setup=_per_connection([snap, bridge]),
        ),
    ]


def bybit_doc_workloads(n: int = 400) -> list[Workload]:
    """publicTrade and orderbook.50 (spot BTCUSDT) derived from the fixture's valid frames."""
    venue = "bybit"
    rows = _doc_frames(venue)
    rest = [r for r in rows if r["transport"] == "REST"]
    norm = Normalizer()
    norm.load_markets(venue, rest)
    markets = list(norm.venues[venue].ex.markets.values())
    syms, sym_info = Bybit._parse_symbol_data([json.loads(r["payload"]) for r in rest])
    _add_symbols(Bybit.id, syms, sym_info)
    std = sorted(syms)

    def feed() -> Feed:
        return Bybit(symbols=std, channels=[L2_BOOK, TRADES])

    ws = []
    for r in rows:
        try:
            ws.append((r, _payload(r)))
        except ValueError:
            continue  # the truncated delta (a dead-letter test)
    # the first trade frame (2 trades: a UUID id and a numeric one) is the template; the
    # malformed price frame and the duplicate are left out
    template = next(r for r, m in ws if m.get("topic", "").startswith("publicTrade"))
    trades = []
    for i in range(n):
        msg = _payload(template)
        for j, t in enumerate(msg["data"]):
            k = 2 * i + j
            t["i"] = f"{t['i'][:-12]}{k:012x}" if "-" in t["i"] else str(int(t["i"]) + k)
            t["p"] = _tick(t["p"], k % 97, "0.50")
            t["v"] = _tick(t["v"], k % 13, "0.001")
            t["S"] = "Buy" if k % 3 else "Sell"
            t["T"] += k
        msg["ts"] += 2 * i
        trades.append(_json_frame(template, msg, i))
    # orderbook.50: the first snapshot (u 18521288) set up; the 2 deltas chaining on it
    # (u +1) and deltas derived from the last, each u +1
    book = [(r, m) for r, m in ws if m.get("topic", "").startswith("orderbook.50")]
    snap_i = next(i for i, (_, m) in enumerate(book) if m["type"] == "snapshot")
    snap = book[snap_i][0]
    deltas = [book[snap_i + 1][0], book[snap_i + 2][0]]
    template = deltas[-1]
    prev = _payload(template)
    for i in range(len(deltas), n):
        msg = _payload(template)
        data = msg["data"]
        data["u"] = prev["data"]["u"] + 1
        data["seq"] = prev["data"]["seq"] + 3
        msg["ts"] = prev["ts"] + 20
        msg["cts"] = prev["cts"] + 20
        # bids below, asks above the snapshot's touch; every 5th frame deletes the
        # previous frame's bid level
        bid = _tick("16480.00", (i - 1 if i % 5 == 0 else i) % 90, "0.50")
        data["b"] = [[bid, "0" if i % 5 == 0 else _tick("0.100", i % 23, "0.001")]]
        data["a"] = [[_tick("16615.00", i % 90, "0.50"), _tick("1.000", i % 19, "0.001")]]
        deltas.append(_json_frame(template, msg, i))
        prev = msg
    conn = _Conn("wss://stream.bybit.com/v5/public/spot")
    return [
        Workload(
            "bybit trades (doc)",
            venue,
            "md.trades",
            TRADES,
            _per_connection(trades),
            len(trades),
            markets,
            feed,
            note=DOC_NOTE + f"{len(trades)} publicTrade frames of 2 trades each, derived "
            "from the fixture's first (ids, prices, sizes, sides varied)",
            cf_conn=conn,
        ),
        Workload(
            "bybit orderbook.50 (doc)",
            venue,
            "md.book",
            L2_BOOK,
            _per_connection(deltas),
            len(deltas),
            markets,
            feed,
            note=DOC_NOTE + f"{len(deltas)} orderbook.50 deltas timed: the fixture's 2 after "
            "its first snapshot and deltas derived from them (u +1; a bid and an ask "
            "each, every 5th a bid delete); the snapshot (u 18521288) applied first, untimed",
            setup=_per_connection([snap]),
            cf_conn=conn,
        ),
    ]


def _crc_book(book: dict[str, dict[str, str]]) -> str:
    """Kraken's checksum of a book of wire texts (price text -> size text), top 10."""
    asks = sorted(book["a"].items(), key=lambda lv: Decimal(lv[0]))
    bids = sorted(book["b"].items(), key=lambda lv: -Decimal(lv[0]))
    return str(kraken_crc32(asks, bids))


def _kraken_trade_view() -> Callable[[Any], View]:
    """cryptofeed's Kraken v1 trade (no id: v1 trades have none) as Tapewire's view, whose
    trade id is ``{time}-{n}`` (``n``: the trade's place in its frame): every frame of the
    workload holds 2 trades, so ``n`` is the output's count modulo 2."""
    count = 0

    def view(obj: Any) -> View:
        nonlocal count
        n, count = count % 2, count + 1
        return (f"{obj.raw[2]}-{n}", obj.price, obj.amount, obj.side.upper())

    return view


V1 = "; no tapewire ccxt side: ccxt.pro's kraken dispatches only v2 objects"


def kraken_v1_workloads(n: int = 400) -> list[Workload]:
    """Spot websocket v1 (what cryptofeed's ``Kraken`` speaks): trade, book-10 (checksummed
    updates), ticker, derived from ``kraken/v1.jsonl``'s valid frames."""
    venue = "kraken"
    rows = _doc_frames(venue, "v1")
    rest = [r for r in rows if r["transport"] == "REST"]
    norm = Normalizer()
    norm.load_markets(venue, rest)
    ws = [(r, _payload(r)) for r in rows if r["transport"] == "WEBSOCKET"]
    arrays = [(r, m) for r, m in ws if isinstance(m, list)]
    pairs = {m[-1] for _, m in arrays}
    markets = [m for m in norm.venues[venue].ex.markets.values() if m["info"]["wsname"] in pairs]
    pair_rest = next(r for r in rest if "AssetPairs" in r["rest_url"])
    syms, sym_info = Kraken._parse_symbol_data(json.loads(pair_rest["payload"]))
    _add_symbols(Kraken.id, syms, sym_info)
    std = sorted(k for k, v in syms.items() if v in pairs)

    def feed() -> Feed:
        return Kraken(symbols=std, channels=[L2_BOOK, TRADES, TICKER], max_depth=10)

    def by(name: str) -> list[tuple[Frame, list[Any]]]:
        return [(r, m) for r, m in arrays if m[-2] == name]

    template, _ = by("trade")[0]
    trades = []
    for i in range(n):
        msg = _payload(template)
        time_ = f"{1695628200 + i}.{(i * 7919) % 1_000_000:06d}"
        for j, t in enumerate(msg[1]):
            k = 2 * i + j
            t[0] = _tick(t[0], k % 97, "0.1")
            t[1] = _tick(t[1], k % 13, "0.001")
            t[2] = time_
            t[3] = "b" if k % 3 else "s"
        trades.append(_json_frame(template, msg, i))
    template, _ = by("ticker")[0]
    tickers = []
    for i in range(n):
        msg = _payload(template)
        t = msg[1]
        t["b"][0] = _tick(t["b"][0], -(i % 7), "0.1")
        t["a"][0] = _tick(t["a"][0], i % 5, "0.1")
        t["b"][2] = _tick(t["b"][2], i % 11, "0.001")
        t["a"][2] = _tick(t["a"][2], i % 17, "0.001")
        tickers.append(_json_frame(template, msg, i))
    # book-10: the first snapshot set up; its valid update (2 payloads, a delete, checksum)
    # and updates derived from it, each checksum computed over the book it leaves
    books = by("book-10")
    snap_i = next(i for i, (_, m) in enumerate(books) if "as" in m[1])
    snap, snap_msg = books[snap_i]
    update, update_msg = books[snap_i + 1]
    book = {side: {lv[0]: lv[1] for lv in snap_msg[1][f"{side}s"]} for side in "ab"}
    for payload in update_msg[1:-2]:
        for side in "ab":
            for price, size, *_ in payload.get(side, []):
                if Decimal(size):
                    book[side][price] = size
                else:
                    book[side].pop(price)
    if _crc_book(book) != update_msg[2]["c"]:
        raise SystemExit("kraken v1: the fixture's update checksum does not match")
    deltas = [update]
    asks = sorted(book["a"])
    bids = ["45283.50000", "45282.10000", "45283.40000"]
    for i in range(1, n):
        msg = _payload(update)
        stamp = f"{1696613760 + i}.{i % 1_000_000:06d}"
        ask = asks[i % len(asks)]
        ask_size = _tick("1.00000000", i % 19, "0.001")
        book["a"][ask] = ask_size
        bid = bids[i % len(bids)]
        if bid in book["b"] and i % 4 == 0:
            bid_size = "0.00000000"
            del book["b"][bid]
        else:
            bid_size = book["b"][bid] = _tick("0.10000000", i % 23, "0.001")
        msg[1] = {"a": [[ask, ask_size, stamp]]}
        msg[2] = {"b": [[bid, bid_size, stamp]], "c": _crc_book(book)}
        deltas.append(_json_frame(update, msg, i))
    return [
        Workload(
            "kraken v1 trade (doc)",
            venue,
            "md.trades",
            TRADES,
            _per_connection(trades),
            len(trades),
            markets,
            feed,
            note=DOC_NOTE + f"{len(trades)} v1 trade frames of 2 trades each, derived from "
            "v1.jsonl's (times, prices, sizes, sides varied; v1 trades have no id: "
            "Tapewire's is time-index, cryptofeed's None, compared as Tapewire's)" + V1,
            cf_view=_kraken_trade_view(),
            skip=("tapewire ccxt",),
        ),
        Workload(
            "kraken v1 book-10 (doc)",
            venue,
            "md.book",
            L2_BOOK,
            _per_connection(deltas),
            len(deltas),
            markets,
            feed,
            note=DOC_NOTE + f"{len(deltas)} v1 book-10 updates timed: v1.jsonl's first (two "
            "payloads, a delete) and updates derived from it (an ask and a bid each, bid "
            "deletes, the checksum of the resulting book; Tapewire verifies every one, "
            "cryptofeed does not by default); the snapshot applied first, untimed" + V1,
            setup=_per_connection([snap]),
            skip=("tapewire ccxt",),
        ),
        Workload(
            "kraken v1 ticker (doc)",
            venue,
            "md.quotes",
            TICKER,
            _per_connection(tickers),
            len(tickers),
            markets,
            feed,
            note=DOC_NOTE + f"{len(tickers)} v1 ticker frames derived from v1.jsonl's 1 "
            "(best bid/ask prices and sizes varied)" + V1,
            skip=("tapewire ccxt",),
        ),
    ]


def _number(text: str) -> int | float:
    """A JSON number for a decimal text (float repr round-trips up to 15 digits)."""
    return float(text) if "." in text else int(text)


def bitstamp_workloads(n: int = 400) -> list[Workload]:
    """live_trades and diff_order_book (on the order_book channel's snapshot), derived from
    the fixture's valid frames."""
    venue = "bitstamp"
    markets = json.loads((FRAMES / venue / "markets.json").read_text(encoding="utf-8"))
    # cryptofeed's own parse of /api/v2/trading-pairs-info/ entries (not in the fixture),
    # built from ccxt's markets (its ``info``: /api/v2/markets/) in that shape
    syms, sym_info = Bitstamp._parse_symbol_data(
        [
            {
                "name": m["info"]["name"],
                "url_symbol": m["info"]["market_symbol"],
                "trading": m["info"]["trading"],
            }
            for m in markets
        ]
    )
    _add_symbols(Bitstamp.id, syms, sym_info)
    std = sorted(syms)
    ws = []
    for r in _doc_frames(venue):
        try:
            ws.append((r, _payload(r)))
        except ValueError:
            continue  # the truncated trade (a dead-letter test)
    known = {m["id"] for m in markets}
    data = [(r, m) for r, m in ws if m["event"] in ("trade", "data")]
    data = [(r, m) for r, m in data if m["channel"].rsplit("_", 1)[-1] in known]
    snap, snap_msg = next((r, m) for r, m in data if m["channel"].startswith("order_book"))
    start = data.index((snap, snap_msg))
    after = int(snap_msg["data"]["microtimestamp"])

    def feed() -> Feed:
        f = Bitstamp(symbols=std, channels=[L2_BOOK, TRADES])
        # what its subscribe() sets up with the REST /api/v2/order_book/ response (the same
        # layout as the order_book channel's snapshot Tapewire uses): the book and
        # last_update_id (its timestamp)
        book = snap_msg["data"]
        pair = f.exchange_symbol_to_std_symbol(snap_msg["channel"].rsplit("_", 1)[-1])
        f.last_update_id = {pair: book["timestamp"]}
        f._l2_book[pair] = OrderBook(
            f.id,
            pair,
            max_depth=f.max_depth,
            bids={Decimal(p): Decimal(s) for p, s in book["bids"]},
            asks={Decimal(p): Decimal(s) for p, s in book["asks"]},
        )
        return f

    # the recorded trades once each (the fixture repeats one: a duplicate test)
    recorded = list({m["data"]["id"]: r for r, m in data if m["event"] == "trade"}.values())
    first_id = _payload(recorded[0])["data"]["id"]
    trades = []
    for i in range(n):
        template = recorded[i % len(recorded)]
        msg = _payload(template)
        t = msg["data"]
        t["id"] = first_id + i
        t["price_str"] = _tick(t["price_str"], i % 97, "1")
        t["price"] = _number(t["price_str"])
        t["amount_str"] = _tick(t["amount_str"], i % 13, "0.001")
        t["amount"] = _number(t["amount_str"])
        t["type"] = i % 2
        t["buy_order_id"] += 2 * i
        t["sell_order_id"] += 2 * i
        micro = int(t["microtimestamp"]) + 1000 * i
        t["microtimestamp"] = str(micro)
        t["timestamp"] = str(micro // 1_000_000)
        trades.append(_json_frame(template, msg, i))
    # diff_order_book: the deltas after the snapshot (microtimestamp later than its) and
    # deltas derived from the last one
    deltas = [
        r
        for r, m in data[start + 1 :]
        if m["channel"].startswith("diff_order_book") and int(m["data"]["microtimestamp"]) > after
    ]
    template = deltas[-1]
    micro = int(_payload(template)["data"]["microtimestamp"])
    for i in range(len(deltas), n):
        msg = _payload(template)
        d = msg["data"]
        micro += 10_000
        d["microtimestamp"] = str(micro)
        d["timestamp"] = str(micro // 1_000_000)
        bid = str(37230 + (i - 1 if i % 5 == 0 else i) % 15)
        d["bids"] = [[bid, "0.00000000" if i % 5 == 0 else _tick("0.10000000", i % 23, "0.001")]]
        d["asks"] = [[str(37255 + i % 15), _tick("1.00000000", i % 19, "0.001")]]
        deltas.append(_json_frame(template, msg, i))
    return [
        Workload(
            "bitstamp trades (doc)",
            venue,
            "md.trades",
            TRADES,
            _per_connection(trades),
            len(trades),
            markets,
            feed,
            note=DOC_NOTE + f"{len(trades)} live_trades frames derived from the fixture's 2 "
            "(ids, prices, sizes, sides varied; the numbers and their _str texts kept equal)",
        ),
        Workload(
            "bitstamp diff_order_book (doc)",
            venue,
            "md.book",
            L2_BOOK,
            _per_connection(deltas),
            len(deltas),
            markets,
            feed,
            note=DOC_NOTE + f"{len(deltas)} diff_order_book deltas timed: the fixture's 2 "
            "after its first order_book snapshot and deltas derived from them "
            "(microtimestamp later; a bid and an ask each, every 5th a bid delete); the "
            "snapshot applied first, untimed (Tapewire: the order_book channel frame; "
            "cryptofeed: the same book set as its subscribe() sets the REST snapshot)",
            setup=_per_connection([snap]),
        ),
    ]


@dataclass
class _SeqConn:
    """What cryptofeed's Bitfinex handler reads of its connection: the id its sequence
    numbers are kept under."""

    uuid: str


def _seq_all(frames: list[Frame]) -> list[Frame]:
    """Bitfinex frames as with the ``SEQ_ALL`` conf flag (65536, what cryptofeed subscribes
    with and requires): each array frame ends with the connection's message number, from
    1; events unchanged."""
    out, seq = [], 0
    for f in frames:
        text = f["payload"].decode()
        if text.startswith("["):
            seq += 1
            text = f"{text[:-1]},{seq}]"
        out.append({**f, "payload": text.encode()})
    return out


def bitfinex_workloads(n: int = 400) -> list[Workload]:
    """trades (te), book (P0 deltas) and ticker, derived from the fixture's valid frames,
    in the ``SEQ_ALL`` frame format cryptofeed reads (see ``_seq_all``)."""
    venue = "bitfinex"
    markets = json.loads((FRAMES / venue / "markets.json").read_text(encoding="utf-8"))
    # cryptofeed's own parse of the conf lists (pairs, currencies, perpetuals; not in the
    # fixture), built from ccxt's markets
    spot = [m["id"][1:] for m in markets if m["spot"]]
    perps = [m["id"][1:] for m in markets if m["swap"]]
    syms, sym_info = Bitfinex._parse_symbol_data([[spot], [[]], [perps]])
    _add_symbols(Bitfinex.id, syms, sym_info)
    std = sorted(syms)

    def feed() -> Feed:
        return Bitfinex(symbols=std, channels=[L2_BOOK, TRADES, TICKER])

    rows = []
    for r in _doc_frames(venue):
        try:
            rows.append((r, _payload(r)))
        except ValueError:
            continue  # the truncated frame (a dead-letter test)
    events = [r for r, m in rows if isinstance(m, dict)]
    info = next(r for r in events if _payload(r)["event"] == "info")
    subs: dict[str, list[Frame]] = {}
    for r in events:
        m = _payload(r)
        if m["event"] == "subscribed" and m["symbol"] in {x["id"] for x in markets}:
            subs.setdefault(m["channel"], []).append(r)
    chan = {m["chanId"]: m["channel"] for m in map(_payload, events) if "channel" in m}

    def text_frame(template: Frame, text: str, i: int) -> Frame:
        return {
            **template,
            "payload": text.encode(),
            "receive_ts_ns": template["receive_ts_ns"] + i,
        }

    def workload(name: str, setup: list[Frame], frames: list[Frame], note: str) -> Workload:
        numbered = _per_connection(_seq_all(setup + frames))
        topic, cf_channel = {
            "trades": ("md.trades", TRADES),
            "book": ("md.book", L2_BOOK),
            "ticker": ("md.quotes", TICKER),
        }[name.split()[1]]
        return Workload(
            name,
            venue,
            topic,
            cf_channel,
            numbered[len(setup) :],
            len(frames),
            markets,
            feed,
            note=DOC_NOTE + note + "; every array frame with a SEQ_ALL message number "
            "(cryptofeed raises without; Tapewire ignores it)",
            setup=numbered[: len(setup)],
            cf_conn=_SeqConn("c1"),
        )

    te = [(r, m) for r, m in rows if isinstance(m, list) and m[1] == "te"]
    te = list({m[2][0]: (r, m) for r, m in te}.values())  # once each (one is a duplicate)
    known = {_payload(r)["chanId"] for r in subs["trades"]}  # not the unknown-pair test's
    te = [(r, m) for r, m in te if m[0] in known]
    first_id = min(m[2][0] for _, m in te)
    trades = []
    for i in range(n):
        template, m = te[i % len(te)]
        _, mts, amount, price = m[2]
        size = _tick(str(abs(Decimal(str(amount)))), i % 13, "0.001")
        amount_text = size if i % 2 else f"-{size}"
        price_text = _tick(str(price), i % 97, "0.1")
        trades.append(
            text_frame(
                template,
                f'[{m[0]},"te",[{first_id + i},{mts + i},{amount_text},{price_text}]]',
                i,
            )
        )
    # book: the first snapshot set up; the deltas after it and deltas derived from them
    # (without the checksum frames, which the SEQ_ALL format cryptofeed reads leaves out)
    book_rows = [(r, m) for r, m in rows if isinstance(m, list) and chan.get(m[0]) == "book"]
    first_book = book_rows[0][1][0]
    book_rows = [(r, m) for r, m in book_rows if m[0] == first_book]
    snap = book_rows[0][0]
    deltas = [r for r, m in book_rows[1:] if isinstance(m[1], list)]
    recorded = len(deltas)
    template = deltas[-1]
    for i in range(len(deltas), n):
        if i % 2:
            steps = (i - 2 if i % 10 == 1 else i) % 30
            price = _tick("7360.0", -steps, "0.1")
            level = (
                f"[{price},0,1]"
                if i % 10 == 1 and i > 2
                else f"[{price},{1 + i % 4},{_tick('0.5', i % 23, '0.001')}]"
            )
        else:
            price = _tick("7366.0", i % 30, "0.1")
            level = f"[{price},{1 + i % 3},-{_tick('0.2', i % 19, '0.001')}]"
        deltas.append(text_frame(template, f"[{first_book},{level}]", i))
    ticker, ticker_msg = next(
        (r, m) for r, m in rows if isinstance(m, list) and chan.get(m[0]) == "ticker"
    )
    tickers = []
    for i in range(n):
        body = [str(v) for v in ticker_msg[1]]
        body[0] = _tick(body[0], -(i % 7), "0.1")
        body[1] = _tick(body[1], i % 11, "0.001")
        body[2] = _tick(body[2], i % 5, "0.1")
        body[3] = _tick(body[3], i % 17, "0.001")
        tickers.append(text_frame(ticker, f"[{ticker_msg[0]},[{','.join(body)}]]", i))
    return [
        workload(
            "bitfinex trades (doc)",
            [info, *subs["trades"]],
            trades,
            f"{len(trades)} te frames derived from the fixture's 3 (tBTCUSD and the "
            "tBTCF0:USTF0 perpetual; ids, prices, sizes, sides varied)",
        ),
        workload(
            "bitfinex book (doc)",
            [info, *subs["book"][:1], snap],
            deltas,
            f"{len(deltas)} P0 book deltas timed: the fixture's {recorded} "
            "after its first snapshot and deltas derived from them (bids and asks, "
            "count-0 deletes); the subscribed event and the snapshot applied first, untimed",
        ),
        workload(
            "bitfinex ticker (doc)",
            [info, *subs["ticker"]],
            tickers,
            f"{len(tickers)} ticker frames derived from the fixture's 1 (best bid/ask "
            "prices and sizes varied)",
        ),
    ]


def _maker_side_view(obj: Any) -> View:
    """cryptofeed's Coinbase Advanced Trade trade with its side inverted (it publishes the
    maker's side Coinbase sends; Tapewire, as ccxt, the aggressor's)."""
    side = {"BUY": "SELL", "SELL": "BUY"}[obj.side.upper()]
    return (obj.id, obj.price, obj.amount, side)


def coinbase_workloads(n: int = 400) -> list[Workload]:
    """Advanced Trade market_trades and level2 (l2_data), derived from the fixture's valid
    frames; ``sequence_num`` counts up by one per frame of the connection, as on the wire
    (Tapewire checks it)."""
    venue = "coinbase"
    rows = _doc_frames(venue)
    rest = [r for r in rows if r["transport"] == "REST"]
    norm = Normalizer()
    norm.load_markets(venue, rest)
    markets = list(norm.venues[venue].ex.markets.values())
    products = next(r for r in rest if r["rest_url"].endswith("/market/products"))
    syms, sym_info = Coinbase._parse_symbol_data(json.loads(products["payload"]))
    _add_symbols(Coinbase.id, syms, sym_info)
    std = sorted(syms)

    def feed() -> Feed:
        return Coinbase(symbols=std, channels=[L2_BOOK, TRADES])

    ws = [(r, _payload(r)) for r in rows if r["transport"] == "WEBSOCKET"]
    template = next(r for r, m in ws if m["channel"] == "market_trades")
    trades = []
    for i in range(n):
        msg = _payload(template)
        msg["sequence_num"] = i
        for j, t in enumerate(msg["events"][0]["trades"]):
            k = 2 * i + (1 - j)  # newest first, as recorded
            t["trade_id"] = f"{k:09d}"
            t["price"] = _tick(t["price"], k % 97, "0.01")
            t["size"] = _tick(t["size"], k % 13, "0.001")
            t["side"] = "BUY" if k % 3 else "SELL"
        trades.append(_json_frame(template, msg, i))
    # level2: the first snapshot (sequence_num 1) set up; its update (2) and updates derived
    # from it. Deletes only of bids: cryptofeed's snapshot keeps no ask (see the note)
    book = [(r, m) for r, m in ws if m["channel"] == "l2_data"]
    snap_i = next(i for i, (_, m) in enumerate(book) if m["events"][0]["type"] == "snapshot")
    snap, snap_msg = book[snap_i]
    update, update_msg = book[snap_i + 1]
    if update_msg["sequence_num"] != snap_msg["sequence_num"] + 1:
        raise SystemExit("coinbase: the fixture's first update does not follow its snapshot")
    deltas = [update]
    for i in range(1, n):
        msg = _payload(update)
        msg["sequence_num"] = update_msg["sequence_num"] + i
        bid = _tick("21910.00", (i - 1 if i % 5 == 0 else i) % 90, "0.01")
        ups = msg["events"][0]["updates"]
        ups[0]["price_level"] = bid
        ups[0]["new_quantity"] = "0" if i % 5 == 0 else _tick("0.1", i % 23, "0.001")
        ups[1]["price_level"] = _tick("21923.00", i % 90, "0.01")
        ups[1]["new_quantity"] = _tick("1.0", i % 19, "0.001")
        deltas.append(_json_frame(update, msg, i))
    return [
        Workload(
            "coinbase market_trades (doc)",
            venue,
            "md.trades",
            TRADES,
            _per_connection(trades),
            len(trades),
            markets,
            feed,
            note=DOC_NOTE + f"{len(trades)} market_trades frames of 2 trades each, derived "
            "from the fixture's first (ids, prices, sizes, sides varied); compared as sorted "
            "lists: a frame lists its trades newest first, Tapewire emits them oldest first "
            "(as ccxt), cryptofeed in frame order; cryptofeed's side compared inverted: "
            "Coinbase sends the maker's side, Tapewire (as ccxt) publishes the aggressor's, "
            "cryptofeed the side as sent",
            ordered=False,
            cf_view=_maker_side_view,
        ),
        Workload(
            "coinbase level2 (doc)",
            venue,
            "md.book",
            L2_BOOK,
            _per_connection(deltas),
            len(deltas),
            markets,
            feed,
            note=DOC_NOTE + f"{len(deltas)} l2_data updates timed: the fixture's first (a bid "
            "delete, an offer) and updates derived from it (a bid and an offer each, every "
            "5th a bid delete); the snapshot applied first, untimed. cryptofeed 2.4.1 reads "
            "a snapshot's asks as side 'ask' (Advanced Trade sends 'offer'): its book holds "
            "no ask from a snapshot (updates' offers are asks), so no snapshot ask is "
            "deleted here",
            setup=_per_connection([snap]),
        ),
    ]


def doc_workloads() -> list[Workload]:
    """The documentation-derived workloads (``--doc``), in run order."""
    return (
        binanceusdm_workloads()
        + bybit_doc_workloads()
        + kraken_v1_workloads()
        + bitstamp_workloads()
        + bitfinex_workloads()
        + coinbase_workloads()
        + docb_workloads()
    )


def all_workloads(trades: int, doc: bool = False) -> list[Workload]:
    """Every workload, in run order (``trades``: derived Binance aggTrade frames; ``doc``:
    the documentation-derived workloads too)."""
    return (
        binance_workloads(trades)
        + okx_workloads()
        + krakenfutures_workloads()
        + gemini_workloads()
        + bybit_workloads()
        + (doc_workloads() if doc else [])
    )


# ------------------------------------------------ documentation-derived workloads (B)
# Venues without a recorded session: frames from ``tests/data/frames/<venue>`` (built from
# the venues' documentation examples, provenance in that folder's README), only the valid
# ones (the fixtures also hold broken, duplicate and unknown-symbol frames for the
# dead-letter tests), derived to fill a pass where the fixture has too few. Named
# ``<venue> <channel> (doc)``; run with ``--doc``.
DOC_TRADES = 500
"""Derived trade frames per pass of a documentation-derived trades workload."""


def _derive(templates: list[Frame], n: int, edit: Callable[[Any, int], None]) -> list[Frame]:
    """``n`` frames from the ``templates`` in turn, each payload decoded, changed by
    ``edit(message, i)`` and re-encoded compactly (the shape unchanged)."""
    out = []
    for i in range(n):
        template = templates[i % len(templates)]
        msg = _payload(template)
        edit(msg, i)
        payload = json.dumps(msg, separators=(",", ":")).encode()
        out.append({**template, "payload": payload, "receive_ts_ns": template["receive_ts_ns"] + i})
    return out


def _vary(text: str, i: int, step: str) -> str:
    """A price or size varied by ``i``: ``text + (i % 97) * step`` as plain text."""
    return f"{Decimal(text) + Decimal(i % 97) * Decimal(step):f}"


OFFLINE_KEYS = {"key_id": "offline", "key_secret": "offline", "key_passphrase": "offline"}
"""API keys for cryptofeed Feeds that count a public channel as authenticated (KuCoin's
L2_BOOK: its REST snapshot is signed; Deribit's ``.raw`` L2_BOOK and TRADES): required at
construction, never used offline."""


class _Bullet:
    """Answers the ``POST /api/v1/bullet-public`` token request KuCoin's Feed makes when it
    is constructed (the websocket URL is never used offline)."""

    def write(self, url: str, **_: Any) -> dict[str, Any]:
        server = {"endpoint": "wss://offline.invalid", "pingInterval": 18000}
        return {"data": {"token": "offline", "instanceServers": [server]}}


class _OfflineKuCoin(KuCoin):  # type: ignore[misc]
    http_sync = _Bullet()


def _kucoin_doc() -> list[Workload]:
    """Trades and ticker (derived / repeated), level2 deltas on the REST snapshot."""
    venue = "kucoin"
    markets = json.loads((FRAMES / venue / "markets.json").read_text(encoding="utf-8"))
    syms, sym_info = KuCoin._parse_symbol_data({"data": [m["info"] for m in markets]})
    Symbols.set(KuCoin.id, syms, sym_info)
    std = sorted(syms)

    def feed() -> Feed:
        return _OfflineKuCoin(
            symbols=std, channels=[L2_BOOK, TRADES, TICKER], config={"kucoin": OFFLINE_KEYS}
        )

    rows = _frames_doc(venue)
    ws = [r for r in rows if r["transport"] == "WEBSOCKET" and "topic" in _payload(r)]

    def by(prefix: str) -> list[Frame]:
        return [r for r in ws if _payload(r)["topic"].startswith(prefix)]

    trades = _first_ids(by("/market/match:"), lambda m: [m["data"]["tradeId"]])
    first_id = int(_payload(trades[0])["data"]["tradeId"])

    def trade(msg: Any, i: int) -> None:
        d = msg["data"]
        d["tradeId"] = d["sequence"] = str(first_id + i)
        d["price"] = _vary(d["price"], i, "0.1")
        d["size"] = _vary(d["size"], i % 13, "0.001")
        d["side"] = ("buy", "sell")[i % 2]
        d["time"] = str(int(d["time"]) + i * 1000)

    tickers = by("/market/ticker:")
    # the book: the first REST snapshot, then deltas chained from it (sequenceStart =
    # the previous sequenceEnd + 1, each change numbered), shaped as the fixture's deltas,
    # prices moved within each side (bids stay below asks)
    snap = next(r for r in rows if r["transport"] == "REST" and "orderbook" in r["rest_url"])
    deltas = by("/market/level2:")
    seq = int(_payload(snap)["data"]["sequence"])

    def delta(msg: Any, i: int) -> None:
        nonlocal seq
        d = msg["data"]
        d["sequenceStart"] = seq + 1
        for side, step in (("bids", "-0.1"), ("asks", "0.1")):
            for change in d["changes"][side]:
                seq += 1
                change[0] = _vary(change[0], i, step)
                change[1] = "0" if i % 5 == 4 else _vary(change[1], i % 7, "0.01")
                change[2] = str(seq)
        d["sequenceEnd"] = seq
        d["time"] += i

    book = _per_connection(_derive(deltas, 301, delta))
    return [
        Workload(
            "kucoin trades (doc)",
            venue,
            "md.trades",
            TRADES,
            _per_connection(_derive(trades, DOC_TRADES, trade)),
            DOC_TRADES,
            markets,
            feed,
            note=f"documentation-derived: {DOC_TRADES} /market/match frames from the "
            f"{len(trades)} valid fixture trades (trade ids, prices, sizes, sides varied)",
        ),
        Workload(
            "kucoin ticker (doc)",
            venue,
            "md.quotes",
            TICKER,
            _per_connection(tickers * 100),
            len(tickers) * 100,
            markets,
            feed,
            note=f"documentation-derived: the {len(tickers)} fixture /market/ticker frame(s), "
            "100 times per pass (stateless)",
        ),
        Workload(
            "kucoin level2 (doc)",
            venue,
            "md.book",
            L2_BOOK,
            book[1:],
            len(book) - 1,
            markets,
            feed,
            {"BTC-USDT": snap["payload"].decode()},
            note=f"documentation-derived: {len(book) - 1} /market/level2 deltas timed, "
            f"derived from the {len(deltas)} fixture deltas (sequences chained, prices and "
            "sizes varied, every 5th a deletion); untimed first: the fixture's REST snapshot "
            "(Tapewire: the REST frame; cryptofeed: its own _snapshot, the fetch answered "
            "from the fixture), then the bridging delta",
            setup=[snap, book[0]],
        ),
    ]


def _frames_doc(venue: str) -> list[Frame]:
    """The fixture's frames that decode (left out: the truncated ones)."""
    out = []
    for r in read_frames(FRAMES / venue / "frames.jsonl", venue):
        try:
            _payload(r)
        except ValueError:
            continue
        out.append(r)
    return out


def _first_ids(
    frames: list[Frame], ids: Callable[[Any], list[Any]], decode: Callable[[Frame], Any] = _payload
) -> list[Frame]:
    """The frames whose trade ids all appear for the first time (the fixtures repeat a
    frame for the duplicate tests)."""
    seen: set[Any] = set()
    out = []
    for f in frames:
        these = ids(decode(f))
        if seen.isdisjoint(these):
            seen.update(these)
            out.append(f)
    return out


def _gate_doc() -> list[Workload]:
    """spot.trades (derived). Not comparable: cryptofeed's Gateio book is the older
    ``spot.order_book_update`` channel (REST snapshot + ``U``/``u``), Tapewire maps the
    order book v2 ``spot.obu``; its ticker is ``spot.tickers``, Tapewire's quotes
    ``spot.book_ticker``."""
    venue = "gate"
    rows = _frames_doc(venue)
    rest = [r for r in rows if r["transport"] == "REST"]
    norm = Normalizer()
    norm.load_markets(venue, rest)
    markets = list(norm.venues[venue].ex.markets.values())
    pairs = next(r for r in rest if r["rest_url"].endswith("/spot/currency_pairs"))
    syms, sym_info = Gateio._parse_symbol_data(_payload(pairs))
    Symbols.set(Gateio.id, syms, sym_info)
    std = sorted(syms)

    def feed() -> Feed:
        return Gateio(symbols=std, channels=[TRADES])

    ws = [r for r in rows if r["transport"] == "WEBSOCKET"]
    trades = _first_ids(
        [r for r in ws if _payload(r).get("channel") == "spot.trades"],
        lambda m: [m["result"]["id"]],
    )
    first_id = _payload(trades[0])["result"]["id"]

    def trade(msg: Any, i: int) -> None:
        r = msg["result"]
        r["id"] = first_id + i
        r["range"] = f"{2390902 + i}-{2390902 + i}"
        r["price"] = _vary(r["price"], i, "0.0001")
        r["amount"] = _vary(r["amount"], i % 13, "0.01")
        r["side"] = ("buy", "sell")[i % 2]
        r["create_time_ms"] = f"{Decimal(r['create_time_ms']) + i:f}"

    return [
        Workload(
            "gate trades (doc)",
            venue,
            "md.trades",
            TRADES,
            _per_connection(_derive(trades, DOC_TRADES, trade)),
            DOC_TRADES,
            markets,
            feed,
            note=f"documentation-derived: {DOC_TRADES} spot.trades frames from the "
            f"{len(trades)} valid fixture trades (GT_USDT, BTC_USDT; ids, prices, sizes, "
            "sides varied)",
        ),
    ]


def _htx_doc() -> list[Workload]:
    """trade.detail (derived; gzip frames as on the wire, cryptofeed's handler inflates
    them too). Not comparable: cryptofeed's Huobi book is ``depth.step0`` (whole-book
    frames), Tapewire maps the incremental ``mbp.150``; its ticker is ``market.$sym.ticker``,
    Tapewire's quotes ``bbo``."""
    venue = "htx"
    markets = json.loads((FRAMES / venue / "markets.json").read_text(encoding="utf-8"))
    syms, sym_info = Huobi._parse_symbol_data({"data": [m["info"] for m in markets]})
    Symbols.set(Huobi.id, syms, sym_info)
    std = sorted(syms)

    def feed() -> Feed:
        return Huobi(symbols=std, channels=[TRADES])

    def text(frame: Frame) -> Any:
        return json.loads(gzip.decompress(frame["payload"]))

    known = {m["id"] for m in markets}
    frames = []
    for r in read_frames(FRAMES / venue / "frames.jsonl", venue):
        try:
            msg = text(r)
        except (OSError, EOFError, ValueError):  # the truncated frame
            continue
        if msg.get("ch", "").endswith(".trade.detail") and msg["ch"].split(".")[1] in known:
            frames.append(r)
    trades = _first_ids(frames, lambda m: [t["tradeId"] for t in m["tick"]["data"]], text)
    per_frame = len(text(trades[0])["tick"]["data"])
    first = text(trades[0])["tick"]["data"][0]
    out = []
    for i in range(DOC_TRADES):
        template = trades[i % len(trades)]
        msg = text(template)
        msg["ts"] += i
        msg["tick"]["id"] += i
        for j, t in enumerate(msg["tick"]["data"]):
            k = i * per_frame + j
            t["tradeId"] = first["tradeId"] + k
            t["id"] = first["id"] + k  # the deprecated id (ccxt's trade id): distinct too
            # JSON numbers on the wire: a float of a short decimal prints as that decimal
            t["price"] = float(_vary(str(t["price"]), k, "0.01"))
            t["amount"] = float(_vary(str(t["amount"]), k % 13, "0.001"))
            t["direction"] = ("buy", "sell")[k % 2]
        payload = gzip.compress(json.dumps(msg, separators=(",", ":")).encode(), mtime=0)
        out.append({**template, "payload": payload, "receive_ts_ns": template["receive_ts_ns"] + i})
    return [
        Workload(
            "htx trades (doc)",
            venue,
            "md.trades",
            TRADES,
            _per_connection(out),
            DOC_TRADES,
            markets,
            feed,
            note=f"documentation-derived: {DOC_TRADES} trade.detail frames of {per_frame} trades "
            f"each, from the {len(trades)} valid fixture frame(s) (trade ids, prices, sizes, "
            "sides varied), gzip-compressed as on the wire; per frame",
            cf_binary=True,
        ),
    ]


def _rest_markets(venue: str, rest: list[Frame]) -> list[dict[str, Any]]:
    """ccxt unified markets of the fixture's REST frames (the venue adapter's paths)."""
    norm = Normalizer()
    norm.load_markets(venue, rest)
    return list(norm.venues[venue].ex.markets.values())


def _deribit_doc() -> list[Workload]:
    """Trades (derived), book changes on the websocket snapshot (derived), quote (repeated).
    cryptofeed subscribes ``book.{instrument}.raw`` and handles every ``book.*`` frame the
    same way; Tapewire's fixture has the ``100ms`` variant (same frame format)."""
    venue = "deribit"
    rows = _frames_doc(venue)
    rest = [r for r in rows if r["transport"] == "REST"]
    markets = _rest_markets(venue, rest)
    instruments = next(r for r in rest if "get_instruments" in r["rest_url"])
    syms, sym_info = Deribit._parse_symbol_data([_payload(instruments)])
    Symbols.set(Deribit.id, syms, sym_info)
    std = sorted(s for s, native in syms.items() if native in {m["id"] for m in markets})

    def feed() -> Feed:
        f = Deribit(
            symbols=std, channels=[L2_BOOK, TRADES, L1_BOOK], config={"deribit": OFFLINE_KEYS}
        )
        f._Deribit__reset()  # what its subscribe() does: empty books and change ids
        return f

    subs = [r for r in rows if r["transport"] == "WEBSOCKET" and "params" in _payload(r)]

    def by(prefix: str) -> list[Frame]:
        return [r for r in subs if _payload(r)["params"].get("channel", "").startswith(prefix)]

    # BTC-PERPETUAL only: cryptofeed's _parse_symbol_data names the spot BTC_USDC (kind
    # "spot", settlement_period "perpetual") BTC-USDC-PERP, then BTC_USDC-PERPETUAL takes
    # that name: it cannot parse BTC_USDC frames
    trades = _first_ids(
        by("trades.BTC-PERPETUAL."), lambda m: [t["trade_id"] for t in m["params"]["data"]]
    )

    first = _payload(trades[0])["params"]["data"][0]

    def trade(msg: Any, i: int) -> None:
        for j, t in enumerate(msg["params"]["data"]):
            k = i * 2 + j
            t["trade_id"] = str(int(first["trade_id"]) + k)
            t["trade_seq"] = first["trade_seq"] + k
            t["timestamp"] += i
            t["price"] = float(_vary(str(t["price"]), k, "0.5"))
            t["amount"] = float(_vary(str(t["amount"]), k % 13, "10"))  # USD, steps of 10
            t["direction"] = ("buy", "sell")[k % 2]

    books = by("book.")
    snap = next(r for r in books if _payload(r)["params"]["data"]["type"] == "snapshot")
    change = next(r for r in books if r is not snap and "prev_change_id" in str(r["payload"]))
    change_id = _payload(snap)["params"]["data"]["change_id"]

    def level(k: int, side: str) -> list[Any]:
        """Each level in three frames: new, change, delete (so a delete finds it), away
        from the snapshot's levels, bids below its asks."""
        price = 62847.5 - 0.5 * (k // 3 % 40) if side == "bids" else 62854 + 0.5 * (k // 3 % 40)
        action = ("new", "change", "delete")[k % 3]
        return [action, price, 0.0 if action == "delete" else float(100 + 10 * (k % 7))]

    def book(msg: Any, i: int) -> None:
        nonlocal change_id
        d = msg["params"]["data"]
        d["prev_change_id"] = change_id
        change_id += 1 + i % 3  # Deribit's change ids chain by prev_change_id, with holes
        d["change_id"] = change_id
        d["timestamp"] += i
        d["bids"] = [level(i, "bids")]
        d["asks"] = [level(i // 2, "asks")] if i % 2 else []  # every other frame

    quotes = by("quote.")

    def top(obj: Any) -> View:
        return (obj.bid_price, obj.ask_price)

    n_book = 300
    return [
        Workload(
            "deribit trades (doc)",
            venue,
            "md.trades",
            TRADES,
            _per_connection(_derive(trades, DOC_TRADES, trade)),
            DOC_TRADES,
            markets,
            feed,
            note=f"documentation-derived: {DOC_TRADES} trades.BTC-PERPETUAL.100ms frames of 2 "
            f"trades, from the {len(trades)} valid fixture frame(s) (ids, prices, sizes, sides "
            "varied); per frame. Not the BTC_USDC spot frame: cryptofeed has no symbol for it",
        ),
        Workload(
            "deribit book (doc)",
            venue,
            "md.book",
            L2_BOOK,
            _per_connection(_derive([change], n_book, book)),
            n_book,
            markets,
            feed,
            note=f"documentation-derived: {n_book} book.BTC-PERPETUAL.100ms change frames "
            "timed, shaped as the fixture's (prev_change_id chained; each level new, change, "
            "delete in turn); the fixture's websocket snapshot applied first, untimed",
            setup=_per_connection([snap]),
        ),
        Workload(
            "deribit quote (doc)",
            venue,
            "md.quotes",
            L1_BOOK,
            _per_connection(quotes * 100),
            len(quotes) * 100,
            markets,
            feed,
            note=f"documentation-derived: the {len(quotes)} fixture quote frame(s), 100 times "
            "per pass (stateless); cryptofeed: its L1_BOOK channel",
            cf_view=top,
        ),
    ]


def _cryptocom_doc() -> list[Workload]:
    """Trades (derived), ticker and book snapshots (repeated), BTC_USDT. cryptofeed has no
    ``book.update`` handling (its L2 book is the ``book`` snapshot channel only); its symbols
    come from the v2 ``get-instruments`` shape, built here from the fixture's v1 response."""
    venue = "cryptocom"
    rows = _frames_doc(venue)
    rest = [r for r in rows if r["transport"] == "REST"]
    markets = _rest_markets(venue, rest)
    spot = [e for e in _payload(rest[0])["result"]["data"] if e["inst_type"] == "CCY_PAIR"]
    syms, sym_info = CryptoDotCom._parse_symbol_data(
        {
            "result": {
                "instruments": [
                    {
                        "instrument_name": e["symbol"],
                        "base_currency": e["base_ccy"],
                        "quote_currency": e["quote_ccy"],
                    }
                    for e in spot
                ]
            }
        }
    )
    Symbols.set(CryptoDotCom.id, syms, sym_info)
    std = sorted(syms)

    def feed() -> Feed:
        f = CryptoDotCom(symbols=std, channels=[L2_BOOK, TRADES, TICKER])
        f._CryptoDotCom__reset()  # what its subscribe() does: empty books
        return f

    ws = [r for r in rows if r["transport"] == "WEBSOCKET" and "result" in _payload(r)]
    names = {e["symbol"] for e in spot}

    def by(channel: str) -> list[Frame]:
        return [
            r
            for r in ws
            if _payload(r)["result"]["channel"] == channel
            and _payload(r)["result"]["instrument_name"] in names
        ]

    trades = _first_ids(by("trade"), lambda m: [t["d"] for t in m["result"]["data"]])
    first = _payload(trades[0])["result"]["data"][0]

    def trade(msg: Any, i: int) -> None:
        for j, t in enumerate(msg["result"]["data"]):
            k = i * len(msg["result"]["data"]) + j
            t["d"] = str(int(first["d"]) + k)
            t["p"] = _vary(t["p"], k, "0.01")
            t["q"] = _vary(t["q"], k % 13, "0.00010")
            t["s"] = ("BUY", "SELL")[k % 2]
            t["t"] += i
            t["tn"] = str(int(t["tn"]) + i * 1_000_000)
            t["m"] = str(int(t["m"]) + i)

    tickers, books = by("ticker"), by("book")

    # cryptofeed's handler passes the wire values through (it expects the JSON numbers of
    # API v2, json.loads with parse_float=Decimal; v1 sends strings): its Trade and Ticker
    # hold text, compared here as decimals
    def trade_view(obj: Any) -> View:
        return (obj.id, _dec(obj.price), _dec(obj.amount), obj.side.upper())

    def ticker_view(obj: Any) -> View:
        return (_dec(obj.bid), _dec(obj.ask))

    return [
        Workload(
            "cryptocom trade (doc)",
            venue,
            "md.trades",
            TRADES,
            _per_connection(_derive(trades, DOC_TRADES, trade)),
            DOC_TRADES,
            markets,
            feed,
            note=f"documentation-derived: {DOC_TRADES} trade.BTC_USDT frames from the "
            f"{len(trades)} valid fixture frame(s) (ids, prices, sizes, sides varied); "
            "cryptofeed keeps the wire strings (no Decimal: it expects JSON numbers)",
            cf_view=trade_view,
        ),
        Workload(
            "cryptocom ticker (doc)",
            venue,
            "md.quotes",
            TICKER,
            _per_connection(tickers * 100),
            len(tickers) * 100,
            markets,
            feed,
            note=f"documentation-derived: the {len(tickers)} fixture ticker.BTC_USDT frame(s), "
            "100 times per pass (stateless); cryptofeed keeps the wire strings",
            cf_view=ticker_view,
        ),
        Workload(
            "cryptocom book (doc)",
            venue,
            "md.book",
            L2_BOOK,
            _per_connection(books * 50),
            len(books) * 50,
            markets,
            feed,
            note=f"documentation-derived: the {len(books)} fixture book.BTC_USDT.50 snapshot "
            "frames, 50 times per pass; cryptofeed ignores book.update and keeps the wire "
            "strings as its book's prices and sizes",
        ),
    ]


def _bitget_doc() -> list[Workload]:
    """``books`` updates (derived, checksums computed) on the websocket snapshot. cryptofeed
    2.4.1 speaks Bitget's v1 stream: its ``books`` frames have the v2 shape (``instType``
    ``SPOT`` resolves as v1's ``SPBL``), its trades (``[ts, price, size, side]``, no trade id)
    and ticker (``bestBid``) do not: no trades or ticker workload."""
    venue = "bitget"
    rows = _frames_doc(venue)
    rest = [r for r in rows if r["transport"] == "REST"]
    markets = _rest_markets(venue, rest)
    symbols = next(r for r in rest if r["rest_url"].endswith("/spot/public/symbols"))
    # cryptofeed's parse of v1 /api/spot/v1/public/products entries, in that shape
    syms, sym_info = Bitget._parse_symbol_data(
        {
            "data": [
                {
                    "symbolName": e["symbol"],
                    "symbol": f"{e['symbol']}_SPBL",
                    "baseCoin": e["baseCoin"],
                    "quoteCoin": e["quoteCoin"],
                }
                for e in _payload(symbols)["data"]
            ]
        }
    )
    Symbols.set(Bitget.id, syms, sym_info)
    std = sorted(syms)

    def feed() -> Feed:
        return Bitget(symbols=std, channels=[L2_BOOK])

    ws = [r for r in rows if r["transport"] == "WEBSOCKET" and "action" in _payload(r)]
    books = [r for r in ws if _payload(r)["arg"]["channel"] == "books"]
    snap = next(r for r in books if _payload(r)["action"] == "snapshot")
    update = next(r for r in books[books.index(snap) :] if _payload(r)["action"] == "update")
    data = _payload(snap)["data"][0]
    book = {"bids": dict(data["bids"]), "asks": dict(data["asks"])}
    seq = data["seq"]

    def level(k: int, side: str) -> list[str]:
        """Each level in three frames: new, changed, deleted (so a deletion finds it), away
        from the snapshot's levels, bids below its asks."""
        step = Decimal("0.10") * (k // 3 % 40)
        price = Decimal("26997.00") - step if side == "bids" else Decimal("27006.00") + step
        size = ("0.100000", "0.250000", "0")[k % 3]
        return [f"{price:f}", size]

    def checksum() -> int:
        bids, asks = (
            sorted(book[side].items(), key=lambda lv: Decimal(lv[0]), reverse=side == "bids")
            for side in ("bids", "asks")
        )
        return okx_checksum_text(bids, asks)

    def edit(msg: Any, i: int) -> None:
        nonlocal seq
        d = msg["data"][0]
        d["bids"] = [level(i, "bids")]
        d["asks"] = [level(i // 2, "asks")] if i % 2 else []
        for side in ("bids", "asks"):
            for price, size in d[side]:
                if size == "0":
                    del book[side][price]
                else:
                    book[side][price] = size
        d["checksum"] = checksum()
        seq += 1
        d["seq"] = seq
        d["ts"] = str(int(d["ts"]) + i)
        msg["ts"] += i

    # v2 sends a snapshot's checksum as 0; cryptofeed (v1) checks it with
    # checksum_validation=True: the snapshot's own (Tapewire ignores a snapshot's)
    first = _derive([snap], 1, lambda msg, _: msg["data"][0].update(checksum=checksum()))
    n_book = 300
    updates = _derive([update], n_book, edit)
    return [
        Workload(
            "bitget books (doc)",
            venue,
            "md.book",
            L2_BOOK,
            _per_connection(updates),
            n_book,
            markets,
            feed,
            note=f"documentation-derived: {n_book} books updates (BTCUSDT) timed, shaped as the "
            "fixture's (each level new, changed, deleted in turn; seq +1; checksums computed; "
            "Tapewire checks every one, cryptofeed only with checksum_validation=True: both "
            "sides shown); the fixture's snapshot applied first, untimed (with its checksum "
            "for cryptofeed's check: v2 sends 0)",
            setup=_per_connection(first),
        ),
    ]


def docb_workloads() -> list[Workload]:
    """Documentation-derived workloads: kucoin, gate, htx, deribit, cryptocom, bitget (the
    channels on which cryptofeed parses the same frame format)."""
    return (
        _kucoin_doc() + _gate_doc() + _htx_doc() + _deribit_doc() + _cryptocom_doc() + _bitget_doc()
    )


# --------------------------------------------------------------------------- sides
@dataclass
class Pass:
    """One pass of one side: timed seconds and its outputs."""

    seconds: float  # wall (perf_counter)
    cpu: float  # CPU time of the process (process_time): less sensitive to other jobs
    outputs: int
    views: list[View] = field(default_factory=list)


Timed = Callable[[], Pass]
"""The timed frame loop of one pass, on a state built before (by a :data:`Runner`)."""
Runner = Callable[[bool], Timed]
"""Builds a fresh state and runs the set-up frames on it (untimed); ``True`` = the pass also
collects comparable views (untimed check)."""


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _levels(levels: Any) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple(sorted((_dec(p), _dec(s)) for p, s in levels))


def _book_view(kind: str, bids: Any, asks: Any) -> View:
    """Set levels compared; deletions (size 0) only counted: cryptofeed's OKX handler drops
    a deletion of a price its book does not hold, Tapewire publishes every level as sent."""
    b, a = _levels(bids), _levels(asks)
    zeros = sum(1 for _, size in b + a if not size)
    return (kind, tuple(lv for lv in b if lv[1]), tuple(lv for lv in a if lv[1]), zeros)


def tapewire_view(topic: str, record: Any) -> View:
    """The comparable values of one Tapewire output record."""
    if topic == "md.trades":
        return (record.trade_id, record.price, record.size, record.side)
    if topic == "md.quotes":
        return (record.bid_price, record.ask_price)
    return _book_view(
        record["kind"],
        ((lv.price, lv.size) for lv in record["bids"]),
        ((lv.price, lv.size) for lv in record["asks"]),
    )


METHODS = ("settled", "fresh")
METHOD = "settled"
"""How a sample's passes meet their states (``--method``), the same on every side.
``settled``: the fresh states of all the sample's passes are built (and their set-up frames
run) first, then collected garbage is cleared and everything alive is frozen out of the
collector's reach (``gc.freeze()``), as a long-running normalizer's state sits in the
oldest generation; then the passes are timed one after the other. Collections of what the
timed loops allocate still run inside them. ``fresh`` (the method before session 11,
2026-12-04): each pass's state is built right before its timed loop, so the loop starts
with caches full of the construction (a ccxt exchange object with its markets on the
Tapewire sides: about 50 us more on a pass's first frame, measured) and the construction's garbage
collected inside the loop."""


def core_side(factory: CoreFactory) -> Callable[[Workload], Runner]:
    """A Tapewire core: ``process_batch`` on the pass's RawFrame records."""

    def make(w: Workload) -> Runner:
        def prepare(views: bool) -> Timed:
            core = factory(w)
            if w.setup:
                core.process_batch(w.setup)

            def run() -> Pass:
                cpu = time.process_time()
                start = time.perf_counter()
                result = core.process_batch(w.frames)
                seconds = time.perf_counter() - start
                cpu = time.process_time() - cpu
                records = result.records
                dead = records.get("dlq.normalize")
                if dead:
                    raise SystemExit(f"{w.name}: dead letters {dead[:1]}")
                out = records[w.topic]
                views_ = [tapewire_view(w.topic, r) for r in out] if views else []
                return Pass(seconds, cpu, len(out), views_)

            return run

        return prepare

    return make


def stage_side(w: Workload) -> Runner:
    """The whole normalize stage: Avro md.raw in, encoded outputs out."""
    codec = Codec()
    encode = codec.for_topic("md.raw").encode
    setup = [InMsg(0, i, None, encode(f)) for i, f in enumerate(w.setup)]
    msgs = [InMsg(0, len(setup) + i, None, encode(f)) for i, f in enumerate(w.frames)]

    def prepare(views: bool) -> Timed:
        # the probe and partition 0's state, both built here, untimed (the stage makes a
        # partition's normalizer, ccxt objects and markets, when it first sees the partition)
        states = [Normalizer(markets={w.venue: w.markets}) for _ in range(2)]
        stage = NormalizeStage(codec, new_normalizer=states.pop)
        stage.normalizers[0] = states.pop()
        if setup:
            stage.process(setup)

        def run() -> Pass:
            cpu = time.process_time()
            start = time.perf_counter()
            out = stage.process(msgs)
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu
            topics = [m.topic for m in out]
            if any(t.startswith("dlq") for t in topics):
                raise SystemExit(f"{w.name} stage: dead letters")
            return Pass(seconds, cpu, sum(1 for t in topics if t == w.topic))

        return run

    return prepare


def cryptofeed_view(channel: str, obj: Any) -> View:
    """The comparable values of one cryptofeed output (taken inside the callback)."""
    if channel == TRADES:
        return (obj.id, obj.price, obj.amount, obj.side.upper())
    if channel == TICKER:
        return (obj.bid, obj.ask)
    if obj.delta is None:
        book = obj.book
        return _book_view("SNAPSHOT", book.bids.to_dict().items(), book.asks.to_dict().items())
    return _book_view("DELTA", obj.delta[BID], obj.delta[ASK])


def cryptofeed_side(feed_factory: Callable[[], Feed] | None = None) -> Callable[[Workload], Runner]:
    """cryptofeed: ``await feed.message_handler(text, conn, receive_time)`` per frame."""

    def make(w: Workload) -> Runner:
        loop = asyncio.new_event_loop()
        msgs = [
            (f["payload"] if w.cf_binary else f["payload"].decode(), f["receive_ts_ns"] / 1e9)
            for f in w.frames
            if f["transport"] == "WEBSOCKET"
        ]
        snapshots = w.snapshots
        # in order: a websocket frame, or a REST snapshot as cryptofeed's own fetch of it
        # (answered from the recording)
        setup = [
            (f["payload"].decode(), f["receive_ts_ns"] / 1e9)
            if f["transport"] == "WEBSOCKET"
            else (None, parse_qs(urlparse(f["rest_url"]).query)["symbol"][0])
            for f in w.setup
        ]

        conn = w.cf_conn
        view = w.cf_view or (lambda obj: cryptofeed_view(w.cf_channel, obj))

        async def read(url: str, **_: Any) -> str:  # Binance's REST depth snapshot
            return snapshots[parse_qs(urlparse(url).query)["symbol"][0]]

        def prepare(views: bool) -> Timed:
            count = 0
            seen: list[View] = []

            async def on_output(obj: Any, receipt_timestamp: float) -> None:
                nonlocal count
                count += 1
                if views:
                    seen.append(view(obj))

            feed = (feed_factory or w.cf_feed)()
            feed.callbacks[w.cf_channel] = [on_output]
            feed.http_conn.read = read
            handler = feed.message_handler

            async def set_up() -> None:
                nonlocal count
                for text, arg in setup:
                    if text is None:
                        await feed._snapshot(arg)
                    else:
                        await handler(text, conn, arg)
                count = 0
                seen.clear()

            async def loop_frames() -> tuple[float, float]:
                cpu = time.process_time()
                start = time.perf_counter()
                for text, ts in msgs:
                    await handler(text, conn, ts)
                return time.perf_counter() - start, time.process_time() - cpu

            loop.run_until_complete(set_up())

            def run() -> Pass:
                seconds, cpu = loop.run_until_complete(loop_frames())
                return Pass(seconds, cpu, count, seen)

            return run

        return prepare

    return make


def sides(w: Workload) -> dict[str, Runner]:
    """Every side timed on ``w``, in round order."""
    out = {name: core_side(factory)(w) for name, factory in CORES.items() if name not in w.skip}
    if w.name in ("binance depth deltas", "binance aggTrade"):
        out["tapewire stage"] = stage_side(w)
    out["cryptofeed"] = cryptofeed_side()(w)
    if w.name == "okx books":
        out["cryptofeed checksum"] = cryptofeed_side(
            lambda: OKX(
                symbols=["BTC-USDT"], channels=[L2_BOOK, TRADES, TICKER], checksum_validation=True
            )
        )(w)
    if w.name == "bitget books (doc)":
        std = w.cf_feed().normalized_symbols
        out["cryptofeed checksum"] = cryptofeed_side(
            lambda: Bitget(symbols=std, channels=[L2_BOOK], checksum_validation=True)
        )(w)
    return out


# --------------------------------------------------------------------------- checks
def check(w: Workload, runners: dict[str, Runner]) -> dict[str, Any]:
    """One untimed pass per side: counts, and how many outputs equal the first side's (and,
    for the sides after it, the profiled core's: ccxt's HTX trade id is another field)."""
    passes = {name: prepare(True)() for name, prepare in runners.items()}
    ref_name = next(iter(runners))  # the first side that ran (a workload may skip some)
    out: dict[str, Any] = {"outputs": {n: p.outputs for n, p in passes.items()}}
    for name, p in passes.items():
        if name != ref_name and p.views:
            _compare(w, ref_name, passes[ref_name].views, name, p.views, out)
    if PROFILED in passes and ref_name != PROFILED:
        for name, p in passes.items():
            if name not in (ref_name, PROFILED) and p.views:
                _compare(w, PROFILED, passes[PROFILED].views, name, p.views, out)
    return out


def _compare(
    w: Workload, ref_name: str, ref: list[View], name: str, views: list[View], out: dict[str, Any]
) -> None:
    if not w.ordered:
        ref, views = sorted(ref, key=repr), sorted(views, key=repr)
    pairs = list(zip(ref, views, strict=False))
    if w.topic == "md.book":  # set levels compared, deletions counted (see _book_view)
        zeros = (sum(a[3] for a, _ in pairs), sum(b[3] for _, b in pairs))
        out[f"book_deletions:{ref_name}/{name}"] = f"{zeros[0]}/{zeros[1]}"
        pairs = [(a[:3], b[:3]) for a, b in pairs]
    equal = sum(1 for a, b in pairs if a == b)
    diff = next(((i, a, b) for i, (a, b) in enumerate(pairs) if a != b), None)
    out[f"equal:{ref_name}/{name}"] = f"{equal}/{max(len(ref), len(views))}"
    if diff is not None:
        out[f"first_difference:{ref_name}/{name}"] = repr(diff)[:600]


# --------------------------------------------------------------------------- timing
def passes_for(run: Runner, sample_s: float) -> int:
    """How many passes fill about ``sample_s`` of timed frame loop."""
    run(False)()  # warm-up
    probe = run(False)().seconds + run(False)().seconds
    return max(1, round(sample_s / max(probe / 2, 1e-9)))


def sample(run: Runner, passes: int) -> tuple[float, float]:
    """Wall and CPU seconds of ``passes`` timed frame loops."""
    wall = cpu = 0.0
    if METHOD == "fresh":
        for _ in range(passes):
            p = run(False)()
            wall += p.seconds
            cpu += p.cpu
        return wall, cpu
    states = [run(False) for _ in range(passes)]
    gc.collect()
    gc.freeze()
    try:
        for timed in states:
            p = timed()
            wall += p.seconds
            cpu += p.cpu
    finally:
        del states
        gc.unfreeze()
    return wall, cpu


def profile(w: Workload, seconds: float, path: Path) -> None:
    """cProfile of the first Tapewire core on ``w``, the timed frame loop only (fresh state
    and setup frames outside the profile): top 20 by own time and by cumulative time."""
    name = PROFILED if PROFILED in CORES else next(iter(CORES))
    factory = CORES[name]
    passes = passes_for(core_side(factory)(w), seconds)
    prof = cProfile.Profile()
    for _ in range(passes):
        core = factory(w)
        if w.setup:
            core.process_batch(w.setup)
        prof.enable()
        core.process_batch(w.frames)
        prof.disable()
    text = io.StringIO()
    text.write(
        f"cProfile, Tapewire core ({name}), {w.name}: {passes} passes x {w.counted} frames, "
        "the timed frame loop only (as bench_mappers.py times it)\n\n"
    )
    for key in ("tottime", "cumulative"):
        text.write(f"--- top 20 by {key}\n")
        pstats.Stats(prof, stream=text).sort_stats(key).print_stats(20)
    path.write_text(text.getvalue().replace(str(ROOT) + "/", ""))


def git_sha() -> str:
    sha = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return sha + ("-dirty" if dirty else "")


def main() -> None:
    """Check, time interleaved, print a table, write the results and the profile."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sample-s", type=float, default=0.5, help="timed seconds per sample")
    parser.add_argument("--trades", type=int, default=500, help="derived aggTrade frames")
    parser.add_argument("--only", default="", help="comma-separated workload names")
    parser.add_argument(
        "--doc", action="store_true", help="add the documentation-derived workloads (... (doc))"
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--method", choices=METHODS, default=METHODS[0], help="see METHOD")
    args = parser.parse_args()
    global METHOD
    METHOD = args.method

    started = datetime.now(UTC)
    load_start = os.getloadavg()
    workloads = all_workloads(args.trades, args.doc)
    if args.only:
        wanted = {s.strip() for s in args.only.split(",")}
        workloads = [w for w in workloads if w.name in wanted]
    plan = [(w, sides(w)) for w in workloads]

    checks = {w.name: check(w, runners) for w, runners in plan}
    for name, c in checks.items():
        print(f"check {name}: {c}")
    counts = {
        (w.name, side): passes_for(run, args.sample_s)
        for w, runners in plan
        for side, run in runners.items()
    }
    per_round: dict[tuple[str, str], list[float]] = {key: [] for key in counts}
    cpu_round: dict[tuple[str, str], list[float]] = {key: [] for key in counts}
    loads = []
    for _ in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for w, runners in plan:
            for side, run in runners.items():
                passes = counts[(w.name, side)]
                wall, cpu = sample(run, passes)
                per_round[(w.name, side)].append(wall / (passes * w.counted))
                cpu_round[(w.name, side)].append(cpu / (passes * w.counted))
    loads.append(os.getloadavg()[0])

    rows = []
    print(
        f"\n{'workload':26s} {'side':20s} {'us/frame':>9s} {'frames/s':>10s} {'x cf':>6s}"
        f" {'cpu us/frame':>12s} {'x cf':>6s}"
    )
    for w, runners in plan:
        cf = statistics.median(per_round[(w.name, "cryptofeed")])
        cf_cpu = statistics.median(cpu_round[(w.name, "cryptofeed")])
        for side in runners:
            times = per_round[(w.name, side)]
            med = statistics.median(times)
            ratio = cf / med  # >1: this side parses more frames/s than cryptofeed
            cpu_med = statistics.median(cpu_round[(w.name, side)])
            rows.append(
                {
                    "workload": w.name,
                    "side": side,
                    "us_per_frame": round(med * 1e6, 3),
                    "frames_per_s": round(1 / med, 1),
                    "us_per_frame_range": [round(min(times) * 1e6, 3), round(max(times) * 1e6, 3)],
                    "frames_per_s_over_cryptofeed": round(ratio, 3),
                    "passes_per_sample": counts[(w.name, side)],
                    "frames_per_pass": w.counted,
                    "us_per_frame_rounds": [round(t * 1e6, 3) for t in times],
                    "cpu_us_per_frame": round(cpu_med * 1e6, 3),
                    "cpu_frames_per_s_over_cryptofeed": round(cf_cpu / cpu_med, 3),
                }
            )
            print(
                f"{w.name:26s} {side:20s} {med * 1e6:9.2f} {1 / med:10,.0f} {ratio:6.2f}"
                f" {cpu_med * 1e6:12.2f} {cf_cpu / cpu_med:6.2f}"
            )

    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    stem = f"{stamp}-mappers-vs-cryptofeed-{git_sha()}"
    depth = next((w for w in workloads if w.name == "binance depth deltas"), None)
    result = {
        "benchmark": "bench/bench_mappers.py",
        "started_utc": started.isoformat(),
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        "machine": machine(),
        "load_avg_start": load_start,
        "load_avg_1m_per_round": loads,
        "versions": {"ccxt": ccxt.__version__, "cryptofeed": metadata.version("cryptofeed")},
        "method": {
            "rounds": args.rounds,
            "sample_s": args.sample_s,
            "order": "sides alternate within each round; medians over rounds",
            "fresh_state_per_pass": True,
            "method": METHOD,
            "timed": "the frame loop only (state construction and setup frames untimed)",
            "clocks": "wall: time.perf_counter (the figures); cpu: time.process_time",
            "ratio": "frames_per_s_over_cryptofeed = cryptofeed us/frame / this side's",
        },
        "workloads": {w.name: {"frames_per_pass": w.counted, "note": w.note} for w in workloads},
        "checks": checks,
        "results": rows,
    }
    if args.no_write:
        return
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{stem}.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwrote {out.relative_to(ROOT)}")
    if depth is not None:
        prof = RESULTS / f"{stem}-profile-binance-depth.txt"
        profile(depth, 1.0, prof)
        print(f"wrote {prof.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
