"""Faust glue of the parent stage (:mod:`tapewire.streams.stages.parents`) with the SOR
and execution algo engines.

Before the agent starts, the stage is rebuilt from its journal (``oms.parent_events``, read
whole) and the child requests journaled but never decided (no record on ``oms.approved`` /
``oms.denied``) are produced again; the reports after the agent's committed offsets are
consumed again by the agent itself.
"""

from __future__ import annotations

from tapewire.records.orders import ParentOrderEvent
from tapewire.records.risk import RiskDecision
from tapewire.runtime.kafka_io import produce_all, read_to_end
from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.agents.common import topics_agent
from tapewire.streams.agents.strategy import trading_config
from tapewire.streams.stages.algos import AlgoStageEngine, algo_config
from tapewire.streams.stages.parent_engine import ParentEngine
from tapewire.streams.stages.parents import INPUTS, JOURNAL, ParentStage
from tapewire.streams.stages.sor import SorEngine, sor_config


def register_sor(app: TapewireApp) -> ParentStage:
    """Register the ``sor`` agent: SOR and execution algos (venues from
    ``StreamsConfig.trading.paper_venues``)."""
    config = app.streams_config
    trading = trading_config(app)
    engines: list[ParentEngine] = [
        SorEngine(sor_config(trading), config.nbbo),
        AlgoStageEngine(algo_config(trading)),
    ]
    stage = ParentStage(app.codec, engines, trading.clock, config.topics.name)
    if app.bootstrap:
        restore_sor(app, stage)
    topics_agent(app, INPUTS, stage, name="sor")
    return stage


def restore_sor(app: TapewireApp, stage: ParentStage) -> int:
    """Rebuild ``stage`` from the journal; publish what it gives back; parents restored."""
    name, bootstrap = app.streams_config.topics.name, app.bootstrap
    journal = [
        r
        for m in read_to_end(bootstrap, name(JOURNAL), missing_ok=True)
        if isinstance(r := app.codec.read(JOURNAL, m.value or b""), ParentOrderEvent)
    ]
    decided: set[tuple[str, str]] = set()
    for topic in ("oms.approved", "oms.denied"):
        for m in read_to_end(bootstrap, name(topic), missing_ok=True):
            decision = app.codec.read(topic, m.value or b"")
            if isinstance(decision, RiskDecision):
                decided.add((decision.account, decision.client_order_id))
    outputs = stage.restore(journal, stage.clock(), decided=frozenset(decided))
    by_topic: dict[str, list[tuple[bytes | None, bytes | None]]] = {}
    for out in outputs:
        by_topic.setdefault(out.topic, []).append((out.key, out.value))
    for topic, messages in by_topic.items():
        produce_all(bootstrap, topic, messages)
    return len({r.parent_id for r in journal})
