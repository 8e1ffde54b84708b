"""Acceptance 1, end to end into ClickHouse: a seeded simulator run goes through the real
broker, the Faust agents and the ClickHouse sink, and the database then holds exactly the
expected rows.

Expectations are independent of the code under test: trades, quotes and final books come
from the simulator's ground truth, raw frames from what the test published, book update
records from the pure Normalizer run on the same frames, and bars from SQL over the stored
trades (``GROUP BY`` bucket, ``argMin``/``argMax`` for open/close, VWAP rounded half-even
to 18 places). Every read uses ``FINAL`` (the exact read of the ReplacingMergeTree tables).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from confluent_kafka import Consumer, TopicPartition

from tapewire.connectors.capture.simulated import publish_raw, raw_frames
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.core.kafka import client_config
from tapewire.core.records import Record
from tapewire.core.settings import load_settings
from tapewire.runtime.kafka_io import delete_topics
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.rows import mapping_for_topic
from tapewire.sinks.clickhouse.sink import SinkConfig, run_sink
from tapewire.streams.normalize import Normalizer
from tapewire.streams.stages.config import StreamsConfig
from tests.fixtures.workers import WorkerThread

MINUTE_NS = 60_000_000_000
# 125 s of market (two 1m bars close per key), starting at a minute an hour ago: raw_frames
# has a 30-day TTL on receive_ts, which deletes frames timed in 2024 right after the insert
# (see test_old_raw_frames_are_kept), so the run must be recent for raw frames to stay.
SIM = SimConfig(
    seed=23,
    n_frames=5_000,
    rate=40,
    start_ns=time.time_ns() // MINUTE_NS * MINUTE_NS - 60 * MINUTE_NS,
)
LATENESS_NS = 1_000_000_000  # BarConfig's default allowed lateness
SINK_TOPICS = (
    "md.raw",
    "md.trades",
    "md.book",
    "md.quotes",
    "md.bars.1s",
    "md.bars.1m",
    "md.nbbo",
    "md.coverage",
    "dlq.normalize",
    "dlq.aggregate",
)

Rows = list[tuple[Any, ...]]


def _instrument(symbol: str) -> str:
    return symbol.replace("/", "-") + "-SPOT"


def _rows(client: Client, sql: str, parameters: Mapping[str, Any] | None = None) -> Rows:
    params = dict(parameters) if parameters is not None else None
    return [tuple(row) for row in client.query(sql, parameters=params).result_rows]


def _by_key(rows: Iterable[tuple[Any, ...]]) -> dict[tuple[Any, Any], list[tuple[Any, ...]]]:
    """Rows ``(venue, instrument, *values)`` grouped per key, values in input order."""
    out: dict[tuple[Any, Any], list[tuple[Any, ...]]] = defaultdict(list)
    for venue, instrument, *values in rows:
        out[(venue, instrument)].append(tuple(values))
    return dict(out)


def _levels(value: Iterable[Any]) -> list[tuple[Decimal, Decimal]]:
    """Book levels as ``(price, size)``, whether the driver gives named tuples as dicts."""
    return [
        (level["price"], level["size"]) if isinstance(level, Mapping) else (level[0], level[1])
        for level in value
    ]


def _record_count(bootstrap: str, topic: str) -> int:
    """Records on ``topic`` (sum of high watermarks; the topics are never compacted)."""
    consumer = Consumer(client_config(bootstrap) | {"group.id": f"wm-{uuid.uuid4().hex[:8]}"})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in meta.partitions
        )
    finally:
        consumer.close()


def _wait_for(bootstrap: str, expected: Mapping[str, int], timeout_s: float) -> None:
    """Until every topic holds at least its expected number of records (bounded)."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = {t: _record_count(bootstrap, t) for t in expected}
        if all(counts[t] >= n for t, n in expected.items()):
            return
        assert time.monotonic() < deadline, f"agents too slow: {counts} of {dict(expected)}"
        time.sleep(0.5)


def _wait_stable(bootstrap: str, topics: list[str], quiet_s: float, timeout_s: float) -> None:
    """Until no topic of ``topics`` grew for ``quiet_s`` (bounded)."""
    deadline = time.monotonic() + timeout_s
    last = {t: _record_count(bootstrap, t) for t in topics}
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < quiet_s:
        assert time.monotonic() < deadline, f"topics still growing: {last}"
        time.sleep(0.5)
        now = {t: _record_count(bootstrap, t) for t in topics}
        if now != last:
            last, quiet_since = now, time.monotonic()


def _bars_sql(interval_ns: int) -> str:
    """Closed bars of one interval computed from the stored trades, independently of the
    aggregator: bucket = exchange time floored to the interval; a bucket is closed when the
    key's largest trade time minus the allowed lateness has reached its end (the event-time
    rule of docs/aggregation.md). Open/close are the first/last trade by (time, Kafka
    offset): one key lives on one partition, so the offset is arrival order.

    VWAP: sum(p*q) in Decimal256 at scale 36 (exact: p and q have scale 18), divided at
    scale 36 (truncating), then rounded half-even to 18. Truncating at 36 digits cannot
    fake a tie: the remainder past digit 18 is r/D for the integer volume D at scale 18,
    which is either exactly one half or at least 1/(2D) away from it.
    """
    return f"""
    WITH {interval_ns} AS iv, {LATENESS_NS} AS lateness
    SELECT venue, instrument,
           intDiv(toUnixTimestamp64Nano(exchange_ts), iv) * iv AS start_ns,
           start_ns + iv AS end_ns,
           argMin(price, (exchange_ts, kafka_offset)) AS open,
           max(price) AS high,
           min(price) AS low,
           argMax(price, (exchange_ts, kafka_offset)) AS close,
           sum(size) AS volume,
           toDecimal128(sum(toDecimal256(price, 18) * toDecimal256(size, 18)), 18)
               AS quote_volume,
           toDecimal128(roundBankers(
               sum(toDecimal256(price, 18) * toDecimal256(size, 18))
                   / toDecimal256(sum(size), 18), 18), 18) AS vwap,
           toInt64(count()) AS trade_count,
           sumIf(size, side = 'buy') AS buy_volume,
           sumIf(size, side = 'sell') AS sell_volume
    FROM (
        SELECT *, max(toUnixTimestamp64Nano(exchange_ts))
                  OVER (PARTITION BY venue, instrument) AS watermark
        FROM trades FINAL
    )
    GROUP BY venue, instrument, start_ns
    HAVING end_ns <= any(watermark) - lateness
    ORDER BY venue, instrument, start_ns
    """


@pytest.mark.timeout(420)
def test_simulated_run_ends_with_exactly_the_expected_rows_in_clickhouse(
    kafka_bootstrap: str, clickhouse_url: str, clickhouse: Client
) -> None:
    tag = uuid.uuid4().hex[:10]
    config = StreamsConfig(
        app_id=f"tapewire-chtest-{tag}",
        topic_prefix=f"c{tag}.",
        partitions=3,
        batch_within_s=0.02,
    )
    topics = config.topics
    codec = Codec()
    declare_topics(kafka_bootstrap, config)
    sim = MarketSimulator(SIM)
    frames = list(raw_frames(sim.frames()))
    truth = sim.ground_truth
    pure = Normalizer().process_batch(frames)
    sink_dlq = topics.name("dlq.sink")
    started = time.monotonic()
    publish_raw(kafka_bootstrap, topics.raw, frames, codec)

    worker = WorkerThread(kafka_bootstrap, config)
    try:
        worker.start()
        _wait_for(
            kafka_bootstrap,
            {
                topics.name("md.trades"): len(truth.trades()),
                topics.name("md.quotes"): len(truth.quotes()),
                topics.name("md.book"): len(pure["md.book"]),
            },
            timeout_s=180,
        )
        # bars and NBBO follow the trades and quotes; then the agents' output is final
        _wait_stable(
            kafka_bootstrap,
            [topics.bars("1s"), topics.bars("1m"), topics.name("md.nbbo")],
            quiet_s=3.0,
            timeout_s=60,
        )
        agents_done = time.monotonic()
        worker.stop()

        # the sink over every output topic, into this test's database, until caught up
        sink_stats: list[Any] = []
        sink_failures: list[BaseException] = []
        sink_stop = threading.Event()

        def sink() -> None:
            try:
                sink_stats.append(
                    run_sink(
                        load_settings(),
                        {topics.name(t): t for t in SINK_TOPICS},
                        sink_stop,
                        config=SinkConfig(
                            group_id=f"sink-{tag}",
                            dlq_topic=sink_dlq,
                            stop_when_caught_up=True,
                            flush_interval_s=0.2,
                        ),
                        bootstrap=kafka_bootstrap,
                        clickhouse_url=clickhouse_url,
                        database=clickhouse.database,
                    )
                )
            except BaseException as exc:  # surfaced by the assertion below
                sink_failures.append(exc)

        sink_thread = threading.Thread(target=sink, name="sink", daemon=True)
        sink_thread.start()
        sink_thread.join(120)
        if sink_thread.is_alive():
            sink_stop.set()
            sink_thread.join(30)
            pytest.fail("the sink did not catch up within 120 s")
        assert not sink_failures, sink_failures
        nbbo_published = _record_count(kafka_bootstrap, topics.name("md.nbbo"))
        bars_published = {i: _record_count(kafka_bootstrap, topics.bars(i)) for i in ("1s", "1m")}
    finally:
        worker.halt()
        delete_topics(kafka_bootstrap, [*topics.all(), sink_dlq])
    done = time.monotonic()
    (stats,) = sink_stats
    print(
        f"\n{len(frames)} frames: agents {agents_done - started:.1f}s, "
        f"sink {done - agents_done:.1f}s ({stats.records} records, rows {stats.rows})"
    )
    assert stats.dead_letters == 0
    _assert_raw_frames(clickhouse, frames)
    _assert_trades(clickhouse, truth, frames)
    _assert_quotes(clickhouse, truth, frames)
    _assert_books(clickhouse, truth, pure["md.book"])
    _assert_bars(clickhouse, bars_published)
    _assert_nbbo(clickhouse, truth, nbbo_published)
    # a clean run has no rejects and no gaps: only each book's wait for its first
    # snapshot, opened (GAP row) and closed by it (RESYNC row)
    assert _rows(clickhouse, "SELECT count() FROM dead_letters FINAL") == [(0,)]
    waits = {(c["venue"], c["instrument"]) for c in pure["md.coverage"] if c["event"] == "RESYNC"}
    assert {c["reason"] for c in pure["md.coverage"]} <= {"waiting_for_snapshot"}
    assert _rows(
        clickhouse,
        "SELECT countIf(event = 'RESYNC' AND reason = 'waiting_for_snapshot'), count() "
        "FROM coverage FINAL",
    ) == [(len(waits), 2 * len(waits))]


def _assert_raw_frames(client: Client, frames: list[dict[str, Any]]) -> None:
    """Every frame published is one row, with the payload byte for byte."""
    got = _rows(
        client,
        "SELECT venue, connection_id, sequence, transport, origin, channel, symbol, "
        "hex(payload), binary, toUnixTimestamp64Nano(receive_ts), "
        "toUnixTimestamp64Nano(request_ts), rest_url, rest_status "
        "FROM raw_frames FINAL ORDER BY venue, connection_id, sequence",
    )
    want = sorted(
        (
            f["venue"],
            f["connection_id"],
            f["sequence"],
            f["transport"],
            f["origin"],
            f["channel"],
            f["symbol"],
            bytes(f["payload"]).hex().upper(),
            f["binary"],
            f["receive_ts_ns"],
            f["request_ts_ns"],
            f["rest_url"],
            f["rest_status"],
        )
        for f in frames
    )
    assert len(got) == len(frames)
    assert got == want


def _assert_trades(client: Client, truth: Any, frames: list[dict[str, Any]]) -> None:
    """Every ground-truth trade once, every value exact, in per-key arrival order."""
    got = _rows(
        client,
        "SELECT venue, instrument, trade_id, price, size, toString(side), "
        "toUnixTimestamp64Nano(exchange_ts), toUnixTimestamp64Nano(receive_ts) "
        "FROM trades FINAL ORDER BY venue, instrument, kafka_partition, kafka_offset",
    )
    want = [
        (
            t.venue,
            _instrument(t.symbol),
            t.trade_id,
            t.price,
            t.amount,
            t.side,
            t.timestamp_ms * 1_000_000,
            frames[t.frame_index]["receive_ts_ns"],
        )
        for t in truth.trades()
    ]
    assert len(got) == len(want)
    assert _by_key(got) == _by_key(want)


def _assert_quotes(client: Client, truth: Any, frames: list[dict[str, Any]]) -> None:
    """Every BBO frame's quote once, exact, in per-key arrival order."""
    got = _rows(
        client,
        "SELECT venue, instrument, bid_price, bid_size, ask_price, ask_size, source, "
        "toUnixTimestamp64Nano(receive_ts) "
        "FROM quotes FINAL ORDER BY venue, instrument, kafka_partition, kafka_offset",
    )
    want = [
        (
            q.venue,
            _instrument(q.symbol),
            q.bid,
            q.bid_size,
            q.ask,
            q.ask_size,
            "VENUE_BBO",
            frames[q.frame_index]["receive_ts_ns"],
        )
        for q in truth.quotes()
    ]
    assert len(got) == len(want)
    assert _by_key(got) == _by_key(want)


def _assert_books(client: Client, truth: Any, pure_books: Sequence[Record]) -> None:
    """Book updates = the pure Normalizer's records; replaying the stored snapshots and
    deltas per key gives the simulator's final book."""
    got = _rows(
        client,
        "SELECT venue, instrument, toString(kind), bids, asks, first_sequence, last_sequence, "
        "prev_sequence, checksum, toUnixTimestamp64Nano(receive_ts) "
        "FROM book_updates FINAL ORDER BY venue, instrument, kafka_partition, kafka_offset",
    )
    assert len(got) == len(pure_books)
    stored = _by_key(
        (v, i, kind, _levels(bids), _levels(asks), *rest) for v, i, kind, bids, asks, *rest in got
    )
    want = _by_key(
        (
            b["venue"],
            b["instrument"],
            b["kind"],
            _levels(b["bids"]),
            _levels(b["asks"]),
            b["first_sequence"],
            b["last_sequence"],
            b["prev_sequence"],
            b["checksum"],
            b["receive_ts_ns"],
        )
        for b in pure_books
    )
    assert stored == want
    books = truth.books()
    assert books
    for (venue, symbol), book in books.items():
        assert book.synced
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        last_seq = None
        for kind, bid_levels, ask_levels, _first, last, *_ in stored[(venue, _instrument(symbol))]:
            if kind == "SNAPSHOT":
                bids, asks = {}, {}
            for side, levels in ((bids, bid_levels), (asks, ask_levels)):
                for price, size in levels:
                    side[price] = size
                    if size == 0:
                        del side[price]
            last_seq = last
        assert sorted(bids.items(), reverse=True) == list(book.bids), (venue, symbol)
        assert sorted(asks.items()) == list(book.asks), (venue, symbol)
        assert last_seq == book.nonce


def _assert_bars(client: Client, published: Mapping[str, int]) -> None:
    """Stored bars (1s, 1m) = SQL over the stored trades, every column exact."""
    for interval, interval_ns, at_least in (("1s", 1_000_000_000, 600), ("1m", 60_000_000_000, 6)):
        got = _rows(
            client,
            "SELECT venue, instrument, toUnixTimestamp64Nano(start_ts), "
            "toUnixTimestamp64Nano(end_ts), open, high, low, close, volume, quote_volume, "
            "vwap, trade_count, buy_volume, sell_volume "
            "FROM bars FINAL WHERE interval = {interval:String} AND interval_ns = {ns:Int64} "
            "ORDER BY venue, instrument, start_ts",
            {"interval": interval, "ns": interval_ns},
        )
        want = _rows(client, _bars_sql(interval_ns))
        assert len(want) >= at_least, (interval, len(want))
        assert len(got) == len(want), interval
        assert got == want, interval
        assert published[interval] == len(got)  # one record per bar: no revisions here


def _assert_nbbo(client: Client, truth: Any, published: int) -> None:
    """Every NBBO record stored; the last one per instrument is the best of each venue's
    last quote."""
    assert _rows(client, "SELECT count() FROM nbbo FINAL") == [(published,)]
    last = {
        (q.venue, _instrument(q.symbol)): q for q in truth.quotes()
    }  # stream order: the last one wins
    got = _rows(
        client,
        "SELECT instrument, argMax((bid_price, ask_price, venue_count), "
        "(kafka_partition, kafka_offset)) FROM nbbo FINAL GROUP BY instrument "
        "ORDER BY instrument",
    )
    want = []
    for instrument in sorted({i for _, i in last}):
        quotes = [q for (_, i), q in last.items() if i == instrument]
        want.append(
            (instrument, (max(q.bid for q in quotes), min(q.ask for q in quotes), len(quotes)))
        )
    assert got == want


def test_old_raw_frames_are_kept(clickhouse: Client) -> None:
    """Raw frames are kept for re-normalization: a 2024 frame (the simulator's default
    start, or an old capture) inserted now must be readable now (retention counts from
    storage, migration 0004)."""
    mapping = mapping_for_topic("md.raw")
    old = next(raw_frames(MarketSimulator(SimConfig(seed=1, n_frames=1)).frames()))
    recent = {**old, "sequence": 1, "receive_ts_ns": time.time_ns()}
    rows = [mapping.row(r, "md.raw", 0, i) for i, r in enumerate((old, recent))]
    clickhouse.insert("raw_frames", rows, column_names=list(mapping.columns))
    clickhouse.command("OPTIMIZE TABLE raw_frames FINAL")  # what any background merge does
    got = _rows(clickhouse, "SELECT sequence FROM raw_frames FINAL ORDER BY sequence")
    assert got == [(0,), (1,)]
