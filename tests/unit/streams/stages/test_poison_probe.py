"""Every kind of garbage on every input topic of every stage: one dead letter each, and the
valid records around it give exactly the outputs they give alone.

Both shells (the Faust agents and the fused hot path) run these stage objects, so a
record that passes here cannot stop either shell. The kinds: an empty value, a tombstone,
a wrong magic byte, a schema id nobody registered, a truncated record, trailing bytes, a
record of another schema, JSON, random bytes, and a value of nearly 1,000,000 bytes (its
dead letter must stay small enough to produce).

The NBBO re-key stage reads a value only when the key names no instrument (as here, key
``k``); with a ``venue:instrument`` key it passes the bytes on unread and the NBBO stage,
probed as well, dead-letters them there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tapewire.core.kafka import MAX_MESSAGE_BYTES
from tapewire.core.records import TypedRecord
from tapewire.schemas.codec import Codec
from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.router.stage import RouterStage
from tapewire.streams.router.venue import PaperVenueAdapter
from tapewire.streams.stages.bars import BarsStage
from tapewire.streams.stages.base import InMsg, OutMsg, TopicMsg
from tapewire.streams.stages.bbo import BboStage
from tapewire.streams.stages.nbbo import NbboStage, RekeyStage
from tapewire.streams.stages.normalize import NormalizeStage
from tapewire.streams.stages.positions import PositionsStage
from tapewire.streams.stages.risk import RiskStage
from tapewire.streams.stages.strategy import StrategyStage
from tapewire.streams.stages.tca import INPUTS as TCA_INPUTS
from tapewire.streams.stages.tca import TcaStage
from tapewire.streams.trading.strategy import CrossVenueSpread, SpreadConfig
from tests.factories import INST, T0
from tests.factories.garbage import garbage
from tests.factories.market import book, nbbo, quote, trade
from tests.factories.orders import approval, order_event, order_request
from tests.factories.trading import fill, position, risk_config
from tests.hotpath_cases import frames

CODEC = Codec()
TIME_FIELDS = frozenset(
    ("process_ts_ns", "decision_ts_ns", "event_ts_ns", "update_ts_ns", "failed_ts_ns")
)
"""Fields a stage stamps with its own clock: the only ones two runs may differ in."""


def _valid(topic: str) -> list[TypedRecord]:
    """Three valid records of ``topic``, a little apart in time."""
    ts = [T0 + i * 1_000_000_000 for i in range(3)]
    if topic == "md.trades":
        return [trade(str(100 + i), ts=t, trade_id=f"t{i}") for i, t in enumerate(ts)]
    if topic == "md.book":
        return [
            book("binance", [(f"{100 + i}", "1")], [(f"{101 + i}", "1")], ts=t)
            for i, t in enumerate(ts)
        ]
    if topic in ("md.quotes", "md.quotes.by-consolidated"):
        return [
            quote(v, f"{100 + i}", f"{101 + i}", ts=t)
            for i, (v, t) in enumerate(zip(("binance", "okx", "binance"), ts, strict=True))
        ]
    if topic == "md.nbbo":
        return [nbbo(f"{100 + i}", f"{101 + i}", ts=t) for i, t in enumerate(ts)]
    if topic == "oms.requests":
        return [order_request(f"o{i}", price="100.5", ts=t) for i, t in enumerate(ts)]
    if topic == "oms.approved":
        return [
            approval(f"o{i}", request=order_request(f"o{i}", price="100.5", ts=t))
            for i, t in enumerate(ts)
        ]
    if topic == "oms.events":
        return [order_event(f"o{i}", "NEW", 1, strategy_id="xspread") for i in range(3)]
    if topic == "oms.fills":
        return [fill(f"f{i}", price="100", qty="0.1", ts=t) for i, t in enumerate(ts)]
    if topic == "positions":
        return [position(ts=t) for t in ts]
    raise AssertionError(topic)


@dataclass(frozen=True)
class Case:
    stage: str
    topic: str
    build: Callable[[], Any]
    multi: bool


def _strategy() -> StrategyStage:
    spread = SpreadConfig(
        INST, ("binance", "okx"), threshold_bps=Decimal(1), quantity=Decimal("0.1")
    )
    return StrategyStage(CODEC, [CrossVenueSpread(spread)])


def _risk() -> RiskStage:
    return RiskStage(CODEC, risk_config(stale_quote_ms=10**15), clock=lambda: T0 + 5_000_000_000)


def _router() -> RouterStage:
    return RouterStage(CODEC, [PaperVenueAdapter(PaperConfig("binance"))])


SINGLE: dict[str, Callable[[], Any]] = {
    "bars": lambda: BarsStage(CODEC),
    "bbo": lambda: BboStage(CODEC),
    "nbbo-rekey": lambda: RekeyStage(CODEC),
    "nbbo": lambda: NbboStage(CODEC),
}
MULTI: dict[str, tuple[Callable[[], Any], Sequence[str]]] = {
    "strategy": (_strategy, ("md.quotes", "md.nbbo", "md.trades", "oms.events")),
    "risk": (_risk, ("oms.requests", "md.nbbo", "oms.events", "oms.fills", "positions")),
    "router": (_router, ("oms.approved", "md.book", "md.trades")),
    "positions": (lambda: PositionsStage(CODEC), ("oms.fills", "md.nbbo", "oms.approved")),
    "tca": (lambda: TcaStage(CODEC), TCA_INPUTS),
}
CASES = [Case(n, b().source_topic, b, False) for n, b in SINGLE.items()] + [
    Case(n, t, b, True) for n, (b, topics) in MULTI.items() for t in topics
]
KINDS = sorted(garbage("md.trades", CODEC.encode("md.trades", trade())))


def _run(case: Case, values: Sequence[bytes | None]) -> list[OutMsg]:
    stage = case.build()
    if case.multi:
        return list(
            stage.process([TopicMsg(case.topic, 0, i, b"k", v) for i, v in enumerate(values)])
        )
    return list(stage.process([InMsg(0, i, b"k", v) for i, v in enumerate(values)]))


def _comparable(out: OutMsg) -> tuple[str, bytes | None, Any]:
    topic, key, value, _ = out
    if topic.startswith("dlq."):
        return topic, key, "dead letter"
    record = CODEC.decode("md.quotes" if topic == "md.quotes.by-consolidated" else topic, value)
    return topic, key, {k: v for k, v in record.items() if k not in TIME_FIELDS}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.stage}<{c.topic}" for c in CASES])
def test_each_garbage_value_is_one_dead_letter_and_the_valid_records_go_on(case: Case) -> None:
    schema_topic = "md.quotes" if case.topic == "md.quotes.by-consolidated" else case.topic
    valid = [CODEC.encode(schema_topic, r) for r in _valid(case.topic)]
    bad = garbage(case.topic, valid[0])
    clean = _run(case, valid)
    probed = _run(case, [valid[0], *bad.values(), *valid[1:]])
    dead = [o for o in probed if o.topic.startswith("dlq.")]
    clean_dead = [o for o in clean if o.topic.startswith("dlq.")]
    if case.stage == "nbbo-rekey":
        # it forwards a value unread once its key is known, so garbage is either a dead
        # letter here or passed on byte for byte (the NBBO stage dead-letters it there)
        assert len(probed) == len(clean) + len(bad)
        forwarded = [o.value for o in probed if not o.topic.startswith("dlq.")]
        assert [v for v in forwarded if v in valid] == [o.value for o in clean]
        assert {v for v in forwarded if v not in valid} <= set(bad.values())
    else:
        assert len(dead) == len(clean_dead) + len(bad), [o.topic for o in probed]
        assert [_comparable(o) for o in probed if not o.topic.startswith("dlq.")] == [
            _comparable(o) for o in clean if not o.topic.startswith("dlq.")
        ]
    for out in probed:
        assert len(out.value) + len(out.key or b"") <= MAX_MESSAGE_BYTES, out.topic
    for letter in dead[len(clean_dead) :]:
        record = CODEC.decode(letter.topic, letter.value)
        assert record["stage"] == case.stage, record
        assert record["reason"], record


def test_every_kind_of_garbage_is_probed() -> None:
    assert len(KINDS) == 10
    assert {c.stage for c in CASES} == set(SINGLE) | set(MULTI)


@pytest.mark.parametrize("kind", KINDS)
def test_the_normalize_stage_dead_letters_each_garbage_value_and_goes_on(kind: str) -> None:
    msgs = frames(300)
    valid_value = msgs[0].value
    assert valid_value is not None
    bad_value = garbage("md.raw", valid_value)[kind]
    clean = NormalizeStage(CODEC).process(msgs)
    probed = NormalizeStage(CODEC).process(
        [msgs[0], InMsg(0, 10_000, b"binance", bad_value), *msgs[1:]]
    )
    dead = [o for o in probed if o.topic == "dlq.normalize"]
    assert len(dead) == len([o for o in clean if o.topic == "dlq.normalize"]) + 1
    assert [_comparable(o) for o in probed if o.topic != "dlq.normalize"] == [
        _comparable(o) for o in clean if o.topic != "dlq.normalize"
    ]
    assert all(len(o.value) <= MAX_MESSAGE_BYTES for o in probed)
