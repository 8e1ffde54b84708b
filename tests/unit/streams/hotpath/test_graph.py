"""The fused hot path's graph (no Kafka): same stages as the agents, chained in-process.

A seeded two-venue simulator run goes through normalize → NBBO → strategy → risk →
router → positions as function calls. Checked: the market outputs equal the normalize
stage's own outputs; the risk gate sees the NBBO made from a quote before the request
made from the same quote (breadth-first routing), so the very first order is approved;
every decision is published before the venue's order event; fills become positions;
and an external kill switch (a request from outside the graph) cancels resting orders.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tapewire.core.errors import ConfigError
from tapewire.streams.hotpath import HOTPATH_STAGES, Node, StageGraph, build_hot_path
from tapewire.streams.stages.base import InMsg, OutMsg
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.stages.normalize import NormalizeStage
from tests.hotpath_cases import CODEC, INST, config, frames, kill_switch

D = Decimal
PREFIX = "t."


Published = list[tuple[str, OutMsg]]


@pytest.fixture(scope="module")
def run() -> tuple[Any, Published]:
    hot = build_hot_path(CODEC, config())
    out: Published = []
    for msg in frames():
        hot.graph.push("md.raw", msg, lambda topic, m: out.append((topic, m)))
    return hot, out


def records(out: Published, topic: str) -> list[dict[str, Any]]:
    return [CODEC.decode(topic, m[2]) for t, m in out if t == topic]


def strip(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "process_ts_ns"}


def test_market_outputs_equal_the_normalize_stage(run: tuple[Any, Published]) -> None:
    _, out = run
    alone = NormalizeStage(CODEC, lambda t: PREFIX + t).process(frames())
    for topic in ("md.trades", "md.book", "md.quotes", "md.coverage"):
        expected = [strip(CODEC.decode(topic, v)) for t, _, v, _ in alone if t == PREFIX + topic]
        assert [strip(r) for r in records(out, topic)] == expected
    assert len(records(out, "md.quotes")) > 200
    assert all(m[0] == PREFIX + t for t, m in out)  # Kafka names carry the prefix


def test_first_order_is_approved_because_risk_saw_the_nbbo_first(
    run: tuple[Any, Published],
) -> None:
    _, out = run
    requests = records(out, "oms.requests")
    assert [r["venue"] for r in requests].count("binance") == 4
    assert [r["venue"] for r in requests].count("okx") == 3
    assert records(out, "oms.denied") == []
    approved = records(out, "oms.approved")
    assert [a["client_order_id"] for a in approved] == [r["client_order_id"] for r in requests]
    # the first request was made from the very first Binance quote
    first_quote = next(q for q in records(out, "md.quotes") if q["venue"] == "binance")
    assert requests[0]["client_order_id"] == f"taker:binance:{first_quote['receive_ts_ns']}"


def test_decision_published_before_the_venue_acts(run: tuple[Any, Published]) -> None:
    _, out = run
    position: dict[tuple[str, str], int] = {}
    for i, (topic, m) in enumerate(out):
        if topic in ("oms.approved", "oms.events"):
            record = CODEC.decode(topic, m[2])
            position.setdefault((topic, record["client_order_id"]), i)
    events = records(out, "oms.events")
    assert events
    for event in events:
        cid = event["client_order_id"]
        assert position[("oms.approved", cid)] < position[("oms.events", cid)]


def test_fills_and_positions(run: tuple[Any, Published]) -> None:
    hot, out = run
    fills = records(out, "oms.fills")
    statuses = {e["client_order_id"]: e["status"] for e in records(out, "oms.events")}
    taker_ids = [cid for cid in statuses if cid.startswith("taker:binance:")]
    assert len(taker_ids) == 4
    # IOC at the quote's ask: filled if the venue's book (from md.book) still offers it
    assert set(statuses[cid] for cid in taker_ids) <= {"FILLED", "CANCELED"}
    filled = [cid for cid in taker_ids if statuses[cid] == "FILLED"]
    assert filled
    assert {f["client_order_id"] for f in fills} == set(filled)
    for cid in filled:
        assert sum((f["quantity"] for f in fills if f["client_order_id"] == cid), D(0)) == D(
            "0.001"
        )
    total = sum((f["quantity"] for f in fills), D(0))
    resting = [cid for cid, s in statuses.items() if cid.startswith("taker:okx:")]
    assert len(resting) == 3
    assert {statuses[cid] for cid in resting} == {"NEW"}
    positions = records(out, "positions")
    assert positions
    last = positions[-1]
    assert (last["account"], last["instrument"], last["quantity"]) == ("acct", INST, total)
    assert hot.external == frozenset({"md.raw", "oms.requests", "oms.parent_requests"})


def test_external_kill_switch_cancels_resting_orders(run: tuple[Any, Published]) -> None:
    hot, _ = run
    out: Published = []
    hot.graph.push(
        "oms.requests", InMsg(0, 0, b"k", kill_switch()), lambda t, m: out.append((t, m))
    )
    canceled = {
        e["client_order_id"] for e in records(out, "oms.events") if e["status"] == "CANCELED"
    }
    assert len(canceled) == 3
    assert all(cid.startswith("taker:okx:") for cid in canceled)
    assert [a["code"] for a in records(out, "alerts")][:1] == ["TRADING_STATE"]


def test_trading_stages_need_a_trading_config() -> None:
    with pytest.raises(ConfigError, match=r"StreamsConfig\.trading"):
        build_hot_path(CODEC, StreamsConfig(), stages=HOTPATH_STAGES)
    market_only = build_hot_path(CODEC, StreamsConfig(), stages=("normalize", "nbbo"))
    assert market_only.external == frozenset({"md.raw"})
    with pytest.raises(ConfigError, match="unknown hot-path stage"):
        build_hot_path(CODEC, StreamsConfig(), stages=("normalize", "sink"))


def test_breadth_first_and_deferred_order() -> None:
    """x -> a -> y -> c -> w (hot); x -> b (deferred) -> z: b runs after the hot chain,
    and among hot nodes every input is delivered in emission order."""
    calls: list[str] = []

    def node(name: str, inputs: tuple[str, ...], emits: str, deferred: bool = False) -> Node:
        def run(topic: str, msg: InMsg) -> list[OutMsg]:
            calls.append(f"{name}<{topic}")
            return [OutMsg(emits, None, msg.value or b"")] if emits else []

        return Node(name, inputs, run, deferred)

    graph = StageGraph(
        [node("b", ("x",), "z", deferred=True), node("a", ("x",), "y"), node("c", ("y", "z"), "")]
    )
    published: list[str] = []
    assert graph.push("x", InMsg(0, 0, None, b"v"), lambda t, _m: published.append(t)) == 2
    assert calls == ["a<x", "c<y", "b<x", "c<z"]
    assert published == ["y", "z"]
