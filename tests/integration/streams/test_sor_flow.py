"""The smart order router in the trade role's hot path, on the real broker.

A parent buy on ``oms.parent_requests`` is split across two paper venues (Binance and OKX
books from the seeded simulator, cut to their best three levels, with their real fees and
rules); every child passes the risk gate; the IOC children fill; the remainder waits and is
routed on the next books. Midway the trade process is stopped and a new one is built the
way ``tapewire run trade`` builds it (state restored from its own record, the SOR from
``oms.parent_events``); the redelivered parent request is a duplicate. In the end the
parent is FILLED at the exact average of its children's fills, and no child was sent or
approved twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from decimal import Decimal

from tapewire.core.exact import ZERO, add, div18, mul
from tapewire.core.records import TypedRecord
from tapewire.deploy.roles import restored_trade_worker
from tapewire.records.orders import ParentRequest
from tapewire.runtime.kafka_io import delete_topics, produce_all, read_to_end
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.trading.config import TradingConfig
from tests.factories import INST
from tests.factories.market import book, nbbo
from tests.factories.sor import SIM_TERMS, Snapshot, replayed_books
from tests.factories.trading import risk_config
from tests.fixtures.workers import running

CODEC = Codec()
LEVELS = 3


class Desk:
    """The topics of one test run and how to read and write them."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        trading = TradingConfig(
            risk=risk_config(max_order_qty=10, max_order_notional=10**6, max_position=20),
            paper_venues=tuple(
                PaperConfig(t.venue, fees=t.fees, rules=dict(t.rules)) for t in SIM_TERMS
            ),
        )
        prefix = f"sor{uuid.uuid4().hex[:8]}."
        self.config = StreamsConfig(
            app_id=f"{prefix}trade", topic_prefix=prefix, partitions=1, trading=trading
        )

    def send(self, topic: str, *records: TypedRecord) -> None:
        produce_all(
            self.bootstrap,
            self.config.topics.name(topic),
            [(CODEC.key(topic, r), CODEC.encode(topic, r)) for r in records],
        )

    def read(self, topic: str) -> list[TypedRecord]:
        stored = read_to_end(self.bootstrap, self.config.topics.name(topic), missing_ok=True)
        return [CODEC.read(topic, s.value or b"") for s in stored]

    def books(self, snapshot: Snapshot, now: int) -> None:
        """Both venues' best levels (full snapshots) and a reference quote for the risk gate."""
        updates = []
        for venue, (bids, asks) in sorted(snapshot.books.items()):
            updates.append(book(venue, bids[:LEVELS], asks[:LEVELS], ts=now))
        # the simulated OKX trades 0.5 bp above Binance, so the two tops cross; the risk
        # gate refuses a crossed NBBO, so its reference is the wider of the two quotes
        bid = min(b.bids[0].price for b in updates)
        ask = max(b.asks[0].price for b in updates)
        self.send("md.nbbo", nbbo(bid, ask, ts=now))
        self.send("md.book", *updates)

    def wait(self, what: str, check: Callable[[], bool], timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        raise AssertionError(f"{what}: not within {timeout_s}s\n{self.dump()}")

    def dump(self) -> str:
        """What the desk's topics hold (for a failed wait)."""
        lines = []
        for topic in (
            "oms.parent_events",
            "oms.requests",
            "oms.denied",
            "oms.events",
            "dlq.trading",
        ):
            for r in self.read(topic):
                lines.append(f"{topic}: {dict(r)}")
        return "\n".join(lines[-40:])

    def status(self) -> list[TypedRecord]:
        return [e for e in self.read("oms.parent_events") if e["parent_id"] == "p1"]


def _ask_depth(snapshot: Snapshot) -> Decimal:
    total = ZERO
    for _, asks in snapshot.books.values():
        for _, size in asks[:LEVELS]:
            total = add(total, Decimal(size))
    return total


def test_a_parent_is_split_rerouted_restored_and_filled(kafka_bootstrap: str) -> None:
    desk = Desk(kafka_bootstrap)
    snapshots = list(replayed_books(seed=11, n_frames=1200))
    first, later = snapshots[0], snapshots[-1]
    # more than both books show: wave 1 takes every level, 0.3 waits for the next books
    quantity = _ask_depth(first) + Decimal("0.3")
    declare_topics(kafka_bootstrap, desk.config)
    parent = ParentRequest(
        parent_id="p1",
        account="acct",
        instrument=INST,
        side="BUY",
        quantity=quantity,
        requested_by="test",
        request_ts_ns=time.time_ns(),
    )
    try:
        with running(restored_trade_worker(kafka_bootstrap, desk.config, CODEC)):
            desk.books(first, time.time_ns())
            desk.send("oms.parent_requests", parent)
            desk.wait(
                "wave 1 is filled",
                lambda: any(
                    e["status"] == "PARTIALLY_FILLED" and e["open_children"] == 0
                    for e in desk.status()
                ),
            )
        wave1 = [r for r in desk.read("oms.requests") if r["tags"].get("sor.parent") == "p1"]
        assert {r["venue"] for r in wave1} == {"binance", "okx"}  # split over both venues
        assert {r["tags"]["sor.wave"] for r in wave1} == {"1"}

        # a new process: restored from the record; the redelivered parent is a duplicate
        with running(restored_trade_worker(kafka_bootstrap, desk.config, CODEC)):
            desk.send("oms.parent_requests", parent)
            desk.books(later, time.time_ns())
            desk.wait("the parent is filled", lambda: desk.status()[-1]["status"] == "FILLED")

        children = [r for r in desk.read("oms.requests") if r["tags"].get("sor.parent") == "p1"]
        ids = [r["client_order_id"] for r in children]
        assert len(ids) == len(set(ids)) > len(wave1)  # no child twice; a second wave
        assert {r["tags"]["sor.wave"] for r in children} >= {"1", "2"}
        approved = [d["client_order_id"] for d in desk.read("oms.approved")]
        assert sorted(approved) == sorted(ids)  # every child passed the gate, once
        assert desk.read("oms.denied") == []
        fills = [f for f in desk.read("oms.fills") if f["client_order_id"] in set(ids)]
        filled, notional = ZERO, ZERO
        for f in fills:
            filled, notional = (
                add(filled, f["quantity"]),
                add(notional, mul(f["quantity"], f["price"])),
            )
        final = desk.status()[-1]
        assert filled == quantity
        assert (final["cum_qty"], final["leaves_qty"]) == (quantity, ZERO)
        assert final["avg_price"] == div18(notional, filled)
        assert final["avg_price_with_fees"] > final["avg_price"]  # taker fees on a buy
        assert len({e["event_id"] for e in desk.status()}) == len(desk.status())
        assert [e["event_type"] for e in desk.status()].count("ParentNew") == 1
    finally:
        delete_topics(kafka_bootstrap, desk.config.topics.all())
