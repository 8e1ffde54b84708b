"""Per-venue BBO from L2 book updates: snapshot + deltas, emission on top change only,
rejects (delta before snapshot, old sequence, malformed), checkpoint, Avro, no floats."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

from tapewire.core.records import Record
from tapewire.schemas.codec import Codec
from tapewire.streams.aggregate import BboConfig, BookBbo

CODEC = Codec()
T0 = 1_767_225_600_000_000_000


def lv(price: str, size: str) -> dict[str, Decimal]:
    return {"price": Decimal(price), "size": Decimal(size)}


def update(
    kind: str,
    bids: list[dict[str, Decimal]],
    asks: list[dict[str, Decimal]],
    *,
    seq: int | None = None,
    ts: int = T0,
    venue: str = "kraken",
) -> dict[str, Any]:
    return {
        "venue": venue,
        "instrument": "BTC-USD-SPOT",
        "kind": kind,
        "bids": bids,
        "asks": asks,
        "depth": None,
        "first_sequence": seq,
        "last_sequence": seq,
        "prev_sequence": None,
        "checksum": None,
        "exchange_ts_ns": ts - 1000,
        "receive_ts_ns": ts,
        "process_ts_ns": ts + 1,
    }


def check_quote(quote: Record) -> None:
    CODEC.for_topic("md.quotes").encode(quote)
    assert quote["source"] == "BOOK"
    assert not any(isinstance(v, float) for v in quote.values())


def test_bbo_follows_snapshot_and_deltas() -> None:
    bbo = BookBbo(clock=lambda: 7)
    snap = update("SNAPSHOT", [lv("100", "1"), lv("99", "2")], [lv("101", "3"), lv("102", "4")])
    q = bbo.add(snap)
    assert q is not None
    check_quote(q)
    assert (q["bid_price"], q["bid_size"], q["ask_price"], q["ask_size"]) == (
        Decimal(100),
        Decimal(1),
        Decimal(101),
        Decimal(3),
    )
    assert (q["receive_ts_ns"], q["exchange_ts_ns"], q["process_ts_ns"]) == (T0, T0 - 1000, 7)
    # a change below the top emits nothing
    assert bbo.add(update("DELTA", [lv("98", "5")], [], seq=2, ts=T0 + 1)) is None
    # best size changes -> quote
    q = bbo.add(update("DELTA", [lv("100", "1.5")], [], seq=3, ts=T0 + 2))
    assert q is not None
    assert q["bid_size"] == Decimal("1.5")
    # best level removed -> the next one is best
    q = bbo.add(update("DELTA", [lv("100", "0")], [lv("100.5", "1")], seq=4, ts=T0 + 3))
    assert q is not None
    check_quote(q)
    assert (q["bid_price"], q["ask_price"], q["ask_size"]) == (
        Decimal(99),
        Decimal("100.5"),
        Decimal(1),
    )
    # empty a side -> nulls
    q = bbo.add(update("DELTA", [lv("99", "0"), lv("98", "0")], [], seq=5, ts=T0 + 4))
    assert q is not None
    assert (q["bid_price"], q["bid_size"]) == (None, None)
    check_quote(q)
    assert bbo.drain_rejected() == []


def test_rejects_delta_before_snapshot_old_sequence_and_malformed() -> None:
    bbo = BookBbo()
    assert bbo.add(update("DELTA", [lv("1", "1")], [])) is None
    bbo.add(update("SNAPSHOT", [lv("1", "1")], [lv("2", "1")], seq=10))
    assert bbo.add(update("DELTA", [lv("1.5", "1")], [], seq=10)) is None
    bad = update("DELTA", [], [], seq=11)
    bad["bids"] = [{"price": 1.5, "size": Decimal(1)}]
    assert bbo.add(bad) is None
    reasons = [(r.reason, r.detail) for r in bbo.drain_rejected()]
    assert [r for r, _ in reasons] == ["no_snapshot", "stale_sequence", "invalid"]
    assert "bids[0].price" in reasons[2][1]
    book = bbo.book("kraken", "BTC-USD-SPOT")
    assert book is not None
    assert book.top()[0] == Decimal(1)  # unchanged by the rejected updates


def test_snapshot_resyncs_and_venue_filter() -> None:
    bbo = BookBbo(BboConfig(venues=frozenset({"kraken"})))
    assert bbo.add(update("SNAPSHOT", [lv("1", "1")], [], venue="binance")) is None
    bbo.add(update("SNAPSHOT", [lv("1", "1")], [lv("3", "1")], seq=5))
    q = bbo.add(update("SNAPSHOT", [lv("2", "1")], [lv("3", "1")], seq=1))  # resync: seq resets
    assert q is not None
    assert q["bid_price"] == Decimal(2)
    reset = bbo.reset("kraken", "BTC-USD-SPOT")
    assert reset is not None
    assert reset["bid_price"] is None
    assert reset["ask_price"] is None
    check_quote(reset)


def test_random_deltas_match_a_brute_force_book() -> None:
    rng = random.Random(7)
    bbo = BookBbo(clock=lambda: 0)
    bids: dict[Decimal, Decimal] = {Decimal(100): Decimal(1)}
    asks: dict[Decimal, Decimal] = {Decimal(101): Decimal(1)}
    bbo.add(update("SNAPSHOT", [lv("100", "1")], [lv("101", "1")], seq=0))
    last: tuple[Decimal | None, ...] = (Decimal(100), Decimal(1), Decimal(101), Decimal(1))
    for seq in range(1, 2000):
        side, book = (("bids", bids), ("asks", asks))[rng.randrange(2)]
        base = 100 if side == "bids" else 101
        price = Decimal(base + (rng.randrange(-20, 1) if side == "bids" else rng.randrange(0, 21)))
        price += Decimal(rng.randrange(0, 4)) / 4
        size = Decimal(rng.choice([0, 0, 1, 2, 3])) / 8
        if size:
            book[price] = size
        else:
            book.pop(price, None)
        levels = [{"price": price, "size": size}]
        q = bbo.add(
            update(
                "DELTA", levels if side == "bids" else [], levels if side == "asks" else [], seq=seq
            )
        )
        best_bid = max(bids) if bids else None
        best_ask = min(asks) if asks else None
        expected = (
            best_bid,
            bids[best_bid] if best_bid is not None else None,
            best_ask,
            asks[best_ask] if best_ask is not None else None,
        )
        if expected != last:
            assert q is not None
            assert (q["bid_price"], q["bid_size"], q["ask_price"], q["ask_size"]) == expected
            last = expected
        else:
            assert q is None
    assert bbo.drain_rejected() == []


def test_checkpoint_round_trip() -> None:
    bbo = BookBbo(clock=lambda: 0)
    bbo.add(update("SNAPSHOT", [lv("100", "1"), lv("99", "2")], [lv("101", "3")], seq=1))
    state = json.loads(json.dumps(bbo.key_state("kraken", "BTC-USD-SPOT")))
    resumed = BookBbo(clock=lambda: 0)
    resumed.load_key_state("kraken", "BTC-USD-SPOT", state)
    assert resumed.add(update("DELTA", [lv("98", "1")], [], seq=2)) is None  # top unchanged
    q = resumed.add(update("DELTA", [lv("100", "0")], [], seq=3))
    assert q is not None
    assert q["bid_price"] == Decimal(99)
    assert resumed.add(update("DELTA", [lv("1", "1")], [], seq=3)) is None
    assert [r.reason for r in resumed.drain_rejected()] == ["stale_sequence"]


def test_levels_far_from_the_touch_never_grow_a_book_past_its_cap() -> None:
    cap = 40
    bbo = BookBbo(BboConfig(max_levels=cap), clock=lambda: 0)
    seqs = iter(range(1, 10_000))
    bbo.add(update("SNAPSHOT", [lv("100", "1")], [lv("101", "1")], seq=0))
    for step in range(1, 3_000):  # a new level further out each time, never deleted
        tick = Decimal(step) / 1000
        far_bid, far_ask = [lv(str(100 - tick), "1")], [lv(str(101 + tick), "1")]
        bbo.add(update("DELTA", far_bid, far_ask, seq=next(seqs)))
        book = bbo.book("kraken", "BTC-USD-SPOT")
        assert book is not None
        assert len(book.bids.levels) <= cap + cap // 8
        assert len(book.asks.levels) <= cap + cap // 8
        if step % 7 == 0:  # the touch still moves as it should
            q = bbo.add(update("DELTA", [lv("100", str(step))], [], seq=next(seqs)))
            assert q is not None
            assert (q["bid_price"], q["bid_size"]) == (Decimal(100), Decimal(step))
            bbo.add(update("DELTA", [lv("100", "1")], [], seq=next(seqs)))
    book = bbo.book("kraken", "BTC-USD-SPOT")
    assert book is not None
    best = [(Decimal(p), Decimal(1)) for p in ("100", "99.999", "99.998")]
    assert book.bids.depth(3) == best
    assert book.asks.depth(1) == [(Decimal(101), Decimal(1))]
    assert bbo.drain_rejected() == []
