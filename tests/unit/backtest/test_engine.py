"""The replay loop (no ClickHouse): the demo's simulated market, normalized in memory,
through the live stage graph on the simulated clock.

Checked: the same events give the same outputs twice (and with every record checked
against its schema); every time in the outputs comes
from the data (no wall clock); and the backtest makes exactly the orders and fills the
live fused hot path makes when fed the raw frames of the same market (normalize included),
with the same TCA reports, for the demo strategy and for the tutorial strategy loaded from
examples/strategies/.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tapewire.backtest.engine import Outputs, SimClock, replay
from tapewire.backtest.history import MarketEvent, order_records
from tapewire.core.errors import ConfigError
from tapewire.deploy.config import load_config
from tapewire.records.orders import Fill, OrderRequest
from tapewire.schemas.codec import Codec
from tapewire.streams.hotpath import build_hot_path
from tapewire.streams.stages.base import InMsg, OutMsg
from tapewire.streams.stages.config import StreamsConfig
from tapewire.testing.history import simulated_frames, simulated_records

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
FRAMES = 12_000
SECOND = 1_000_000_000


def _config(name: str) -> StreamsConfig:
    return load_config(EXAMPLES / name).streams_config("test-backtest")


@pytest.fixture(scope="module")
def events() -> list[MarketEvent]:
    return order_records(simulated_records(frames=FRAMES), order="receive")


def _replay(config: StreamsConfig, events: list[MarketEvent], *, checked: bool = False) -> Outputs:
    start = events[0].receive_ts_ns
    end = events[-1].receive_ts_ns + 1
    return replay(
        config, events, start_ns=start, end_ns=end, interval_ns=SECOND // 4, checked=checked
    )


def test_replay_twice_gives_identical_outputs(events: list[MarketEvent]) -> None:
    first = _replay(_config("tutorial.toml"), events)
    second = _replay(_config("tutorial.toml"), events)
    assert first.records["oms.fills"], "the tutorial strategy should trade on this market"
    assert first.records == second.records
    assert first.samples == second.samples
    assert first.counts == second.counts
    assert first.dead_letters == second.dead_letters == []


@pytest.mark.parametrize("example", ["demo.toml", "tutorial.toml"])
def test_records_checked_against_their_schemas_change_nothing(
    events: list[MarketEvent], example: str
) -> None:
    """The command trusts the records its stages build; checking each one against its
    schema (as encoding for Kafka would) gives the same outputs, dead letters included."""
    trusted = _replay(_config(example), events)
    checked = _replay(_config(example), events, checked=True)
    assert trusted.records["oms.fills"], f"{example} should trade on this market"
    assert trusted.counts["positions"] > 0
    assert trusted.records == checked.records
    assert trusted.samples == checked.samples
    assert trusted.counts == checked.counts
    assert trusted.dead_letters == checked.dead_letters


def test_every_output_time_comes_from_the_data(events: list[MarketEvent]) -> None:
    outputs = _replay(_config("tutorial.toml"), events)
    lo, hi = events[0].receive_ts_ns, events[-1].receive_ts_ns
    decisions = outputs.records["oms.approved"] + outputs.records["oms.denied"]
    assert decisions
    assert all(lo <= d["decision_ts_ns"] <= hi for d in decisions)
    # the paper venues' latency models put acks 2-3 ms after the request, in market time
    assert all(lo <= e["event_ts_ns"] <= hi + SECOND for e in outputs.records["oms.events"])
    assert [s.ts_ns for s in outputs.samples] == sorted({s.ts_ns for s in outputs.samples})
    assert outputs.samples[-1].ts_ns == hi + 1


def _live(config: StreamsConfig) -> dict[str, list[Any]]:
    """The fused hot path fed the raw frames (normalize → NBBO → strategy → risk → router →
    positions, TCA), its risk clock following the frames' receive times."""
    clock = SimClock()
    assert config.trading is not None
    config = replace(config, trading=replace(config.trading, clock=clock))
    codec = Codec()
    hot = build_hot_path(codec, config)
    out: dict[str, list[Any]] = {"oms.requests": [], "oms.fills": [], "tca": []}

    def publish(topic: str, msg: OutMsg) -> None:
        if topic in out:
            out[topic].append(msg.record)

    encode = codec.for_topic("md.raw").encode
    for i, frame in enumerate(simulated_frames(frames=FRAMES)):
        clock.now_ns = max(clock.now_ns, frame["receive_ts_ns"])
        msg = InMsg(0, i, codec.key("md.raw", frame), encode(frame))
        hot.graph.push("md.raw", msg, publish)
    return out


def _orders(records: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (r.client_order_id, r.venue, r.side, r.quantity, r.limit_price)
        for r in records
        if isinstance(r, OrderRequest)
    ]


def _fills(records: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (f.client_order_id, f.venue, f.side, f.price, f.quantity, f.fee)
        for f in records
        if isinstance(f, Fill)
    ]


@pytest.mark.parametrize("example", ["demo.toml", "tutorial.toml"])
def test_backtest_orders_and_fills_equal_the_live_hot_path(
    events: list[MarketEvent], example: str
) -> None:
    backtest = _replay(_config(example), events)
    live = _live(_config(example))
    assert _orders(live["oms.requests"]), f"{example}: no orders live"
    assert _orders(backtest.records["oms.requests"]) == _orders(live["oms.requests"])
    assert _fills(backtest.records["oms.fills"]) == _fills(live["oms.fills"])
    assert live["tca"], f"{example}: no TCA report live"
    assert backtest.records["tca"] == live["tca"]


def test_a_config_without_paper_venues_is_refused(events: list[MarketEvent]) -> None:
    config = _config("demo.toml")
    assert config.trading is not None
    bare = replace(config, trading=replace(config.trading, paper_venues=()))
    with pytest.raises(ConfigError, match=r"trading\.paper_venues is empty"):
        _replay(bare, events)


def test_a_non_positive_interval_is_refused(events: list[MarketEvent]) -> None:
    with pytest.raises(ConfigError, match="--interval must be positive"):
        replay(_config("demo.toml"), events, start_ns=0, end_ns=1, interval_ns=0)
