"""The live connector against the loopback fake Binance: exact frames on the real broker,
reconnects with backoff, the staleness watchdog, 429/418 back-off and record/replay."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from tapewire.connectors.capture import CaptureWriter, replay_capture
from tapewire.connectors.live import (
    KafkaRawSink,
    ListSink,
    LiveConfig,
    LiveConnector,
    VenueRateLimiter,
    build_exchange,
)
from tapewire.connectors.live.sink import RawRecord
from tapewire.connectors.live.tap import FrameTap, instrument_exchange
from tapewire.core import metrics
from tapewire.schemas.codec import Codec
from tapewire.testing.fake_exchange import FakeBinance, RestFault
from tests.fixtures.kafka import TopicFactory, consume_n

pytestmark = pytest.mark.timeout(180)

SYMBOL = "BTC/USDT"


def config_for(fake: FakeBinance, **overrides: Any) -> LiveConfig:
    values: dict[str, Any] = {
        "exchange": "binance",
        "symbols": (SYMBOL,),
        "channels": ("trades",),
        "ws_url": fake.ws_url,
        "rest_base_url": fake.rest_url,
        "stale_after_s": 5.0,
        "backoff_base_s": 0.1,
        "backoff_cap_s": 0.8,
    }
    return LiveConfig(**(values | overrides))


async def run_until(
    connector: LiveConnector,
    done: Callable[[], bool],
    *,
    timeout_s: float = 30.0,
) -> None:
    """Run ``connector`` until ``done()`` (polled), then stop it; fail after ``timeout_s``."""
    stop = asyncio.Event()
    task = asyncio.create_task(connector.run(stop))
    deadline = time.monotonic() + timeout_s
    try:
        while not done():
            if task.done():
                task.result()
                raise AssertionError("connector stopped by itself")
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not reached in {timeout_s}s: {connector.sessions}")
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def by_connection(records: list[RawRecord]) -> dict[str, list[RawRecord]]:
    groups: dict[str, list[RawRecord]] = defaultdict(list)
    for record in records:
        groups[record["connection_id"]].append(record)
    return groups


def test_frames_reach_md_raw_byte_exact(kafka_bootstrap: str, kafka_topic: TopicFactory) -> None:
    topic = kafka_topic("md.raw")
    markets = kafka_topic("md.markets")
    codec = Codec()
    fake = FakeBinance()
    mirror = ListSink()

    async def scenario() -> None:
        async with fake:
            with KafkaRawSink(
                kafka_bootstrap, topic=topic, codec=codec, markets_topic=markets
            ) as kafka:

                def sink(record: RawRecord) -> None:
                    mirror(record)
                    kafka(record)

                connector = LiveConnector(
                    config_for(fake, channels=("trades", "book", "bbo")),
                    sink,
                    limiter=VenueRateLimiter("binance"),
                )
                await run_until(
                    connector,
                    lambda: (
                        len(fake.connections) == 3
                        and all(len(c.sent) >= 60 for c in fake.connections)
                        # ccxt's own throttle delays the depth snapshot (weight 50) a bit
                        and any("depth" in (r["rest_url"] or "") for r in mirror.records)
                    ),
                )
            assert [s.reason for s in connector.sessions] == ["stopped"]

    run(scenario)
    records = consume_n(kafka_bootstrap, topic, len(mirror.records))
    decoded = [codec.decode("md.raw", r.value or b"") for r in records]
    assert decoded == mirror.records
    # keyed by connection (one ordered stream per connection, REST snapshot included)
    assert [r.key for r in records] == [f"binance:{d['connection_id']}".encode() for d in decoded]
    for frames in by_connection(decoded).values():
        assert [f["sequence"] for f in frames] == list(range(len(frames)))

    ws = [r for r in decoded if r["transport"] == "WEBSOCKET"]
    groups = by_connection(ws)
    assert len(groups) == 3
    # the book snapshot ccxt fetched while handling the book connection's subscription
    # answer travels on that connection, so its worker gets snapshot and deltas
    (snapshot,) = [r for r in decoded if "depth" in (r["rest_url"] or "")]
    assert snapshot["connection_id"] in groups
    server_sent = [c.sent for c in fake.connections]
    for frames in groups.values():
        stamps = [f["receive_ts_ns"] for f in frames]
        assert stamps == sorted(stamps)
        payloads = [f["payload"] for f in frames]
        # exactly what one server connection sent, in order (a prefix: we stopped mid-stream)
        matches = [sent for sent in server_sent if sent[: len(payloads)] == payloads]
        assert len(matches) == 1
        assert len(payloads) >= 60
    # the REST bodies ccxt needed (markets, the book snapshot), byte for byte
    rest = [r for r in decoded if r["transport"] == "REST"]
    served = {q.path_qs: q.body for q in fake.rest_requests}
    assert {r["rest_url"].split("127.0.0.1:")[1].split("/", 1)[1] for r in rest} == {
        p.lstrip("/") for p in served
    }
    for record in rest:
        path = "/" + record["rest_url"].split("/", 3)[3]
        assert record["payload"] == served[path]
        assert record["rest_status"] == 200
        assert record["request_ts_ns"] <= record["receive_ts_ns"]
    assert any("depth" in r["rest_url"] for r in rest)
    # the venue-wide REST frames (markets) also went to md.markets, bytes unchanged; the
    # book snapshot (about one symbol, on its websocket connection) did not
    metadata = [r for r in rest if r["symbol"] is None]
    assert metadata
    assert all("depth" not in r["rest_url"] for r in metadata)
    stored = consume_n(kafka_bootstrap, markets, len(metadata))
    assert [r.value for r in stored] == [codec.encode("md.raw", r) for r in metadata]
    assert [r.key for r in stored] == [f"binance:{r['rest_url']}".encode() for r in metadata]


def test_reconnects_after_drops_with_growing_backoff() -> None:
    fake = FakeBinance()
    fake.faults.drop_after = 15
    connector = LiveConnector(
        config_for(fake), ListSink(), limiter=VenueRateLimiter("binance"), rng=random.Random(5)
    )
    before = metrics.REGISTRY.get_sample_value(
        "tapewire_connector_reconnects_total", {"venue": "binance", "reason": "error"}
    )

    async def scenario() -> None:
        async with fake:
            await run_until(connector, lambda: len(fake.connections) >= 5)

    run(scenario)
    ended = [s for s in connector.sessions if s.reason == "error"]
    assert len(ended) >= 4
    for attempt, session in enumerate(ended[:4]):
        assert session.frames >= 15
        assert session.backoff_s >= connector.backoff.min_delay(attempt)
    # the minimum delays double (0.05, 0.1, 0.2, 0.4 s): the drops are spaced accordingly
    conns = fake.connections
    for k in range(4):
        closed = conns[k].closed_mono
        assert closed is not None
        assert conns[k + 1].opened_mono - closed >= connector.backoff.min_delay(k)
    after = metrics.REGISTRY.get_sample_value(
        "tapewire_connector_reconnects_total", {"venue": "binance", "reason": "error"}
    )
    assert (after or 0) - (before or 0) >= 4


def test_sessions_kept_bounds_the_session_history_over_many_reconnects() -> None:
    fake = FakeBinance()
    fake.faults.drop_after = 3
    connector = LiveConnector(
        config_for(fake, backoff_base_s=0.01, backoff_cap_s=0.02),
        ListSink(),
        limiter=VenueRateLimiter("binance"),
        rng=random.Random(5),
        sessions_kept=3,
    )

    async def scenario() -> None:
        async with fake:
            await run_until(connector, lambda: len(fake.connections) >= 8)

    run(scenario)
    assert connector.session_count >= 8
    assert len(connector.sessions) == 3  # the newest three, each a whole session
    assert [s.reason for s in connector.sessions[:-1]] == ["error", "error"]


def test_staleness_watchdog_reconnects_a_silent_connection() -> None:
    fake = FakeBinance()
    fake.faults.silent_after = 10
    fake.faults.only_connections = {0}
    connector = LiveConnector(
        config_for(fake, stale_after_s=0.6), ListSink(), limiter=VenueRateLimiter("binance")
    )

    async def scenario() -> None:
        async with fake:
            await run_until(
                connector, lambda: len(fake.connections) >= 2 and len(fake.connections[1].sent) > 30
            )

    run(scenario)
    first = connector.sessions[0]
    assert first.reason == "stale"
    assert first.ended_mono - fake.connections[0].opened_mono >= 0.6
    assert len(fake.connections[0].sent) == 11  # subscription reply + 10 frames, then silence
    stale = metrics.REGISTRY.get_sample_value(
        "tapewire_connector_reconnects_total", {"venue": "binance", "reason": "stale"}
    )
    assert stale is not None
    assert stale >= 1
    age = metrics.REGISTRY.get_sample_value(
        "tapewire_connector_last_frame_age_seconds", {"venue": "binance"}
    )
    assert age is not None


def test_429_retry_after_holds_back_the_reconnect_rest_calls() -> None:
    fake = FakeBinance()
    fake.faults.rest.append(RestFault(429, retry_after="1"))
    limiter = VenueRateLimiter("binance")
    connector = LiveConnector(config_for(fake), ListSink(), limiter=limiter)

    async def scenario() -> None:
        async with fake:
            await run_until(connector, lambda: bool(fake.connections and fake.connections[0].sent))

    run(scenario)
    first, second = fake.rest_requests[:2]
    assert (first.status, second.status) == (429, 200)
    assert connector.sessions[0].reason == "error"
    assert "429" in (connector.sessions[0].error or "")
    assert connector.sessions[0].backoff_s < 1.0  # the limiter, not the backoff, waited
    assert second.mono - first.mono >= 1.0
    assert limiter.penalties == [(429, 1.0)]


@pytest.mark.parametrize(
    ("fault", "expected_wait_s"),
    [(RestFault(429, retry_after="1"), 1.0), (RestFault(418), 1.5)],
    ids=["429-retry-after", "418-default-ban"],
)
def test_rate_limit_blocks_every_rest_endpoint_of_the_venue(
    fault: RestFault, expected_wait_s: float
) -> None:
    """A 429/418 on exchangeInfo, seen by one exchange object, delays the depth request
    of another exchange object of the same venue."""
    fake = FakeBinance()
    limiter = VenueRateLimiter("binance", default_418_s=1.5)

    async def scenario() -> None:
        async with fake:
            config = config_for(fake)
            first, second = build_exchange(config), build_exchange(config)
            try:
                instrument_exchange(first, FrameTap("binance", ListSink()), limiter)
                instrument_exchange(second, FrameTap("binance", ListSink()), limiter)
                await second.load_markets()
                fake.faults.rest.append(fault)
                with pytest.raises(Exception, match="binance") as info:
                    await first.load_markets()
                assert type(info.value).__name__ in ("RateLimitExceeded", "DDoSProtection")
                book = await second.fetch_order_book(SYMBOL)
                assert book["bids"]
            finally:
                await first.close()
                await second.close()

    run(scenario)
    assert [r.status for r in fake.rest_requests] == [200, fault.status, 200]
    penalty, depth = fake.rest_requests[1:]
    assert depth.path_qs.startswith("/api/v3/depth")
    assert depth.mono - penalty.mono >= expected_wait_s
    assert limiter.penalties == [(fault.status, expected_wait_s)]


def test_slow_rest_answers_are_waited_for() -> None:
    fake = FakeBinance()
    fake.faults.rest_delay_s = 0.5
    sink = ListSink()
    connector = LiveConnector(config_for(fake), sink, limiter=VenueRateLimiter("binance"))

    async def scenario() -> None:
        async with fake:
            await run_until(connector, lambda: bool(fake.connections and fake.connections[0].sent))

    run(scenario)
    rest = [r for r in sink.records if r["transport"] == "REST"]
    assert len(rest) == 1
    assert rest[0]["receive_ts_ns"] - rest[0]["request_ts_ns"] >= 0.5e9
    assert [s.reason for s in connector.sessions] == ["stopped"]


def test_record_then_replay_gives_identical_raw_frames(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: TopicFactory
) -> None:
    fake = FakeBinance()
    path = tmp_path / "binance.jsonl.gz"
    live = ListSink()

    async def scenario() -> None:
        async with fake:
            with CaptureWriter(path, source="live:binance") as writer:

                def sink(record: RawRecord) -> None:
                    live(record)
                    writer(record)

                connector = LiveConnector(
                    config_for(fake, channels=("trades", "book")),
                    sink,
                    limiter=VenueRateLimiter("binance"),
                )
                await run_until(connector, lambda: len(live.records) >= 200)

    run(scenario)
    topic = kafka_topic("md.raw")
    codec = Codec()
    with KafkaRawSink(kafka_bootstrap, topic=topic, codec=codec) as kafka:
        stats = replay_capture(path, kafka, speed=None)
    assert stats.frames == len(live.records)
    records = consume_n(kafka_bootstrap, topic, stats.frames)
    assert [r.value for r in records] == [codec.encode("md.raw", r) for r in live.records]
    assert [r.key for r in records] == [
        f"binance:{r['connection_id']}".encode() for r in live.records
    ]
