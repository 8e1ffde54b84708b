"""The strategy stage is fed only the topics its strategies read: a topic whose hook every
strategy leaves to the base class (no intent, no state) gets no delivery in the hot path."""

from __future__ import annotations

from pathlib import Path

from tapewire.core.records import TypedRecord
from tapewire.deploy.config import load_config
from tapewire.records.market import Trade
from tapewire.schemas.codec import Codec
from tapewire.streams.hotpath import build_hot_path
from tapewire.streams.oms.request import OrderRequest
from tapewire.streams.stages.strategy import INPUTS, StrategyStage
from tapewire.streams.trading.strategy import Strategy

EXAMPLES = Path(__file__).resolve().parents[4] / "examples"
CODEC = Codec()


class OnTrades(Strategy):
    def on_trade(self, trade: Trade) -> list[OrderRequest]:
        return []


class Dispatcher(Strategy):
    def on_record(self, topic: str, record: TypedRecord) -> list[OrderRequest]:
        return []


class NotAStrategy:  # duck-typed: no base class to compare with
    strategy_id = "duck"

    def on_record(self, topic: str, record: TypedRecord) -> list[OrderRequest]:
        return []


def test_only_the_hooks_a_strategy_overrides_are_fed() -> None:
    assert StrategyStage(CODEC, [OnTrades()]).inputs() == ("md.trades",)
    assert StrategyStage(CODEC, [Strategy()]).inputs() == ()
    both = StrategyStage(CODEC, [OnTrades(), Dispatcher()])
    assert both.inputs() == INPUTS
    assert StrategyStage(CODEC, [NotAStrategy()]).inputs() == INPUTS  # type: ignore[list-item]


def test_the_demo_strategy_node_reads_quotes_nbbo_and_its_order_events() -> None:
    config = load_config(EXAMPLES / "demo.toml").streams_config("test-inputs")
    hot = build_hot_path(CODEC, config, stages=("strategy", "risk", "router"))
    node = next(n for n in hot.graph.nodes if n.name == "strategy")
    # CrossVenueSpread overrides on_nbbo (wait_for_nbbo, on in demo.toml), not on_trade
    assert node.inputs == ("md.quotes", "md.nbbo", "oms.events")
    assert "md.trades" in hot.graph.inputs  # still read: the router's paper venues
