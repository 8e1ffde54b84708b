"""Two sharded trading graphs fed the same oms.requests decide each request once, in the
shard that owns its account; a restarted shard takes back only its own accounts."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from tapewire.records.orders import OrderRequest, ParentOrderEvent
from tapewire.records.risk import RiskDecision
from tapewire.streams.hotpath import build_hot_path
from tapewire.streams.hotpath.restore import TradingHistory
from tapewire.streams.hotpath.worker import HotPath
from tapewire.streams.risk import RiskConfig
from tapewire.streams.stages.base import InMsg
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.trading.config import TradingConfig
from tapewire.streams.trading.shard import shards_of
from tests.factories.market import nbbo
from tests.factories.orders import order_request, trading_state_command
from tests.factories.trading import fill, position, risk_config
from tests.hotpath_cases import CODEC

NOW = 1_900_000_000_000_000_000
SHARDS = shards_of([("a", ["desk-a"]), ("b", ["desk-b"])])


def _graph(index: int) -> HotPath:
    shard = SHARDS[index]
    (account,) = shard.accounts
    limits = risk_config(account=account, price_band_bps=10_000, stale_quote_ms=10**15)
    trading = TradingConfig(risk=RiskConfig(accounts=limits.accounts), clock=lambda: NOW)
    config = StreamsConfig(trading=replace(trading, shard=shard))
    return build_hot_path(CODEC, config, stages=("risk",))


def _decisions(hot: HotPath, records: list[OrderRequest]) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []

    def publish(topic: str, msg: object) -> None:
        value = getattr(msg, "value", b"")
        if topic in ("oms.approved", "oms.denied"):
            decision = CODEC.read(topic, value)
            assert isinstance(decision, RiskDecision)
            out.append((topic, decision.account, decision.client_order_id))

    hot.graph.push("md.nbbo", InMsg(0, 0, None, CODEC.encode("md.nbbo", nbbo(ts=NOW))), publish)
    for i, record in enumerate(records):
        key = CODEC.key("oms.requests", record)
        hot.graph.push(
            "oms.requests", InMsg(0, i, key, CODEC.encode("oms.requests", record)), publish
        )
    return out


def test_each_request_is_decided_once_by_the_shard_of_its_account() -> None:
    requests = [
        order_request("a1", account="desk-a", ts=NOW),
        order_request("b1", account="desk-b", ts=NOW),
        order_request("s1", account="stranger", ts=NOW),
    ]
    a, b = _decisions(_graph(0), requests), _decisions(_graph(1), requests)
    assert a == [("oms.approved", "desk-a", "a1"), ("oms.denied", "stranger", "s1")]
    assert b == [("oms.approved", "desk-b", "b1")]


def test_the_global_kill_switch_halts_every_shard() -> None:
    halt = [trading_state_command("halt", ts=NOW)]
    probe = [
        order_request("a2", account="desk-a", ts=NOW),
        order_request("b2", account="desk-b", ts=NOW),
    ]
    a, b = _graph(0), _graph(1)
    _decisions(a, halt)
    _decisions(b, halt)
    assert _decisions(a, probe) == [("oms.denied", "desk-a", "a2")]
    assert _decisions(b, probe) == [("oms.denied", "desk-b", "b2")]


def _parent_event(account: str) -> ParentOrderEvent:
    one = Decimal(1)
    return ParentOrderEvent(
        event_id=f"{account}:1",
        parent_id=f"{account}-p",
        account=account,
        algo="SOR",
        instrument="BTC-USDT-SPOT",
        side="BUY",
        event_type="ParentNew",
        event="{}",
        status="PENDING_NEW",
        quantity=one,
        cum_qty=Decimal(0),
        leaves_qty=one,
        children=0,
        open_children=0,
        waves=0,
        event_ts_ns=NOW,
    )


def test_a_shard_restores_the_history_of_its_own_accounts_only() -> None:
    history = TradingHistory(
        fills=[fill("fa", account="desk-a"), fill("fb", account="desk-b")],
        positions=[position(account="desk-a"), position(account="desk-b")],
        parent_events=[_parent_event("desk-a"), _parent_event("desk-b")],
    )
    mine = history.owned_by(SHARDS[1])
    assert [f.account for f in mine.fills] == ["desk-b"]
    assert [p.account for p in mine.positions] == ["desk-b"]
    # its parent orders (SOR, algos) too: a restarted shard keeps working them
    assert [p.account for p in mine.parent_events] == ["desk-b"]
