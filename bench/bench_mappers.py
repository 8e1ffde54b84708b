"""Tapewire's normalizer core against cryptofeed's own parsers, same frames, one process.

Run: ``make bench-mappers`` (builds ``.venv-bench`` with the ``bench-cryptofeed`` extra),
or ``.venv-bench/bin/python bench/bench_mappers.py [--rounds 7] [--sample-s 0.5]``.

Per workload (a venue and a channel, from the recorded frames of ``tests/data/real``), every
side parses the same frames from the wire text to typed records with ``Decimal`` prices:

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

``--doc`` adds the documentation-derived workloads (venues without a recorded session: the
fixture frames of ``tests/data/frames``, derived to fill a pass; names end in ``(doc)``).
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
        Bitget,
        Bybit,
        CryptoDotCom,
        Deribit,
        Gateio,
        Gemini,
        Huobi,
        KrakenFutures,
        KuCoin,
    )
    from cryptofeed.feed import Feed
    from cryptofeed.symbols import Symbols
except ImportError as exc:  # pragma: no cover - the message is the point
    raise SystemExit(
        f"cryptofeed is not installed ({exc}): run `make bench-venv` and use .venv-bench"
    ) from exc

from bench_end_to_end import machine  # noqa: E402

from tapewire.schemas.codec import Codec  # noqa: E402
from tapewire.streams.normalize import Normalizer  # noqa: E402
from tapewire.streams.normalize.mappers.common import okx_checksum_text  # noqa: E402
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


def all_workloads(trades: int) -> list[Workload]:
    """Every workload, in run order (``trades``: derived Binance aggTrade frames)."""
    return (
        binance_workloads(trades)
        + okx_workloads()
        + krakenfutures_workloads()
        + gemini_workloads()
        + bybit_workloads()
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


def _tick(text: str, i: int, step: str) -> str:
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
        d["price"] = _tick(d["price"], i, "0.1")
        d["size"] = _tick(d["size"], i % 13, "0.001")
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
                change[0] = _tick(change[0], i, step)
                change[1] = "0" if i % 5 == 4 else _tick(change[1], i % 7, "0.01")
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
        r["price"] = _tick(r["price"], i, "0.0001")
        r["amount"] = _tick(r["amount"], i % 13, "0.01")
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
            t["price"] = float(_tick(str(t["price"]), k, "0.01"))
            t["amount"] = float(_tick(str(t["amount"]), k % 13, "0.001"))
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
            t["price"] = float(_tick(str(t["price"]), k, "0.5"))
            t["amount"] = float(_tick(str(t["amount"]), k % 13, "10"))  # USD, steps of 10
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
            t["p"] = _tick(t["p"], k, "0.01")
            t["q"] = _tick(t["q"], k % 13, "0.00010")
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
    """Documentation-derived workloads: kucoin, gate, htx (cryptofeed parses the same frame
    format on each channel listed)."""
    return (
        _kucoin_doc() + _gate_doc() + _htx_doc() + _deribit_doc() + _cryptocom_doc() + _bitget_doc()
    )


def doc_workloads() -> list[Workload]:
    """Every documentation-derived workload (``--doc``)."""
    return docb_workloads()


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
    out = {name: core_side(factory)(w) for name, factory in CORES.items()}
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
    ref_name = next(iter(CORES))
    out: dict[str, Any] = {"outputs": {n: p.outputs for n, p in passes.items()}}
    for name, p in passes.items():
        if name != ref_name and p.views:
            _compare(w, ref_name, passes[ref_name].views, name, p.views, out)
    if PROFILED in passes:
        for name, p in passes.items():
            if name not in (ref_name, PROFILED) and p.views:
                _compare(w, PROFILED, passes[PROFILED].views, name, p.views, out)
    return out


def _compare(
    w: Workload, ref_name: str, ref: list[View], name: str, views: list[View], out: dict[str, Any]
) -> None:
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
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--doc", action="store_true", help="also the documentation-derived")
    parser.add_argument("--method", choices=METHODS, default=METHODS[0], help="see METHOD")
    args = parser.parse_args()
    global METHOD
    METHOD = args.method

    started = datetime.now(UTC)
    load_start = os.getloadavg()
    workloads = all_workloads(args.trades) + (doc_workloads() if args.doc else [])
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
