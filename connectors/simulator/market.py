"""The market simulator: seeded events over several venues, emitted as native frames.

Each step picks an event kind by the channel mix and a listing (instrument on a
venue) uniformly, advances the instrument's true mid one random-walk step, and lets
the listing act: a taker order (trade frames), maker activity (a book delta, plus the
snapshots book sync needs), or a top-of-book quote. Frames get a strictly increasing
sim clock; a venue's timestamps are the sim clock minus its latency, at the venue's
precision (ms).

Three independent seeded generators (market, clock, faults) keep the market path the
same whether or not faults are injected.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

from tapewire.connectors.simulator.binance import BinanceCodec
from tapewire.connectors.simulator.config import InstrumentSpec, ListingSpec, SimConfig
from tapewire.connectors.simulator.frames import Channel, SimFrame, make_frame
from tapewire.connectors.simulator.ground_truth import ExpectedBook, Fault, GroundTruth
from tapewire.connectors.simulator.listing import BBO, BOOK, REST_SNAPSHOT, TRADES, Listing
from tapewire.connectors.simulator.matching import take_liquidity
from tapewire.connectors.simulator.okx import OkxCodec
from tapewire.connectors.simulator.quoting import keep_depth, requote, seed_book
from tapewire.connectors.simulator.random_walk import MidWalk
from tapewire.connectors.simulator.scaled import decimals_of, to_units
from tapewire.connectors.simulator.venue import VenueCodec

CODECS: dict[str, type[VenueCodec]] = {"binance": BinanceCodec, "okx": OkxCodec}
"""Venue name -> codec class; a new venue registers its codec here."""

_CHANNEL_NAMES: tuple[Channel, ...] = ("trades", "book", "bbo", "rest_snapshot")
_UNBOUNDED = 1 << 62
_SWEEP_CHANCE = 0.05  # taker orders this often are 6x larger and walk the book
_SWEEP_FACTOR = 6


class MarketSimulator:
    """Deterministic multi-venue market: ``for frame in MarketSimulator(cfg): ...``.

    Every call of :meth:`frames` (or iteration) replays the run from the seed, so the
    same config always yields the same byte sequence. After (or during) a run,
    :attr:`ground_truth` holds what a correct consumer must end up with.
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self._run: _Run | None = None

    def frames(self) -> Iterator[SimFrame]:
        """A fresh run from the seed; frames in emission order."""
        self._run = _Run(self.config)
        return self._run.run()

    __iter__ = frames

    @property
    def ground_truth(self) -> GroundTruth:
        """Expected trades, quotes, books, faults and counts of the latest run."""
        if self._run is None:
            raise RuntimeError("no run yet: iterate MarketSimulator.frames() first")
        return self._run.truth

    def rest_markets(self) -> list[SimFrame]:
        """The market-metadata REST frames (one per venue), as a run emits them first."""
        return _Run(self.config).markets_frames()


class _Run:
    """State of one run. Hot paths use locals and slots; see docs/simulator.md."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        market_rng = random.Random(cfg.seed)
        self.rand = market_rng.random
        self.clock_rand = random.Random(f"tapewire-sim-clock:{cfg.seed}").random
        self.fault_rand = random.Random(f"tapewire-sim-faults:{cfg.seed}").random
        self.drop_p = cfg.faults.drop_delta
        self.truncate_p = cfg.faults.truncate
        self.record = cfg.ground_truth
        self.mean_gap = max(1, 1_000_000_000 // cfg.rate)
        self.min_gap = max(1, self.mean_gap // 2)
        self.t = cfg.start_ns
        self.idx = 0
        self.budget = _UNBOUNDED
        self.spare = 0
        self.out: list[SimFrame] = []
        self.listings: list[Listing] = []
        self.codecs: list[VenueCodec] = []
        self.rules: dict[str, list[tuple[Listing, ListingSpec]]] = {}
        self.markets_count: Counter[str] = Counter()
        self._build()
        self.truth = GroundTruth(self.expected_books, self.frame_counts)
        self.add_trade = self.truth.trade_rows.append
        self.add_quote = self.truth.quote_rows.append

    # ------------------------------------------------------------------ setup
    def _build(self) -> None:
        cfg = self.cfg
        codecs = {v.name: CODECS[v.name]() for v in cfg.venues}
        depth = cfg.book_depth
        for inst in cfg.instruments:
            rules = {v.name: _rules(inst, v.name) for v in cfg.venues}
            pd = max(decimals_of(r.tick_size) for r in rules.values())
            start = to_units(inst.start_price.quantize(Decimal(1).scaleb(-pd)), pd)
            step = int(start * inst.step_bp / 10_000)
            walk = MidWalk(start, step if step or not inst.step_bp else 1)
            for venue in cfg.venues:
                rule, codec = rules[venue.name], codecs[venue.name]
                sd = decimals_of(rule.lot_size)
                tick = to_units(rule.tick_size, pd)
                typical = to_units(inst.typical_size.quantize(Decimal(1).scaleb(-sd)), sd)
                lst = Listing(
                    venue=venue.name,
                    symbol=inst.symbol,
                    native=codec.native_symbol(inst.symbol),
                    walk=walk,
                    price_decimals=pd,
                    size_decimals=sd,
                    tick=tick,
                    lot=to_units(rule.lot_size, sd),
                    min_size=to_units(rule.min_size, sd),
                    offset=int(start * venue.offset_bp / 10_000),
                    spread=cfg.spread_ticks * tick,
                    typical_size=max(typical, 1),
                    gap_ticks=max(1, start // (50_000 * tick)),  # level gaps up to ~0.2 bp
                    latency_ns=venue.latency_us * 1_000,
                    trade_id=100_000_000 + int(self.rand() * 10_000_000),
                    book_version=1_000_000_000 + int(self.rand() * 1_000_000_000),
                )
                codec.bind(lst)
                text_fn = codec.level_text(lst)
                if text_fn is not None:
                    lst.book.track_text(text_fn)
                seed_book(lst, self.rand, max(1, depth * 3 // 4))
                self.listings.append(lst)
                self.codecs.append(codec)
                self.rules.setdefault(venue.name, []).append((lst, rule))

    def markets_frames(self) -> list[SimFrame]:
        """One metadata frame per venue, stamped at the start of the run."""
        frames = []
        t = self.cfg.start_ns
        for venue in self.cfg.venues:
            codec = CODECS[venue.name]()
            ms = (t - venue.latency_us * 1_000) // 1_000_000
            payload = codec.markets(self.rules[venue.name], ms)
            frames.append(
                SimFrame(
                    venue.name,
                    "rest_markets",
                    None,
                    None,
                    payload,
                    ms * 1_000_000,
                    t,
                    codec.markets_path,
                )
            )
            t += self.min_gap
        return frames

    # ------------------------------------------------------------------ main loop
    def run(self) -> Iterator[SimFrame]:
        cfg = self.cfg
        limit, duration = cfg.frame_limit, cfg.duration_ns
        end = cfg.start_ns + duration if duration is not None else _UNBOUNDED
        if cfg.rest_markets:
            for frame in self.markets_frames():
                if limit is not None and self.idx >= limit:
                    return
                self.markets_count[frame.venue] += 1
                self.idx += 1
                self.t = frame.sim_ts_ns + self.min_gap
                yield frame
        listings, codecs, n = self.listings, self.codecs, len(self.listings)
        w_trades = cfg.mix.trades
        w_book = w_trades + cfg.mix.book
        w_total = w_book + cfg.mix.bbo
        rand, out = self.rand, self.out
        trade, book, bbo = self.trade, self.book, self.bbo
        while True:
            if limit is not None:
                self.budget = limit - self.idx
                if self.budget <= 0:
                    return
            elif self.t >= end:
                return
            r = rand() * w_total
            i = int(rand() * n)
            lst = listings[i]
            step = int(rand() * 4)
            if step == 0 or step == 3:  # 1 and 2 leave the mid where it is
                lst.walk.step(step)
            if r < w_trades:
                trade(lst, codecs[i])
            elif r < w_book:
                book(lst, codecs[i])
            else:
                bbo(lst, codecs[i])
            if out:
                yield from out
                out.clear()

    def emit(
        self,
        lst: Listing,
        channel: int,
        payload: bytes,
        ts_ms: int,
        url_path: str | None = None,
    ) -> int:
        """Append one frame (maybe preceded by a truncated copy); return its index."""
        if self.truncate_p and url_path is None and self.spare > 0:
            self._maybe_truncate(lst, channel, payload, ts_ms)
        t = self.t
        self.t = t + self.min_gap + int(self.clock_rand() * self.mean_gap)
        self.out.append(
            make_frame(
                lst.venue,
                _CHANNEL_NAMES[channel],
                lst.symbol,
                lst.native,
                payload,
                ts_ms * 1_000_000,
                t,
                url_path,
            )
        )
        lst.counts[channel] += 1
        idx = self.idx
        self.idx = idx + 1
        return idx

    def _maybe_truncate(self, lst: Listing, channel: int, payload: bytes, ts_ms: int) -> None:
        """Fault injection: emit a cut copy of ``payload`` before the real frame."""
        if self.fault_rand() >= self.truncate_p:
            return
        self.spare -= 1
        cut = 1 + int(self.fault_rand() * (len(payload) - 1))
        self.truncate_p, saved = 0.0, self.truncate_p  # the copy itself is not cut again
        idx = self.emit(lst, channel, payload[:cut], ts_ms)
        self.truncate_p = saved
        self.truth.faults.append(
            Fault(
                "truncated",
                lst.venue,
                lst.symbol,
                _CHANNEL_NAMES[channel],
                idx,
                f"{cut} of {len(payload)} bytes",
            )
        )

    # ------------------------------------------------------------------ events
    def trade(self, lst: Listing, codec: VenueCodec) -> None:
        """A taker order: one trade frame per maker level it fills."""
        rand = self.rand
        taker_buy = rand() < 0.5
        quantity = lst.min_size + lst.lot * int(rand() * lst.taker_span)
        if rand() < _SWEEP_CHANCE:
            quantity *= _SWEEP_FACTOR
        if len((lst.book.asks if taker_buy else lst.book.bids).keys) < 2:
            keep_depth(lst, rand, self.cfg.book_depth)  # makers refill a drained side first
        fills = take_liquidity(lst, taker_buy, quantity, self.budget)
        self.spare = self.budget - len(fills)
        ts_ms = (self.t - lst.latency_ns) // 1_000_000
        for price, size in fills:
            lst.trade_id += 1
            px, sz = lst.price_str(price), lst.fmt_size(size)
            idx = self.emit(
                lst, TRADES, codec.trade(lst, lst.trade_id, px, sz, taker_buy, ts_ms), ts_ms
            )
            if self.record:
                self.add_trade(
                    (lst.venue, lst.symbol, str(lst.trade_id), px, sz, taker_buy, ts_ms, idx)
                )

    def book(self, lst: Listing, codec: VenueCodec) -> None:
        """Maker activity, published as a delta; plus a snapshot when sync needs one."""
        cfg, book = self.cfg, lst.book
        ts_ms = (self.t - lst.latency_ns) // 1_000_000
        resync = lst.resync_in is not None and lst.resync_in <= 1
        if lst.resync_in is not None and not resync:
            lst.resync_in -= 1
        initial = not lst.synced and (
            codec.sync == "ws" or lst.deltas_sent + 1 >= cfg.snapshot_after
        )
        snapshot = resync or initial
        rest = snapshot and codec.sync == "rest"
        if rest and self.budget < 2:
            snapshot = rest = False  # no room for REST + delta: sync at a later event
        self.spare = self.budget - (2 if rest else 1)
        # A REST snapshot is served from the book before this event's changes.
        rest_body = codec.snapshot(lst, ts_ms) if rest else None
        requote(lst, self.rand, cfg.book_depth)
        if snapshot and not rest:  # websocket snapshot message (OKX)
            payload, _ = codec.snapshot(lst, ts_ms)
            book.clear_pending()
            self.emit(lst, BOOK, payload, ts_ms)
            lst.synced, lst.resync_in = True, None
            return
        bids, asks = book.bids.take_changes(), book.asks.take_changes()
        if not bids and not asks:  # the event's changes cancelled out: grow the best bid
            best = book.best_bid()
            book.set(book.bids, best, book.bids.sizes[best] + lst.lot)
            bids = book.bids.take_changes()
        prev = book.published_version
        book.published_version = book.version
        lst.deltas_sent += 1
        if (
            self.drop_p
            and not snapshot
            and lst.synced
            and lst.resync_in is None
            and self.fault_rand() < self.drop_p
        ):
            lst.resync_in = cfg.resync_after
            self.truth.faults.append(
                Fault(
                    "gap",
                    lst.venue,
                    lst.symbol,
                    "book",
                    self.idx,
                    f"lost update ids {prev + 1}..{book.version}",
                )
            )
            return
        payload = codec.delta(lst, bids, asks, prev, book.version, ts_ms)
        if rest_body is None:
            self.emit(lst, BOOK, payload, ts_ms)
            return
        body, url = rest_body
        if resync:  # after a gap the consumer has no buffer: snapshot first, then deltas
            self.emit(lst, REST_SNAPSHOT, body, ts_ms, url)
            self.emit(lst, BOOK, payload, ts_ms)
        else:  # initial sync: the delta is buffered, the REST answer arrives after it
            self.emit(lst, BOOK, payload, ts_ms)
            self.emit(lst, REST_SNAPSHOT, body, ts_ms, url)
        lst.synced, lst.resync_in = True, None

    def bbo(self, lst: Listing, codec: VenueCodec) -> None:
        """Top of book as the venue's BBO channel shows it now."""
        book = lst.book
        bp, ap = book.best_bid(), book.best_ask()
        bs, az = book.bids.sizes[bp], book.asks.sizes[ap]
        bid = (lst.price_str(bp), lst.fmt_size(bs), bs)
        ask = (lst.price_str(ap), lst.fmt_size(az), az)
        ts_ms = (self.t - lst.latency_ns) // 1_000_000
        self.spare = self.budget - 1
        idx = self.emit(lst, BBO, codec.bbo(lst, bid, ask, book.version, ts_ms), ts_ms)
        if self.record:
            quote_ts = ts_ms if codec.quote_has_timestamp else None
            self.add_quote((lst.venue, lst.symbol, bid[0], bid[1], ask[0], ask[1], quote_ts, idx))

    # ------------------------------------------------------------------ ground truth
    def expected_books(self) -> dict[tuple[str, str], ExpectedBook]:
        """Each listing's book as of its last book message (pending changes reverted)."""
        books = {}
        for lst in self.listings:

            def exact(
                levels: list[tuple[int, int]], lst: Listing = lst
            ) -> tuple[tuple[Decimal, Decimal], ...]:
                return tuple(
                    (Decimal(lst.fmt_price(p)), Decimal(lst.fmt_size(s))) for p, s in levels
                )

            books[(lst.venue, lst.symbol)] = ExpectedBook(
                venue=lst.venue,
                symbol=lst.symbol,
                bids=exact(lst.book.bids.published()),
                asks=exact(lst.book.asks.published()),
                nonce=lst.book.published_version,
                synced=lst.synced and lst.resync_in is None,
            )
        return books

    def frame_counts(self) -> Counter[tuple[str, str | None, Channel]]:
        """Frames emitted per ``(venue, symbol, channel)``; ``symbol`` None for metadata."""
        counts: Counter[tuple[str, str | None, Channel]] = Counter()
        for venue, n in self.markets_count.items():
            counts[(venue, None, "rest_markets")] = n
        for lst in self.listings:
            for channel, n in enumerate(lst.counts):
                if n:
                    counts[(lst.venue, lst.symbol, _CHANNEL_NAMES[channel])] = n
        return counts


def _rules(inst: InstrumentSpec, venue: str) -> ListingSpec:
    rule = inst.listing(venue)
    if rule is None:  # SimConfig validation makes this unreachable
        raise ValueError(f"{inst.symbol} has no listing rules for {venue}")
    return rule
