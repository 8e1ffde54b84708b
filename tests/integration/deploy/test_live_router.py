"""A live venue through the deployment: ``tapewire run all`` over a file with one paper
venue (okx) and one ccxt venue (binance, its key from the key store) starts a ``trade``
and a ``router`` process. On the real broker, with the loopback fake Binance
(``FakeBinancePrivate``) as the exchange:

* the strategy's order for binance passes the risk gate, the trade role's router leaves
  it alone, the router process sends it (exactly one create at the fake) and the fake's
  fill comes back on ``oms.fills``; the trade process reads that fill back from Kafka
  (its positions stage publishes the binance position);
* the order for okx is executed by the trade role's paper venue, never by the router;
* the order for kraken (no router has it) is rejected with a ``ROUTER_NO_VENUE`` alert.

Every wait is bounded; the supervisor is stopped (SIGTERM) in ``finally``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from tapewire.connectors.orders.keys import KeyStore
from tapewire.core.kafka import client_config
from tapewire.core.records import Record
from tapewire.deploy.ccxt_router import READY_LINE
from tapewire.deploy.config import load_config
from tapewire.deploy.roles import restored_trade_worker, trade_streams
from tapewire.runtime.kafka_io import delete_topics, produce_all, read_to_end
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.streams.stages.config import StreamsConfig
from tests.factories.market import nbbo, quote
from tests.factories.trading import fill
from tests.integration.deploy.test_run_all import STRATEGY
from tests.integration.deploy.trade_desk import wide_limits
from tests.integration.streams.test_router_restart import KEY, ORDER, SECRET, FakeExchange

CODEC = Codec()
PASSPHRASE_VAR = "TAPEWIRE_TEST_DESK_PASSPHRASE"
PASSPHRASE = "live-router-test-passphrase"


def _config(bootstrap: str, prefix: str, rest_url: str) -> str:
    return f"""
[kafka]
bootstrap = "{bootstrap}"
topic_prefix = "{prefix}"
partitions = 1

[trading]
paper_venues = ["okx"]
strategy_path = ["strategies"]

[trading.ccxt.binance]
accounts = ["main"]
keystore = "keys.json"
passphrase_env = "{PASSPHRASE_VAR}"
rest_url = "{rest_url}"
watch_orders = false
poll_interval_s = 0.2
timeout_ms = 20000
session_timeout_s = 6

{wide_limits("main")}
[[trading.strategies]]
class = "desk_strategy:EveryNth"
params = {{ instrument = "BTC-USDT-SPOT", every = 1, qty = "0.1", account = "main" }}
"""


class Desk:
    """The deployment under test: its topics, files and ``run all`` process."""

    def __init__(self, bootstrap: str, folder: Path, exchange: FakeExchange) -> None:
        self.bootstrap = bootstrap
        self.folder = folder
        self.exchange = exchange
        self.prefix = f"live{uuid.uuid4().hex[:8]}."
        self.topics = StreamsConfig(topic_prefix=self.prefix, partitions=1).topics
        self.logs = folder / "logs"

    def records(self, canonical: str) -> list[dict[str, Any]]:
        rows = read_to_end(self.bootstrap, self.topics.name(canonical), 30)
        return [CODEC.decode(canonical, r.value) for r in rows if r.value is not None]

    def publish(self, canonical: str, records: list[Record]) -> None:
        items = [(CODEC.key(canonical, r), CODEC.encode(canonical, r)) for r in records]
        produce_all(self.bootstrap, self.topics.name(canonical), items)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text() if path.exists() else ""

    def wait(self, done: Callable[[], bool], what: str, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            assert time.monotonic() < deadline, (
                f"{what}: not in {timeout_s}s",
                self.log("trade")[-3000:],
                self.log("router")[-3000:],
            )
            time.sleep(0.3)

    def committed(self, group: str, canonical: str) -> int:
        consumer = Consumer(client_config(self.bootstrap) | {"group.id": group})
        try:
            (tp,) = consumer.committed([TopicPartition(self.topics.name(canonical), 0)], 10)
            return int(tp.offset)
        finally:
            consumer.close()


@pytest.fixture
def desk(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Desk]:
    exchange = FakeExchange()
    exchange.fake.fill_on_accept = True  # the fake fills a new limit order at its price
    setup = Desk(kafka_bootstrap, tmp_path, exchange)
    declare_topics(kafka_bootstrap, StreamsConfig(topic_prefix=setup.prefix, partitions=1))
    store = KeyStore.create(tmp_path / "keys.json", PASSPHRASE, scrypt_n=2**12)
    store.put("binance", "main", api_key=KEY, secret=SECRET)
    store.save()
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "desk_strategy.py").write_text(STRATEGY)
    (tmp_path / "desk.toml").write_text(
        _config(kafka_bootstrap, setup.prefix, exchange.fake.rest_url)
    )
    try:
        yield setup
    finally:
        exchange.close()
        delete_topics(kafka_bootstrap, setup.topics.all())


@pytest.mark.timeout(400)
def test_run_all_routes_a_strategy_order_to_the_live_venue_and_its_fill_comes_back(
    desk: Desk,
) -> None:
    env = os.environ | {
        PASSPHRASE_VAR: PASSPHRASE,
        "PYTHONPATH": os.pathsep.join([str(desk.folder / "strategies"), os.getcwd()]),
        "TAPEWIRE_DATA_DIR": str(desk.folder / "data"),
    }
    env.pop("TAPEWIRE_KEYSTORE_PASSPHRASE", None)  # only the variable the file names
    command = [sys.executable, "-m", "tapewire.cli", "run", "all"]
    command += ["--config", str(desk.folder / "desk.toml"), "--log-dir", str(desk.logs)]
    command += ["--duration", "300"]
    out = (desk.folder / "run-all.out").open("wb")
    proc = subprocess.Popen(command, env=env, cwd=desk.folder, stdout=out, stderr=out)
    try:
        desk.wait(lambda: READY_LINE in desk.log("router"), "router ready")
        desk.wait(lambda: "trade: restored" in desk.log("trade"), "trade restored")
        now = time.time_ns()
        # the reference price first: the risk gate decides once the trade process read it
        desk.publish("md.nbbo", [nbbo("99.99", "100.00", ts=now, instrument="BTC-USDT-SPOT")])
        group = f"{desk.prefix}tapewire-trade-hotpath"
        desk.wait(lambda: desk.committed(group, "md.nbbo") >= 1, "md.nbbo consumed by trade")
        desk.publish(
            "md.quotes",
            [
                quote(v, "99.99", "100.00", ts=now + i)
                for i, v in enumerate(("binance", "okx", "kraken"))
            ],
        )

        def requests() -> dict[str, str]:
            return {r["venue"]: r["client_order_id"] for r in desk.records("oms.requests")}

        desk.wait(lambda: len(requests()) == 3, "three strategy orders")
        cids = requests()
        approved = {d["client_order_id"] for d in desk.records("oms.approved")}
        assert set(cids.values()) <= approved, (cids, approved)  # risk gated every one

        binance = cids["binance"]
        desk.wait(
            lambda: any(f["client_order_id"] == binance for f in desk.records("oms.fills")),
            "the fake exchange's fill on oms.fills",
        )
        fills = [f for f in desk.records("oms.fills") if f["client_order_id"] == binance]
        assert [(f["venue"], f["account"], f["quantity"]) for f in fills] == [
            ("binance", "main", Decimal("0.1"))
        ]
        creates = [
            r for r in list(desk.exchange.fake.requests) if r.method == "POST" and r.path == ORDER
        ]
        # exactly one order reached the exchange: binance's, with the strategy's id
        assert [r.params.get("newClientOrderId") for r in creates] == [binance]

        # the trade process read the live fill back from Kafka: its position is published
        desk.wait(
            lambda: any(
                p["venue"] == "binance" and p["account"] == "main"
                for p in desk.records("positions")
            ),
            "the binance position from the trade process",
        )

        desk.wait(
            lambda: any(
                a["code"] == "ROUTER_NO_VENUE" and a["labels"]["venue"] == "kraken"
                for a in desk.records("alerts")
            ),
            "ROUTER_NO_VENUE alert for kraken",
        )
        events = desk.records("oms.events")
        by_cid: dict[str, list[tuple[str, str]]] = {}
        for e in events:
            by_cid.setdefault(e["client_order_id"], []).append((e["exec_type"], e["status"]))
        assert ("TRADE", "FILLED") in by_cid[binance], by_cid
        assert not any(s == "REJECTED" for _, s in by_cid[binance]), by_cid  # not by trade
        assert [s for _, s in by_cid[cids["kraken"]]] == ["REJECTED"]
        okx = [e for e in events if e["client_order_id"] == cids["okx"]]
        assert okx, by_cid  # the paper venue executed it in the trade process
        assert all("no venue" not in (e["text"] or "") for e in okx)
        assert all(e["venue"] == "okx" for e in okx)
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)
        out.close()
    logs = {p.name for p in desk.logs.glob("*.log")}
    assert logs == {"trade.log", "router.log"}


def test_a_restarted_trade_process_reads_live_reports_after_what_it_restored(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The restore applies the whole history of ``oms.fills``; the worker then reads the
    topic from its end as of the restore (no committed offset yet), so the live venue's
    fills already applied are not applied a second time."""
    prefix = f"liverestart{uuid.uuid4().hex[:8]}."
    path = tmp_path / "desk.toml"
    text = _config(kafka_bootstrap, prefix, "http://127.0.0.1:9")
    path.write_text(text.partition("[[trading.strategies]]")[0])  # no strategy needed
    config = load_config(path)
    streams = trade_streams(config)
    declare_topics(kafka_bootstrap, streams)
    name = streams.topics.name
    try:
        fills = [fill("f-live", venue="binance", account="main"), fill("f-paper", venue="okx")]
        produce_all(
            kafka_bootstrap,
            name("oms.fills"),
            [(CODEC.key("oms.fills", f), CODEC.encode("oms.fills", f)) for f in fills],
        )
        worker = restored_trade_worker(kafka_bootstrap, streams, CODEC)
        consumer = worker._consumer()
        try:
            start = {(tp.topic, tp.partition): tp.offset for tp in worker._assign(consumer)}
        finally:
            consumer.close()
        assert start[(name("oms.fills"), 0)] == 2  # after the two restored fills
        assert start[(name("oms.events"), 0)] < 0  # nothing restored: from the beginning
        assert start[(name("md.nbbo"), 0)] < 0  # other inputs: the committed offset (none)
    finally:
        delete_topics(kafka_bootstrap, streams.topics.all())
