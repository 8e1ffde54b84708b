"""Acceptance 1 (pipeline part): a seeded simulator run through the real broker and the Faust
agents ends with exactly the expected trades, quotes, books, bars and NBBO on the topics.

Expectations come from the simulator's ground truth and plain Python (bars), never from the
agents' own code; book updates are additionally compared record for record with the pure
Normalizer run on the same frames (the shell must not add, drop or reorder anything).
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from confluent_kafka import Consumer

from tapewire.connectors.capture.simulated import publish_raw, raw_frames
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.core.kafka import client_config
from tapewire.core.records import TypedRecord
from tapewire.runtime.kafka_io import Record, delete_topics
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import Normalizer
from tapewire.streams.stages.config import StreamsConfig
from tests.fixtures.kafka import consume_n
from tests.fixtures.workers import WorkerThread

SIM = SimConfig(seed=11, n_frames=12_000, rate=100)  # 120 s of market: 1 s and 1 m bars close
LATENESS_NS = 1_000_000_000
Q18 = Decimal(1).scaleb(-18)


def _instrument(symbol: str) -> str:
    return symbol.replace("/", "-") + "-SPOT"


def _drain(bootstrap: str, topic: str, idle_s: float, timeout_s: float = 60.0) -> list[Record]:
    """Every record of ``topic`` until none arrives for ``idle_s``."""
    consumer = Consumer(
        client_config(bootstrap)
        | {
            "group.id": f"test-{uuid.uuid4().hex[:12]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    records: list[Record] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout_s
        idle_until = time.monotonic() + idle_s
        while time.monotonic() < min(idle_until, deadline):
            msg = consumer.poll(0.2)
            if msg is None or msg.error() is not None:
                continue
            p, o = msg.partition(), msg.offset()
            assert p is not None
            assert o is not None
            records.append(Record(p, o, msg.key(), msg.value()))
            idle_until = time.monotonic() + idle_s
    finally:
        consumer.close()
    return records


def _decoded(codec: Codec, topic: str, records: list[Record]) -> list[dict[str, Any]]:
    """Decoded values, in partition order (per-key order is what Kafka guarantees)."""
    ordered = sorted(records, key=lambda r: (r.partition, r.offset))
    return [codec.decode(topic, r.value or b"") for r in ordered]


def _per_key(rows: Sequence[Any], *fields: str) -> dict[tuple[Any, ...], list[Any]]:
    out: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for row in rows:
        out[tuple(row[f] for f in fields)].append(row)
    return out


def _expected_bars(trades: list[dict[str, Any]], interval_ns: int) -> list[dict[str, Any]]:
    """Closed bars from plain Python: grouped by key and interval, emitted when the key's
    largest event time minus the allowed lateness has passed the bar's end."""
    bars: list[dict[str, Any]] = []
    for (venue, inst), rows in sorted(_per_key(trades, "venue", "instrument").items()):
        watermark = max(r["exchange_ts_ns"] for r in rows)
        buckets: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            buckets[r["exchange_ts_ns"] - r["exchange_ts_ns"] % interval_ns].append(r)
        for start, group in sorted(buckets.items()):
            if start + interval_ns > watermark - LATENESS_NS:
                continue
            volume = sum((r["size"] for r in group), Decimal(0))
            quote = sum((Fraction(r["price"]) * Fraction(r["size"]) for r in group), Fraction(0))
            first = min(group, key=lambda r: r["exchange_ts_ns"])  # min/max keep arrival order
            last = max(reversed(group), key=lambda r: r["exchange_ts_ns"])
            bars.append(
                {
                    "venue": venue,
                    "instrument": inst,
                    "start_ts_ns": start,
                    "open": first["price"],
                    "high": max(r["price"] for r in group),
                    "low": min(r["price"] for r in group),
                    "close": last["price"],
                    "volume": volume,
                    "quote_volume": Decimal(quote.numerator) / Decimal(quote.denominator),
                    "vwap": Decimal(round(quote / Fraction(volume) * 10**18)).scaleb(-18),
                    "trade_count": len(group),
                    "buy_volume": sum((r["size"] for r in group if r["side"] == "BUY"), Decimal(0)),
                    "sell_volume": sum(
                        (r["size"] for r in group if r["side"] == "SELL"), Decimal(0)
                    ),
                }
            )
    return bars


def _without(record: Any, *fields: str) -> dict[str, Any]:
    plain = record.to_dict() if isinstance(record, TypedRecord) else record
    return {k: v for k, v in plain.items() if k not in fields}


@pytest.mark.timeout(300)
def test_simulated_run_through_the_agents_gives_exactly_the_expected_records(
    kafka_bootstrap: str,
) -> None:
    tag = uuid.uuid4().hex[:10]
    config = StreamsConfig(
        app_id=f"tapewire-test-{tag}", topic_prefix=f"t{tag}.", partitions=3, batch_within_s=0.02
    )
    topics = config.topics
    codec = Codec()
    declare_topics(kafka_bootstrap, config)
    sim = MarketSimulator(SIM)
    frames = list(raw_frames(sim.frames()))
    truth = sim.ground_truth
    publish_raw(kafka_bootstrap, topics.raw, frames, codec)

    worker = WorkerThread(kafka_bootstrap, config)
    started = time.monotonic()
    try:
        worker.start()
        n_trades, n_quotes = len(truth.trades()), len(truth.quotes())
        trades_rec = consume_n(kafka_bootstrap, topics.name("md.trades"), n_trades, timeout_s=120)
        quotes_rec = consume_n(kafka_bootstrap, topics.name("md.quotes"), n_quotes, timeout_s=60)
        pure = Normalizer().process_batch(frames)
        n_book = len(pure["md.book"])
        book_rec = consume_n(kafka_bootstrap, topics.name("md.book"), n_book, timeout_s=60)
        trades = _decoded(codec, "md.trades", trades_rec)
        expected_1s = _expected_bars(trades, 1_000_000_000)
        expected_1m = _expected_bars(trades, 60_000_000_000)
        bars_1s = consume_n(kafka_bootstrap, topics.bars("1s"), len(expected_1s), timeout_s=60)
        bars_1m = consume_n(kafka_bootstrap, topics.bars("1m"), len(expected_1m), timeout_s=30)
        nbbo_rec = _drain(kafka_bootstrap, topics.name("md.nbbo"), idle_s=3.0)
        dead = _drain(kafka_bootstrap, topics.name("dlq.normalize"), idle_s=0.5)
        dead += _drain(kafka_bootstrap, topics.name("dlq.aggregate"), idle_s=0.5)
        coverage = _drain(kafka_bootstrap, topics.name("md.coverage"), idle_s=0.5)
        elapsed = time.monotonic() - started
    finally:
        worker.halt()
        delete_topics(kafka_bootstrap, topics.all())
    worker.check()
    assert dead == []
    # a clean run has no gaps: only each book's wait for its first snapshot, then closed
    coverage_values = _decoded(codec, "md.coverage", coverage)
    assert {(c["event"], c["reason"]) for c in coverage_values} <= {
        ("GAP", "waiting_for_snapshot"),
        ("RESYNC", "waiting_for_snapshot"),
    }
    events = [c["event"] for c in coverage_values]
    assert events.count("GAP") == events.count("RESYNC")
    print(f"\n{len(frames)} frames through the agents in {elapsed:.1f}s")

    # trades: every ground-truth trade, once, exact, in per-key order
    expected_trades = [
        {
            "venue": t.venue,
            "instrument": _instrument(t.symbol),
            "trade_id": t.trade_id,
            "price": t.price,
            "size": t.amount,
            "side": t.side.upper(),
            "exchange_ts_ns": t.timestamp_ms * 1_000_000,
            "receive_ts_ns": frames[t.frame_index]["receive_ts_ns"],
        }
        for t in truth.trades()
    ]
    got_trades = [{k: r[k] for k in expected_trades[0]} for r in trades]
    assert _per_key(got_trades, "venue", "instrument") == _per_key(
        expected_trades, "venue", "instrument"
    )

    # quotes: every BBO frame's quote, exact, in per-key order
    expected_quotes = [
        {
            "venue": q.venue,
            "instrument": _instrument(q.symbol),
            "bid_price": q.bid,
            "bid_size": q.bid_size,
            "ask_price": q.ask,
            "ask_size": q.ask_size,
            "source": "VENUE_BBO",
            "receive_ts_ns": frames[q.frame_index]["receive_ts_ns"],
        }
        for q in truth.quotes()
    ]
    quotes = _decoded(codec, "md.quotes", quotes_rec)
    got_quotes = [{k: r[k] for k in expected_quotes[0]} for r in quotes]
    assert _per_key(got_quotes, "venue", "instrument") == _per_key(
        expected_quotes, "venue", "instrument"
    )

    # books: record for record what the pure core emits, and replaying them gives the
    # simulator's final books
    books = _decoded(codec, "md.book", book_rec)
    assert {
        k: [_without(r, "process_ts_ns") for r in v]
        for k, v in _per_key(books, "venue", "instrument").items()
    } == {
        k: [_without(r, "process_ts_ns") for r in v]
        for k, v in _per_key(pure["md.book"], "venue", "instrument").items()
    }
    for (venue, symbol), book in truth.books().items():
        assert book.synced
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        last_seq = None
        for upd in _per_key(books, "venue", "instrument")[(venue, _instrument(symbol))]:
            if upd["kind"] == "SNAPSHOT":
                bids, asks = {}, {}
            for side, levels in ((bids, upd["bids"]), (asks, upd["asks"])):
                for level in levels:
                    side[level["price"]] = level["size"]
                    if level["size"] == 0:
                        del side[level["price"]]
            last_seq = upd["last_sequence"]
        assert sorted(bids.items(), reverse=True) == list(book.bids), (venue, symbol)
        assert sorted(asks.items()) == list(book.asks), (venue, symbol)
        assert last_seq == book.nonce

    # bars: exactly the closed bars plain Python computes from the trades
    for records, expected in ((bars_1s, expected_1s), (bars_1m, expected_1m)):
        got = _decoded(codec, "md.bars.1s" if records is bars_1s else "md.bars.1m", records)
        keys = list(expected[0])
        assert (
            sorted(
                ({k: b[k] for k in keys} for b in got),
                key=lambda b: (b["venue"], b["instrument"], b["start_ts_ns"]),
            )
            == expected
        )
    assert len(expected_1m) == 6
    assert len(expected_1s) > 600

    # NBBO: per consolidated id, the last record is the best of each venue's last quote
    nbbo = _per_key(_decoded(codec, "md.nbbo", nbbo_rec), "instrument")
    last_quotes = {(q["venue"], q["instrument"]): q for q in expected_quotes}
    assert set(nbbo) == {(i,) for _, i in last_quotes}
    for (inst,), rows in nbbo.items():
        final = rows[-1]
        venue_quotes = [q for (_, i), q in last_quotes.items() if i == inst]
        best_bid = max(q["bid_price"] for q in venue_quotes)
        best_ask = min(q["ask_price"] for q in venue_quotes)
        assert final["bid_price"] == best_bid
        assert final["ask_price"] == best_ask
        assert (final["bid_venue"], final["bid_size"]) in {
            (q["venue"], q["bid_size"]) for q in venue_quotes if q["bid_price"] == best_bid
        }
        assert (final["ask_venue"], final["ask_size"]) in {
            (q["venue"], q["ask_size"]) for q in venue_quotes if q["ask_price"] == best_ask
        }
        assert final["venue_count"] == 2
