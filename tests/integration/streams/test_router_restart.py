"""Acceptance 4: SIGKILL the router between send and acknowledgement; on restart it
reconciles by client order id and no order is sent twice.

Real broker, the router as a real subprocess (``python -m tapewire.cli.router_main``)
on a real ccxt venue pointed at the loopback fake Binance (``FakeBinancePrivate``, run on
a loop thread of this test process, whose request log shows every create it received).

* acked slowly: the fake accepts the order, then holds the answer (``hang_after_accept``);
  the router is killed once the fake has the order. The restart reconciles it (NEW, or
  FILLED when the fake fills on accept), the redelivered approval and a duplicate are not
  sent: exactly one create for that client order id.
* lost: the fake receives the create and drops it (``hang_before_accept``); the restart
  finds no such order and quarantines it (event + ``ORDER_QUARANTINED`` alert): one
  create in total.

Every wait is bounded; every process is killed in ``finally``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from confluent_kafka import Consumer, TopicPartition

from tapewire.cli.router_main import READY_LINE
from tapewire.connectors.orders.keys import PASSPHRASE_ENV, KeyStore
from tapewire.core.kafka import client_config
from tapewire.core.records import Record
from tapewire.records.risk import RiskDecision
from tapewire.runtime.kafka_io import delete_topics, produce_all, read_to_end
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.streams.stages.config import StreamsConfig
from tapewire.testing.fake_exchange.private import FakeBinancePrivate, PrivateFault
from tests.factories.ccxt_venue import ccxt_request
from tests.factories.orders import approval

D = Decimal
KEY = "restart-key-0001"
SECRET = "restart-secret-0001"
PASSPHRASE = "restart-test-passphrase"
ORDER = "/api/v3/order"
CODEC = Codec()
ROOT = Path(__file__).resolve().parents[3]
T = TypeVar("T")


class FakeExchange:
    """``FakeBinancePrivate`` served from its own event-loop thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = FakeBinancePrivate(api_key=KEY, secret=SECRET)
        self._run(self.fake.start())

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def creates(self, cid: str) -> int:
        """Create requests received for ``cid`` (answered or not)."""
        return sum(
            1
            for r in list(self.fake.requests)
            if r.method == "POST" and r.path == ORDER and r.params.get("newClientOrderId") == cid
        )

    def close(self) -> None:
        self._run(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class Setup:
    bootstrap: str
    config: StreamsConfig
    keystore: Path
    logs: Path
    exchange: FakeExchange

    def name(self, canonical: str) -> str:
        return self.config.topics.name(canonical)

    def publish(self, canonical: str, records: Sequence[Record]) -> None:
        items = [(CODEC.key(canonical, r), CODEC.encode(canonical, r)) for r in records]
        produce_all(self.bootstrap, self.name(canonical), items)

    def records(self, canonical: str) -> list[dict[str, Any]]:
        rows = read_to_end(self.bootstrap, self.name(canonical), 30)
        return [CODEC.decode(canonical, r.value) for r in rows if r.value is not None]

    def wait_records(
        self,
        canonical: str,
        done: Callable[[list[dict[str, Any]]], bool],
        what: str,
        timeout_s: float = 90,
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while True:
            got = self.records(canonical)
            if done(got):
                return got
            assert time.monotonic() < deadline, f"{what}: not seen in {timeout_s}s; {got}"
            time.sleep(0.3)

    def wait_consumed(self, canonical: str, offset: int, timeout_s: float = 90) -> None:
        """Wait until the router's group committed ``offset`` on partition 0."""
        consumer = Consumer(client_config(self.bootstrap) | {"group.id": self.config.app_id})
        try:
            tp = [TopicPartition(self.name(canonical), 0)]
            deadline = time.monotonic() + timeout_s
            while True:
                (done,) = consumer.committed(tp, timeout=10)
                if done.offset >= offset:
                    return
                assert time.monotonic() < deadline, f"{canonical}: committed {done.offset}"
                time.sleep(0.2)
        finally:
            consumer.close()

    @contextmanager
    def router(self, run: int) -> Iterator[subprocess.Popen[bytes]]:
        """The router subprocess, started and ready; killed (if alive) on exit."""
        out, err = self.logs / f"router-{run}.out", self.logs / f"router-{run}.err"
        args = [
            sys.executable,
            "-m",
            "tapewire.cli.router_main",
            "--bootstrap",
            self.bootstrap,
            "--keystore",
            str(self.keystore),
            "--venue",
            "binance",
            "--account",
            "main",
            "--rest-url",
            self.exchange.fake.rest_url,
            "--no-watch-orders",  # the scenario is the journal's: acks by the REST answer
            "--app-id",
            self.config.app_id,
            "--topic-prefix",
            self.config.topic_prefix,
            "--partitions",
            "1",
            "--timeout-ms",
            "20000",
            "--reconcile-attempts",
            "2",
            "--reconcile-delay-s",
            "0.2",
            "--session-timeout-s",
            "6",
        ]
        env = os.environ | {PASSPHRASE_ENV: PASSPHRASE, "TAPEWIRE_METRICS_PORT": "0"}
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
        try:
            deadline = time.monotonic() + 90
            while READY_LINE not in out.read_text():
                assert proc.poll() is None, f"router exited {proc.returncode}: {err.read_text()}"
                assert time.monotonic() < deadline, f"router not ready: {err.read_text()}"
                time.sleep(0.1)
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(30)


def approved(cid: str, decision_id: str) -> RiskDecision:
    """The risk gate's approval of a limit buy of 0.1 at 100 by account ``main``."""
    return approval(
        cid,
        request=ccxt_request(cid, price="100"),
        decision_id=decision_id,
        decision_ts_ns=time.time_ns(),
        rules_evaluated=["max_order_qty"],
    )


@pytest.fixture
def setup(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Setup]:
    tag = uuid.uuid4().hex[:10]
    config = StreamsConfig(app_id=f"router-restart-{tag}", topic_prefix=f"rr{tag}.", partitions=1)
    declare_topics(kafka_bootstrap, config)
    keystore = tmp_path / "keys.json"
    store = KeyStore.create(keystore, PASSPHRASE, scrypt_n=2**12)
    store.put("binance", "main", api_key=KEY, secret=SECRET)
    store.save()
    exchange = FakeExchange()
    try:
        yield Setup(kafka_bootstrap, config, keystore, tmp_path, exchange)
    finally:
        exchange.close()
        delete_topics(kafka_bootstrap, config.topics.all())


def of(cid: str, rows: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(e["exec_type"], e["status"], e["text"]) for e in rows if e["client_order_id"] == cid]


def wait_until(done: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"{what}: not in {timeout_s}s"
        time.sleep(0.05)


def duplicate_is_not_sent(s: Setup, cid: str) -> list[str]:
    """Publish a second approval with ``cid`` (as a redelivery would); wait until the
    router consumed both approvals and alerted on the duplicate; return the decision ids
    the router refused to send again (the original one too when Kafka redelivered it)."""
    s.publish("oms.approved", [approved(cid, f"{cid}-again")])
    s.wait_consumed("oms.approved", 2)
    rows = s.wait_records(
        "alerts",
        lambda rows: any(a["alert_id"] == f"router:duplicate:{cid}-again" for a in rows),
        "ROUTER_DUPLICATE alert",
    )
    skipped = [
        a["alert_id"].removeprefix("router:duplicate:")
        for a in rows
        if a["code"] == "ROUTER_DUPLICATE" and a["labels"]["client_order_id"] == cid
    ]
    print(f"\n[{cid}] approvals not sent again: {skipped}")
    return skipped


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fills", [False, True], ids=["rests-new", "filled-on-accept"])
def test_sigkill_between_send_and_ack_reconciles_without_resend(setup: Setup, fills: bool) -> None:
    s, fake = setup, setup.exchange.fake
    cid = f"restart-{uuid.uuid4().hex[:8]}"
    fake.fill_on_accept = fills
    fake.faults.append(PrivateFault("hang_after_accept", hang_s=60))  # placed, ack held
    started = time.monotonic()
    with s.router(1) as first:
        s.publish("oms.approved", [approved(cid, f"{cid}-1")])
        wait_until(lambda: cid in fake.orders, "the fake exchange placing the order")
        first.kill()  # SIGKILL: the venue has the order, the router never got the ack
        first.wait(30)
    killed = time.monotonic()
    assert s.exchange.creates(cid) == 1
    before = of(cid, s.records("oms.events"))
    assert before == [("PENDING_NEW", "PENDING_NEW", "sending")]  # the intent, no ack
    want = "FILLED" if fills else "NEW"
    with s.router(2) as second:
        events = s.wait_records(
            "oms.events",
            lambda rows: any(st == want for _, st, _ in of(cid, rows)),
            f"reconciled {want}",
        )
        reconciled_at = time.monotonic()
        mine = of(cid, events)
        assert mine[1][:2] == ("NEW", "NEW")
        assert mine[1][2] is not None
        assert "reconciled by client order id" in mine[1][2]
        if fills:
            assert mine[2][:2] == ("TRADE", "FILLED")
            fill_rows = [f for f in s.records("oms.fills") if f["client_order_id"] == cid]
            assert [(f["quantity"], f["price"]) for f in fill_rows] == [(D("0.1"), D(100))]
        dup = duplicate_is_not_sent(s, cid)
        assert second.poll() is None, "the restarted router died"
    assert s.exchange.creates(cid) == 1  # exactly one create for this id, ever
    assert len(fake.orders) == 1
    assert f"{cid}-again" in dup
    print(
        f"\n[{'filled' if fills else 'new'}] killed after {killed - started:.1f}s, "
        f"reconciled {reconciled_at - killed:.1f}s after the kill; events: {of(cid, events)}"
    )


@pytest.mark.timeout(300)
def test_order_lost_before_accept_is_quarantined_never_resent(setup: Setup) -> None:
    s, fake = setup, setup.exchange.fake
    cid = f"lost-{uuid.uuid4().hex[:8]}"
    fake.faults.append(PrivateFault("hang_before_accept", hang_s=60))  # received, dropped
    with s.router(1) as first:
        s.publish("oms.approved", [approved(cid, f"{cid}-1")])
        wait_until(lambda: s.exchange.creates(cid) == 1, "the fake exchange receiving the create")
        first.kill()
        first.wait(30)
    assert cid not in fake.orders
    with s.router(2) as second:
        events = s.wait_records(
            "oms.events",
            lambda rows: any(
                st == "UNKNOWN" and "quarantined" in (tx or "") for _, st, tx in of(cid, rows)
            ),
            "quarantine event",
        )
        alerts = s.wait_records(
            "alerts",
            lambda rows: any(a["code"] == "ORDER_QUARANTINED" for a in rows),
            "ORDER_QUARANTINED alert",
        )
        dup = duplicate_is_not_sent(s, cid)
        assert second.poll() is None, "the restarted router died"
    assert f"{cid}-again" in dup
    quarantine = [a for a in alerts if a["code"] == "ORDER_QUARANTINED"]
    assert [(a["severity"], a["labels"]["client_order_id"]) for a in quarantine] == [
        ("CRITICAL", cid)
    ]
    assert of(cid, events)[0] == ("PENDING_NEW", "PENDING_NEW", "sending")
    assert "not re-sent" in (of(cid, events)[-1][2] or "")
    assert s.exchange.creates(cid) == 1
    assert cid not in fake.orders
    lookups = [r for r in fake.requests if r.method == "GET" and r.path == ORDER]
    assert lookups
    assert all(r.params.get("origClientOrderId") == cid for r in lookups)
