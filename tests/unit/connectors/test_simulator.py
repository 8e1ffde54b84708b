"""Market simulator: determinism, native formats, sequencing, checksums, books, faults.

Frames are re-read here with the standard ``json`` module and an independent book
replay per venue rule (Binance REST snapshot + buffered diff depth, OKX snapshot +
updates), never with the simulator's own code.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

import pytest

from tapewire.connectors.simulator import (
    ChannelMix,
    ExpectedBook,
    FaultSpec,
    InstrumentSpec,
    ListingSpec,
    MarketSimulator,
    SimConfig,
    SimFrame,
    load_sim_config,
    okx_checksum,
)
from tapewire.connectors.simulator.config import DEFAULT_N_FRAMES
from tapewire.connectors.simulator.frames import make_frame
from tapewire.connectors.simulator.listing import Listing
from tapewire.connectors.simulator.matching import take_liquidity
from tapewire.connectors.simulator.random_walk import MidWalk
from tapewire.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
N_FRAMES = 20_000


def _run(cfg: SimConfig) -> tuple[list[SimFrame], MarketSimulator]:
    sim = MarketSimulator(cfg)
    return list(sim.frames()), sim


@pytest.fixture(scope="module")
def clean() -> tuple[list[SimFrame], MarketSimulator]:
    return _run(SimConfig(seed=42, n_frames=N_FRAMES))


@pytest.fixture(scope="module")
def faulty() -> tuple[list[SimFrame], MarketSimulator]:
    faults = FaultSpec(drop_delta=0.02, truncate=0.01)
    return _run(SimConfig(seed=43, n_frames=N_FRAMES, faults=faults))


def _data(frame: SimFrame) -> Any:
    """The venue's event object: Binance unwraps the combined stream, OKX the data list."""
    message = json.loads(frame.payload)
    if frame.channel.startswith("rest_"):
        return message
    if frame.venue == "binance":
        return message["data"]
    return message["data"][0]


# ---------------------------------------------------------------------- independent replay
def okx_doc_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    """OKX docs: best 25 of each side, alternating bid:ask as price:size, CRC32 as int32."""
    fields: list[str] = []
    for i in range(25):
        if i < len(bids):
            fields += [bids[i][0], bids[i][1]]
        if i < len(asks):
            fields += [asks[i][0], asks[i][1]]
    crc = zlib.crc32(":".join(fields).encode())
    return crc - 2**32 if crc >= 2**31 else crc


@dataclass
class ReplayBook:
    """A consumer's book: price -> (price text, size text) as the venue sent them."""

    bids: dict[Decimal, tuple[str, str]] = field(default_factory=dict)
    asks: dict[Decimal, tuple[str, str]] = field(default_factory=dict)
    nonce: int | None = None
    synced: bool = False
    buffer: list[dict[str, Any]] = field(default_factory=list)

    def sorted_bids(self) -> list[tuple[str, str]]:
        return [self.bids[p] for p in sorted(self.bids, reverse=True)]

    def sorted_asks(self) -> list[tuple[str, str]]:
        return [self.asks[p] for p in sorted(self.asks)]

    def exact(self) -> tuple[tuple[tuple[Decimal, Decimal], ...], ...]:
        return tuple(
            tuple((Decimal(p), Decimal(s)) for p, s in side)
            for side in (self.sorted_bids(), self.sorted_asks())
        )


@dataclass
class Replay:
    """Replays every book frame by the venue's rules and checks each step."""

    strict: bool = True  # deltas must apply cleanly (no no-op, no delete of a missing level)
    books: dict[tuple[str, str], ReplayBook] = field(default_factory=dict)
    gaps: list[tuple[str, str, int]] = field(default_factory=list)  # (venue, symbol, frame)
    checksums_checked: int = 0
    deltas_applied: int = 0

    def book(self, frame: SimFrame) -> ReplayBook:
        assert frame.symbol is not None
        return self.books.setdefault((frame.venue, frame.symbol), ReplayBook())

    def apply_levels(
        self, book: ReplayBook, bids: list[list[str]], asks: list[list[str]], clean: bool
    ) -> None:
        for levels, side, descending in ((bids, book.bids, True), (asks, book.asks, False)):
            prices = [Decimal(level[0]) for level in levels]
            assert prices == sorted(prices, reverse=descending), "levels not best-first"
            for price_text, size_text, *_ in levels:
                price = Decimal(price_text)
                if Decimal(size_text) == 0:
                    if clean:
                        assert price in side, f"delete of a missing level {price_text}"
                    side.pop(price, None)
                else:
                    if clean:
                        assert side.get(price, ("", ""))[1] != size_text, "no-op change"
                    side[price] = (price_text, size_text)
        if book.bids and book.asks:
            assert max(book.bids) < min(book.asks), "crossed book"

    def feed(self, index: int, frame: SimFrame) -> None:
        if frame.channel not in ("book", "rest_snapshot"):
            return
        book = self.book(frame)
        data = _data(frame)
        if frame.venue == "binance":
            self._binance(index, frame, book, data)
        else:
            self._okx(index, frame, book, data)

    def _binance(self, index: int, frame: SimFrame, book: ReplayBook, data: Any) -> None:
        if frame.channel == "rest_snapshot":
            last = data["lastUpdateId"]
            book.bids, book.asks = {}, {}
            self.apply_levels(book, data["bids"], data["asks"], clean=False)
            book.nonce, book.synced = last, True
            for delta in book.buffer:  # Binance's documented merge of buffered events
                if delta["u"] <= last:
                    continue
                assert delta["U"] <= book.nonce + 1 <= delta["u"]
                self.apply_levels(book, delta["b"], delta["a"], clean=False)
                book.nonce = delta["u"]
            book.buffer.clear()
            return
        assert data["e"] == "depthUpdate"
        assert data["U"] <= data["u"]
        if not book.synced:
            book.buffer.append(data)
            return
        assert book.nonce is not None
        if data["U"] != book.nonce + 1:
            if data["U"] <= book.nonce + 1 <= data["u"]:  # spans the REST snapshot's id
                self.apply_levels(book, data["b"], data["a"], clean=False)
                book.nonce = data["u"]
                return
            self.gaps.append((frame.venue, frame.symbol or "", index))
            book.synced, book.buffer = False, []
            return
        self.apply_levels(book, data["b"], data["a"], clean=self.strict)
        book.nonce = data["u"]
        self.deltas_applied += 1

    def _okx(self, index: int, frame: SimFrame, book: ReplayBook, data: Any) -> None:
        message = json.loads(frame.payload)
        assert message["arg"]["channel"] == "books"
        if message["action"] == "snapshot":
            assert data["prevSeqId"] == -1
            book.bids, book.asks, book.synced = {}, {}, True
            self.apply_levels(book, data["bids"], data["asks"], clean=False)
        else:
            assert message["action"] == "update"
            assert data["seqId"] > data["prevSeqId"]
            if not book.synced:
                return
            if data["prevSeqId"] != book.nonce:
                self.gaps.append((frame.venue, frame.symbol or "", index))
                book.synced = False
                return
            self.apply_levels(book, data["bids"], data["asks"], clean=self.strict)
            self.deltas_applied += 1
        book.nonce = data["seqId"]
        assert okx_doc_checksum(book.sorted_bids(), book.sorted_asks()) == data["checksum"]
        self.checksums_checked += 1


def _replay(frames: list[SimFrame]) -> Replay:
    replay = Replay()
    for index, frame in enumerate(frames):
        if frame.payload[-1:] != b"}":  # a truncated copy (fault injection)
            continue
        replay.feed(index, frame)
    return replay


# ---------------------------------------------------------------------- determinism
def test_same_seed_and_config_give_identical_frames() -> None:
    cfg = SimConfig(seed=7, n_frames=5_000, faults=FaultSpec(drop_delta=0.01, truncate=0.01))
    first, sim = _run(cfg)
    second = list(sim.frames())  # a second run of the same simulator replays from the seed
    third, _ = _run(SimConfig(seed=7, n_frames=5_000, faults=cfg.faults))
    assert len(first) == 5_000
    assert first == second == third
    other, _ = _run(SimConfig(seed=8, n_frames=5_000, faults=cfg.faults))
    assert [f.payload for f in other] != [f.payload for f in first]


_DIGEST_SCRIPT = """
import hashlib
from tapewire.connectors.simulator import MarketSimulator, SimConfig
h = hashlib.sha256()
for f in MarketSimulator(SimConfig(seed=5, n_frames=3000)).frames():
    h.update(repr((f.venue, f.channel, f.symbol, f.exchange_ts_ns, f.sim_ts_ns)).encode())
    h.update(f.payload)
print(h.hexdigest())
"""


def test_byte_sequence_does_not_depend_on_the_process_hash_seed() -> None:
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", _DIGEST_SCRIPT],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(out.stdout.strip())
    local = hashlib.sha256()
    for f in MarketSimulator(SimConfig(seed=5, n_frames=3000)).frames():
        local.update(repr((f.venue, f.channel, f.symbol, f.exchange_ts_ns, f.sim_ts_ns)).encode())
        local.update(f.payload)
    assert digests == {local.hexdigest()}


def test_fault_injection_does_not_change_the_market_path() -> None:
    _, clean_sim = _run(SimConfig(seed=9, n_frames=6_000))
    _, cut_sim = _run(SimConfig(seed=9, n_frames=6_000, faults=FaultSpec(truncate=0.05)))
    clean_trades = [
        (t.venue, t.symbol, t.trade_id, t.price, t.amount, t.side)
        for t in clean_sim.ground_truth.trades()
    ]
    cut_trades = [
        (t.venue, t.symbol, t.trade_id, t.price, t.amount, t.side)
        for t in cut_sim.ground_truth.trades()
    ]
    assert cut_sim.ground_truth.faults  # some frames were cut, so fewer events fit
    assert 0 < len(cut_trades) < len(clean_trades)
    assert cut_trades == clean_trades[: len(cut_trades)]


# ---------------------------------------------------------------------- formats and clocks
def test_frames_are_native_json_with_the_venue_envelopes(
    clean: tuple[list[SimFrame], MarketSimulator],
) -> None:
    frames, _ = clean
    seen: Counter[tuple[str, str]] = Counter()
    for frame in frames:
        message = json.loads(frame.payload)
        seen[(frame.venue, frame.channel)] += 1
        assert b" " not in frame.payload  # compact, as both venues send
        if frame.channel == "rest_markets":
            assert frame.symbol is None
            assert frame.url_path is not None
            continue
        assert frame.symbol is not None
        assert frame.native_symbol is not None
        if frame.venue == "binance" and frame.channel != "rest_snapshot":
            suffix = {"trades": "@trade", "book": "@depth@100ms", "bbo": "@bookTicker"}
            assert message["stream"] == frame.native_symbol.lower() + suffix[frame.channel]
            assert message["data"]["s"] == frame.native_symbol == frame.symbol.replace("/", "")
        elif frame.venue == "binance":
            assert frame.url_path == f"/api/v3/depth?symbol={frame.native_symbol}&limit=1000"
            assert list(message) == ["lastUpdateId", "bids", "asks"]
        else:
            channel = {"trades": "trades", "book": "books", "bbo": "bbo-tbt"}[frame.channel]
            assert message["arg"] == {"channel": channel, "instId": frame.native_symbol}
            assert frame.native_symbol == frame.symbol.replace("/", "-")
    for venue in ("binance", "okx"):
        for channel in ("trades", "book", "bbo", "rest_markets"):
            assert seen[(venue, channel)] > 0, (venue, channel)
    assert seen[("binance", "rest_snapshot")] == 3  # one initial sync per symbol


def test_field_layout_matches_the_venue_docs(
    clean: tuple[list[SimFrame], MarketSimulator],
) -> None:
    frames, _ = clean
    layouts = {
        ("binance", "trades"): ["e", "E", "s", "t", "p", "q", "T", "m", "M"],
        ("binance", "book"): ["e", "E", "s", "U", "u", "b", "a"],
        ("binance", "bbo"): ["u", "s", "b", "B", "a", "A"],
        ("okx", "trades"): ["instId", "tradeId", "px", "sz", "side", "ts", "count"],
        ("okx", "bbo"): ["asks", "bids", "ts", "seqId"],
    }
    okx_book = ["asks", "bids", "ts", "checksum", "prevSeqId", "seqId"]
    for frame in frames:
        if frame.channel.startswith("rest_"):
            continue
        data = _data(frame)
        expected = okx_book if (frame.venue, frame.channel) == ("okx", "book") else None
        assert list(data) == (expected or layouts[(frame.venue, frame.channel)])
        if frame.venue == "okx" and frame.channel in ("book", "bbo"):
            for level in data["bids"] + data["asks"]:
                assert len(level) == 4
                assert level[2] == "0"
                assert (level[1] == "0") == (level[3] == "0")


def test_clocks_are_monotonic_and_match_payload_timestamps(
    clean: tuple[list[SimFrame], MarketSimulator],
) -> None:
    frames, _ = clean
    sim_ts = [f.sim_ts_ns for f in frames]
    assert all(a < b for a, b in pairwise(sim_ts))
    last_exchange: dict[str, int] = {}
    for frame in frames:
        assert frame.exchange_ts_ns % 1_000_000 == 0
        assert frame.exchange_ts_ns <= frame.sim_ts_ns
        assert frame.exchange_ts_ns >= last_exchange.get(frame.venue, 0)
        last_exchange[frame.venue] = frame.exchange_ts_ns
        if frame.channel.startswith("rest_") or (frame.venue, frame.channel) == (
            "binance",
            "bbo",
        ):
            continue  # these payloads carry no timestamp
        data = _data(frame)
        ms = int(data["E"] if frame.venue == "binance" else data["ts"])
        assert ms * 1_000_000 == frame.exchange_ts_ns
    span_s = (sim_ts[-1] - sim_ts[0]) / 1e9
    assert 1.5 < span_s < 2.5  # 20,000 frames at the default 10,000 frames/s


def test_duration_bounds_a_run_in_simulated_time() -> None:
    cfg = SimConfig(seed=1, duration_s=Decimal("0.5"), rate=2_000)
    frames, _ = _run(cfg)
    start = cfg.start_ns
    assert 800 < len(frames) < 1_200
    last_event = [f.sim_ts_ns for f in frames if f.sim_ts_ns >= start + 500_000_000]
    assert len(last_event) <= 12  # only the frames of the event that crossed the end


# ---------------------------------------------------------------------- tick and lot rules
def _rules_from_metadata(frames: list[SimFrame]) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(venue, native symbol) -> (tick, lot), read from the emitted REST metadata."""
    rules = {}
    for frame in frames:
        if frame.channel != "rest_markets":
            continue
        body = json.loads(frame.payload)
        if frame.venue == "binance":
            for sym in body["symbols"]:
                filters = {f["filterType"]: f for f in sym["filters"]}
                rules[("binance", sym["symbol"])] = (
                    Decimal(filters["PRICE_FILTER"]["tickSize"]),
                    Decimal(filters["LOT_SIZE"]["stepSize"]),
                )
        else:
            for inst in body["data"]:
                rules[("okx", inst["instId"])] = (Decimal(inst["tickSz"]), Decimal(inst["lotSz"]))
    return rules


def _numbers(frame: SimFrame) -> Iterator[tuple[str, str]]:
    """(price text, size text) pairs of a frame."""
    data = _data(frame)
    if frame.channel == "trades":
        yield (data["p"], data["q"]) if frame.venue == "binance" else (data["px"], data["sz"])
    elif frame.venue == "binance" and frame.channel == "bbo":
        yield data["b"], data["B"]
        yield data["a"], data["A"]
    else:
        b, a = ("b", "a") if frame.venue == "binance" and frame.channel == "book" else ("", "")
        for level in data[b or "bids"] + data[a or "asks"]:
            yield level[0], level[1]


def test_prices_and_sizes_respect_tick_lot_and_venue_formatting(
    clean: tuple[list[SimFrame], MarketSimulator],
) -> None:
    frames, _ = clean
    rules = _rules_from_metadata(frames)
    assert rules[("binance", "BTCUSDT")] == (Decimal("0.01"), Decimal("0.00001"))
    assert rules[("okx", "BTC-USDT")] == (Decimal("0.1"), Decimal("0.00000001"))
    checked = 0
    for frame in frames:
        if frame.channel == "rest_markets":
            continue
        tick, lot = rules[(frame.venue, frame.native_symbol or "")]
        for price, size in _numbers(frame):
            assert Decimal(price) > 0
            assert Decimal(price) % tick == 0, price
            assert Decimal(size) % lot == 0, size
            if frame.venue == "binance":  # always 8 fractional digits
                assert len(price.split(".")[1]) == 8
                assert len(size.split(".")[1]) == 8
            else:  # never a trailing zero
                for text in (price, size):
                    assert text == "0" or not (text.endswith("0") and "." in text)
                    assert not text.endswith(".")
            checked += 1
    assert checked > 30_000


# ---------------------------------------------------------------------- books and sequencing
def test_sequencing_follows_each_venue_rule(
    clean: tuple[list[SimFrame], MarketSimulator],
) -> None:
    frames, _ = clean
    last_u: dict[str, int] = {}
    last_seq: dict[str, int] = {}
    ticker_u: dict[str, int] = {}
    for frame in frames:
        if frame.channel not in ("book", "bbo"):
            continue
        data, sym = _data(frame), frame.symbol or ""
        if frame.venue == "binance" and frame.channel == "book":
            if sym in last_u:
                assert data["U"] == last_u[sym] + 1  # spot: U == previous u + 1
            assert data["u"] >= data["U"]
            last_u[sym] = data["u"]
        elif frame.venue == "binance":
            assert data["u"] >= max(ticker_u.get(sym, 0), last_u.get(sym, 0))
            ticker_u[sym] = data["u"]
        elif frame.channel == "book":
            message = json.loads(frame.payload)
            if message["action"] == "snapshot":
                assert data["prevSeqId"] == -1
            else:
                assert data["prevSeqId"] == last_seq[sym]  # prevSeqId == previous seqId
            assert data["seqId"] > last_seq.get(sym, -1)
            last_seq[sym] = data["seqId"]
    assert len(last_u) == len(last_seq) == 3


def test_books_replay_cleanly_and_end_at_the_ground_truth(
    clean: tuple[list[SimFrame], MarketSimulator],
) -> None:
    frames, sim = clean
    replay = _replay(frames)
    assert replay.gaps == []
    assert replay.deltas_applied > 8_000
    assert replay.checksums_checked > 4_000
    truth = sim.ground_truth.books()
    assert set(truth) == set(replay.books)
    for key, expected in truth.items():
        got = replay.books[key]
        assert expected.synced
        assert got.synced
        assert got.exact() == (expected.bids, expected.asks), key
        assert got.nonce == expected.nonce
        assert 0 < len(expected.bids) <= 20
        assert 0 < len(expected.asks) <= 20
        assert expected.bids[0][0] < expected.asks[0][0]


def test_okx_checksum_matches_the_documented_examples() -> None:
    # OKX docs: bids [3366.1, 7], asks [3366.8, 9], [3368, 8], [3372, 8] -> 831078360
    assert okx_checksum(["3366.1:7"], ["3366.8:9", "3368:8", "3372:8"]) == 831078360
    assert okx_doc_checksum([("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")]) == (
        831078360
    )
    # two levels a side: 3366.1:7:3366.8:9:3366:6:3368:8 -> -1881014294 (signed)
    assert okx_checksum(["3366.1:7", "3366:6"], ["3366.8:9", "3368:8"]) == -1881014294
    bids = [(f"{100 - i}", f"{i + 1}") for i in range(30)]
    asks = [(f"{101 + i}", "0.5") for i in range(27)]
    assert okx_checksum([f"{p}:{s}" for p, s in bids], [f"{p}:{s}" for p, s in asks]) == (
        okx_doc_checksum(bids, asks)
    )


def test_quotes_are_the_top_of_book_and_never_crossed(
    clean: tuple[list[SimFrame], MarketSimulator],
) -> None:
    frames, sim = clean
    quotes = sim.ground_truth.quotes()
    bbo_frames = [(i, f) for i, f in enumerate(frames) if f.channel == "bbo"]
    assert len(quotes) == len(bbo_frames) > 1_000
    for quote, (index, frame) in zip(quotes, bbo_frames, strict=True):
        data = _data(frame)
        if frame.venue == "binance":
            got = (data["b"], data["B"], data["a"], data["A"])
            assert quote.timestamp_ms is None
        else:
            got = (data["bids"][0][0], data["bids"][0][1], data["asks"][0][0], data["asks"][0][1])
            assert quote.timestamp_ms == int(data["ts"])
        assert tuple(Decimal(x) for x in got) == (
            quote.bid,
            quote.bid_size,
            quote.ask,
            quote.ask_size,
        )
        assert quote.frame_index == index
        assert quote.bid < quote.ask


def test_venues_follow_one_true_mid(clean: tuple[list[SimFrame], MarketSimulator]) -> None:
    _, sim = clean
    books = sim.ground_truth.books()
    for symbol in ("BTC/USDT", "ETH/USDT", "SOL/USDT"):
        mids = [
            (books[(venue, symbol)].bids[0][0] + books[(venue, symbol)].asks[0][0]) / 2
            for venue in ("binance", "okx")
        ]
        assert abs(mids[0] - mids[1]) / mids[0] < Decimal("0.001"), (symbol, mids)


# ---------------------------------------------------------------------- trades
def test_trade_frames_match_the_ground_truth_exactly(
    clean: tuple[list[SimFrame], MarketSimulator],
) -> None:
    frames, sim = clean
    truth = sim.ground_truth.trades()
    parsed = []
    for index, frame in enumerate(frames):
        if frame.channel != "trades":
            continue
        d = _data(frame)
        if frame.venue == "binance":
            side = "sell" if d["m"] else "buy"
            parsed.append((frame.venue, frame.symbol, str(d["t"]), d["p"], d["q"], side, d["T"]))
        else:
            parsed.append(
                (frame.venue, frame.symbol, d["tradeId"], d["px"], d["sz"], d["side"], int(d["ts"]))
            )
        assert parsed[-1][6] * 1_000_000 == frame.exchange_ts_ns
        assert truth[len(parsed) - 1].frame_index == index
    assert len(parsed) == len(truth) == sim.ground_truth.trade_count > 3_000
    assert parsed == [
        (
            t.venue,
            t.symbol,
            t.trade_id,
            _fmt(t.price, t.venue),
            _fmt(t.amount, t.venue),
            t.side,
            t.timestamp_ms,
        )
        for t in truth
    ]
    per_key = Counter((t.venue, t.symbol) for t in truth)
    counts = sim.ground_truth.frame_counts()
    assert all(counts[(v, s, "trades")] == n for (v, s), n in per_key.items())
    ids: dict[tuple[str, str], list[int]] = defaultdict(list)
    for t in truth:
        ids[(t.venue, t.symbol)].append(int(t.trade_id))
    assert all(b == a + 1 for seq in ids.values() for a, b in pairwise(seq))


def _fmt(value: Decimal, venue: str) -> str:
    text = f"{value:.8f}"
    return text if venue == "binance" else text.rstrip("0").rstrip(".")


def _listing(book_levels: dict[str, list[tuple[int, int]]]) -> Listing:
    lst = Listing(
        venue="okx",
        symbol="BTC/USDT",
        native="BTC-USDT",
        walk=MidWalk(1000, 1),
        price_decimals=1,
        size_decimals=2,
        tick=1,
        lot=1,
        min_size=1,
        offset=0,
        spread=1,
        typical_size=10,
        gap_ticks=1,
        latency_ns=0,
        trade_id=0,
        book_version=100,
    )
    for name, levels in book_levels.items():
        side = lst.book.bids if name == "bids" else lst.book.asks
        for price, size in levels:
            lst.book.set(side, price, size)
    lst.book.clear_pending()
    return lst


def test_taker_orders_fill_at_the_touch_and_walk_the_book() -> None:
    lst = _listing({"bids": [(999, 5)], "asks": [(1001, 3), (1002, 4), (1005, 10)]})
    version = lst.book.version
    fills = take_liquidity(lst, taker_buy=True, quantity=9, max_fills=10)
    assert fills == [(1001, 3), (1002, 4), (1005, 2)]
    assert lst.book.asks.levels() == [(1005, 8)]
    assert lst.book.asks.take_changes() == [(1001, 0), (1002, 0), (1005, 8)]
    assert lst.book.version == version + 3  # one update id per level change
    # the last level of a side is never emptied, so the book keeps a touch
    fills = take_liquidity(lst, taker_buy=False, quantity=50, max_fills=10)
    assert fills == [(999, 4)]
    assert lst.book.bids.levels() == [(999, 1)]
    assert take_liquidity(lst, taker_buy=False, quantity=1, max_fills=10) == []


# ---------------------------------------------------------------------- faults
def test_dropped_deltas_are_detectable_gaps_and_resync(
    faulty: tuple[list[SimFrame], MarketSimulator],
) -> None:
    frames, sim = faulty
    truth = sim.ground_truth
    gaps = [f for f in truth.faults if f.kind == "gap"]
    assert len(gaps) >= 10
    assert {g.venue for g in gaps} == {"binance", "okx"}
    replay = _replay(frames)
    detected = {(venue, symbol) for venue, symbol, _ in replay.gaps}
    assert detected == {(g.venue, g.symbol) for g in gaps}
    truncated = {f.frame_index for f in truth.faults if f.kind == "truncated"}
    for venue, symbol, index in replay.gaps:  # detected at the listing's first later delta
        injected = [g.frame_index for g in gaps if (g.venue, g.symbol) == (venue, symbol)]
        previous = max(i for i in injected if i <= index)
        between = [
            i
            for i in range(previous, index)
            if (frames[i].venue, frames[i].symbol, frames[i].channel) == (venue, symbol, "book")
            and i not in truncated
        ]
        assert between == []
    books = truth.books()
    for key, expected in books.items():
        if expected.synced:  # every gap's resync snapshot was emitted
            got = replay.books[key]
            assert got.synced, key
            assert got.exact() == (expected.bids, expected.asks), key


def test_truncated_frames_are_unparseable_copies_of_the_next_frame(
    faulty: tuple[list[SimFrame], MarketSimulator],
) -> None:
    frames, sim = faulty
    cut = [f for f in sim.ground_truth.faults if f.kind == "truncated"]
    assert len(cut) >= 50
    for fault in cut:
        broken, intact = frames[fault.frame_index], frames[fault.frame_index + 1]
        assert intact.payload.startswith(broken.payload)
        assert len(broken.payload) < len(intact.payload)
        assert (broken.venue, broken.symbol, broken.channel) == (
            fault.venue,
            fault.symbol,
            fault.channel,
        )
        with pytest.raises(json.JSONDecodeError):
            json.loads(broken.payload)
    parseable = 0
    cut_index = {f.frame_index for f in cut}
    for index, frame in enumerate(frames):
        if index not in cut_index:
            json.loads(frame.payload)
            parseable += 1
    assert parseable + len(cut) == len(frames) == N_FRAMES
    assert sim.ground_truth.count() == N_FRAMES


def test_faults_are_off_by_default(clean: tuple[list[SimFrame], MarketSimulator]) -> None:
    _, sim = clean
    assert sim.ground_truth.faults == []


# ---------------------------------------------------------------------- metadata via ccxt
def test_ccxt_loads_markets_offline_from_the_metadata_frames() -> None:
    import ccxt.pro as ccxt_pro  # a runtime dependency: a missing one must fail, not skip

    sim = MarketSimulator(SimConfig(seed=3, n_frames=10))
    bodies = {f.venue: f for f in sim.rest_markets()}
    loop = asyncio.new_event_loop()
    try:
        for venue, frame in bodies.items():
            exchange = getattr(ccxt_pro, venue)(
                {"enableRateLimit": False, "options": {"fetchMarkets": {"types": ["spot"]}}}
            )
            requested: list[str] = []

            async def fetch(
                url: str,
                *args: Any,
                frame: SimFrame = frame,
                requested: list[str] = requested,
                **kwargs: Any,
            ) -> Any:
                requested.append(url)
                assert frame.url_path is not None
                assert frame.url_path.split("?")[0] in url
                return json.loads(frame.payload)

            exchange.fetch = fetch
            markets = loop.run_until_complete(exchange.load_markets())
            loop.run_until_complete(exchange.close())
            assert len(requested) == 1
            assert {"BTC/USDT", "ETH/USDT", "SOL/USDT"} <= set(markets)
            btc = markets["BTC/USDT"]
            assert btc["spot"]
            assert btc["id"] == ("BTCUSDT" if venue == "binance" else "BTC-USDT")
            tick = Decimal("0.01") if venue == "binance" else Decimal("0.1")
            assert Decimal(str(btc["precision"]["price"])) == tick
    finally:
        loop.close()


# ---------------------------------------------------------------------- config
def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError) as err:
        load_sim_config(rate=0)
    assert err.value.field == "simulator.rate"
    with pytest.raises(ConfigError) as err:
        load_sim_config(venues=["binance", "kraken"])
    assert err.value.field.startswith("simulator.venues")
    with pytest.raises(ConfigError, match="n_frames or duration_s"):
        load_sim_config(n_frames=10, duration_s="1")
    with pytest.raises(ConfigError, match="no tick/lot rules for binance"):
        load_sim_config(
            instruments=[{"symbol": "DOGE/USDT", "start_price": "0.1", "typical_size": "100"}]
        )


def test_custom_instruments_venues_and_mix() -> None:
    doge = InstrumentSpec(
        symbol="DOGE/USDT",
        start_price=Decimal("0.08123"),
        typical_size=Decimal(5000),
        listings={
            "binance": ListingSpec(
                tick_size=Decimal("0.00001"), lot_size=Decimal(1), min_size=Decimal(1)
            )
        },
    )
    cfg = SimConfig(
        seed=4,
        n_frames=3_000,
        venues=["binance"],
        instruments=(doge,),
        mix=ChannelMix(trades=1, book=1, bbo=0),
        book_depth=5,
    )
    frames, sim = _run(cfg)
    assert {(f.venue, f.channel) for f in frames} == {
        ("binance", "rest_markets"),
        ("binance", "trades"),
        ("binance", "book"),
        ("binance", "rest_snapshot"),
    }
    replay = _replay(frames)
    book: ExpectedBook = sim.ground_truth.books()[("binance", "DOGE/USDT")]
    assert replay.books[("binance", "DOGE/USDT")].exact() == (book.bids, book.asks)
    assert len(book.bids) <= 5
    assert len(book.asks) <= 5
    assert all(
        Decimal(p) % Decimal("0.00001") == 0
        for f in frames[1:]
        for p, _ in _numbers(f)
        if f.channel != "rest_markets"
    )


def test_make_frame_builds_an_equal_frozen_frame() -> None:
    args = ("okx", "trades", "BTC/USDT", "BTC-USDT", b"{}", 1_000_000, 1_000_001, None)
    built = make_frame(*args)  # type: ignore[arg-type]
    assert built == SimFrame(*args)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        built.venue = "binance"  # type: ignore[misc]


def test_an_endless_run_goes_past_the_default_frame_count() -> None:
    """A paced live feed (``tapewire run connector`` without max_frames) never runs dry."""
    sim = MarketSimulator(SimConfig(endless=True, ground_truth=False))
    frames = sum(1 for _ in islice(sim.frames(), DEFAULT_N_FRAMES + 1_000))
    assert frames == DEFAULT_N_FRAMES + 1_000
    with pytest.raises(ValueError, match="endless"):
        SimConfig(endless=True, n_frames=10)
