"""The consolidated depth through the real broker and the Faust agents (the aggregate
role's ``depth-rekey`` and ``depth``): two venues' books on ``md.book`` (3 partitions,
keyed ``venue:instrument``) become one ``md.depth`` stream keyed by the consolidated id,
top N levels per venue, fee-adjusted."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

from tapewire.runtime.kafka_io import delete_topics, produce_all
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.streams.aggregate import DepthConfig, NbboConfig
from tapewire.streams.stages.config import StreamsConfig
from tests.factories.market import book
from tests.fixtures.kafka import consume_n
from tests.fixtures.workers import WorkerThread

CODEC = Codec()
D = Decimal


def test_books_of_two_venues_become_one_fee_adjusted_depth_stream(kafka_bootstrap: str) -> None:
    tag = uuid.uuid4().hex[:10]
    config = StreamsConfig(
        app_id=f"tapewire-depth-{tag}",
        topic_prefix=f"d{tag}.",
        partitions=3,
        batch_within_s=0.02,
        nbbo=NbboConfig.usd_equivalent(),
        depth=DepthConfig(
            levels=2, taker_fee_bps={"binance": D(10), "kraken": D(25)}, interval_ns=0
        ),
    )
    declare_topics(kafka_bootstrap, config)
    worker = WorkerThread(kafka_bootstrap, config, agents=("depth",), name="depth-worker")
    try:
        t0 = time.time_ns()
        books = [
            book("binance", [("100", "1"), ("99", "2"), ("98", "3")], [("101", "1")], ts=t0),
            book(
                "kraken",
                [("100.1", "0.5")],
                [("100.9", "2"), ("101.5", "1")],
                instrument="BTC-USD-SPOT",
                ts=t0 + 1,
            ),
        ]
        produce_all(
            kafka_bootstrap,
            config.topics.name("md.book"),
            [(CODEC.key("md.book", b), CODEC.encode("md.book", b)) for b in books],
        )
        worker.start()
        got = consume_n(kafka_bootstrap, config.topics.name("md.depth"), 1, timeout_s=90)
        key, depth = got[0].key, CODEC.decode("md.depth", got[0].value or b"")
        if depth["venue_count"] < 2:  # the two venues were in different batches
            more = consume_n(kafka_bootstrap, config.topics.name("md.depth"), 2, timeout_s=90)
            key, depth = more[-1].key, CODEC.decode("md.depth", more[-1].value or b"")
    finally:
        worker.halt()
        delete_topics(kafka_bootstrap, config.topics.all())
    worker.check()
    assert key == b"BTC-USD_EQ-SPOT"
    assert (depth["instrument"], depth["levels"], depth["venue_count"]) == ("BTC-USD_EQ-SPOT", 2, 2)
    # binance 100 nets 99.9 (10 bp), kraken 100.1 nets 99.84975 (25 bp): binance first
    assert [(x["venue"], x["price"], x["effective_price"]) for x in depth["bids"]] == [
        ("binance", D(100), D("99.9")),
        ("kraken", D("100.1"), D("99.84975")),
        ("binance", D(99), D("98.901")),
    ]
    # kraken 100.9 costs 101.15225, binance 101 costs 101.101: binance first
    assert [(x["venue"], x["instrument"], x["effective_price"]) for x in depth["asks"]] == [
        ("binance", "BTC-USDT-SPOT", D("101.101")),
        ("kraken", "BTC-USD-SPOT", D("101.15225")),
        ("kraken", "BTC-USD-SPOT", D("101.75375")),
    ]
