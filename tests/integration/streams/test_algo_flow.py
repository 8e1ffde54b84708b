"""A TWAP parent in the trade role's hot path, on the real broker.

A TWAP buy (3 slices over 6 s on Binance) goes to ``oms.parent_requests``; books arrive
every 0.3 s, and each record drives the parent stage's timer (its wall clock). Each slice
passes the risk gate and fills on the paper venue. After the first slice the trade
process is replaced by one restored from its record (the algo from
``oms.parent_events``); the redelivered parent is a duplicate. In the end the TWAP is
FILLED with three slices, none sent or approved twice, at the exact average of its fills.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from tapewire.core.exact import ZERO, add, div18, mul
from tapewire.core.records import TypedRecord
from tapewire.deploy.roles import restored_trade_worker
from tapewire.records.orders import ParentRequest
from tapewire.runtime.kafka_io import delete_topics
from tapewire.runtime.topics import declare_topics
from tests.factories import INST
from tests.factories.sor import Snapshot, replayed_books
from tests.fixtures.workers import running
from tests.integration.streams.test_sor_flow import CODEC, Desk

QUANTITY = Decimal("0.03")


def _status(desk: Desk) -> list[TypedRecord]:
    return [e for e in desk.read("oms.parent_events") if e["parent_id"] == "tw1"]


def _filled_any(desk: Desk) -> bool:
    return any(e["cum_qty"] > 0 for e in _status(desk))


def _tick_until(
    desk: Desk, snapshot: Snapshot, what: str, done: Callable[[], bool], timeout_s: float = 60.0
) -> None:
    """Send the books every 0.3 s (the stage's timer runs on each record) until ``done``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        desk.books(snapshot, time.time_ns())
        if done():
            return
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout_s}s\n{desk.dump()}")


def test_a_twap_parent_is_sliced_restored_and_filled(kafka_bootstrap: str) -> None:
    desk = Desk(kafka_bootstrap)
    declare_topics(kafka_bootstrap, desk.config)
    snapshot = next(iter(replayed_books(seed=11, n_frames=400)))
    best_ask = Decimal(snapshot.books["binance"][1][0][0])
    parent = ParentRequest(
        parent_id="tw1",
        account="acct",
        algo="TWAP",
        instrument=INST,
        side="BUY",
        quantity=QUANTITY,
        limit_price=(best_ask * Decimal("1.002")).quantize(Decimal("0.01")),  # in the band
        venues=["binance"],
        params={"slices": "3", "duration": "6s"},
        requested_by="test",
        request_ts_ns=time.time_ns(),
    )
    try:
        with running(restored_trade_worker(kafka_bootstrap, desk.config, CODEC)):
            desk.books(snapshot, time.time_ns())  # the gate's reference first
            desk.send("oms.parent_requests", parent)
            _tick_until(desk, snapshot, "slice 1 filled", lambda: _filled_any(desk))
        with running(restored_trade_worker(kafka_bootstrap, desk.config, CODEC)):
            desk.books(snapshot, time.time_ns())  # the new gate's reference first
            desk.send("oms.parent_requests", parent)  # redelivered: a duplicate
            _tick_until(
                desk,
                snapshot,
                "the TWAP is filled",
                lambda: _status(desk)[-1]["status"] == "FILLED",
            )

        children = [r for r in desk.read("oms.requests") if r["tags"].get("algo.parent") == "tw1"]
        ids = [r["client_order_id"] for r in children]
        assert ids == ["tw1:c1", "tw1:c2", "tw1:c3"]
        # each slice brings the held quantity up to its target (0.01, 0.02, 0.03): a slice
        # the venue's IOC missed (a new process's paper book not yet fed) is caught up
        assert children[0]["quantity"] == Decimal("0.01")
        assert sum(r["quantity"] for r in children) >= QUANTITY
        times = [r["request_ts_ns"] for r in children]
        assert times[2] - times[0] >= 4 * 10**9  # slices 2 s apart: over time, not at once
        approved = [d["client_order_id"] for d in desk.read("oms.approved")]
        assert sorted(approved) == ids, desk.dump()  # every slice passed the gate, once
        assert desk.read("oms.denied") == []
        fills = [f for f in desk.read("oms.fills") if f["client_order_id"] in set(ids)]
        filled, notional = ZERO, ZERO
        for f in fills:
            filled = add(filled, f["quantity"])
            notional = add(notional, mul(f["quantity"], f["price"]))
        final = _status(desk)[-1]
        assert filled == QUANTITY
        assert (final["algo"], final["cum_qty"], final["leaves_qty"]) == ("TWAP", QUANTITY, ZERO)
        assert final["avg_price"] == div18(notional, filled)
        assert [e["event_type"] for e in _status(desk)].count("AlgoNew") == 1
        assert len({e["event_id"] for e in _status(desk)}) == len(_status(desk))
    finally:
        delete_topics(kafka_bootstrap, desk.config.topics.all())
