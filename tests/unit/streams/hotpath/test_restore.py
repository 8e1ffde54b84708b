"""A restarted trading graph rebuilt from its own output equals the one that never stopped:
open paper orders, risk's open orders, positions and daily PnL, used ids, trading state."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tapewire.records.orders import Fill, OrderEvent
from tapewire.records.positions import Position
from tapewire.records.risk import Alert, RiskDecision
from tapewire.streams.execution.paper import PaperVenue
from tapewire.streams.hotpath import build_hot_path
from tapewire.streams.hotpath.restore import TradingHistory, restore_trading
from tapewire.streams.hotpath.worker import HotPath
from tapewire.streams.router.stage import RouterStage
from tapewire.streams.router.venue import PaperVenueAdapter
from tapewire.streams.stages.base import InMsg, OutMsg
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.stages.positions import PositionsStage
from tapewire.streams.stages.risk import RiskStage
from tests.factories.orders import risk_limits_command
from tests.hotpath_cases import CODEC, config, frames, kill_switch

TRADING = ("strategy", "risk", "router", "positions")
NOW = 1_900_000_000_000_000_000


def _config() -> StreamsConfig:
    base = config(prefix="")
    assert base.trading is not None
    return replace(base, trading=replace(base.trading, clock=lambda: NOW))


def _market() -> list[tuple[str, InMsg]]:
    """The md.* messages the normalize and NBBO stages make of the seeded frames."""
    graph = build_hot_path(CODEC, _config(), stages=("normalize", "nbbo")).graph
    out: list[tuple[str, InMsg]] = []
    for msg in frames(1500):
        graph.push(
            "md.raw",
            msg,
            lambda t, m: (
                out.append((t, InMsg(0, len(out), m.key, m.value)))
                if t in ("md.quotes", "md.nbbo", "md.book", "md.trades")
                else None
            ),
        )
    return out


def _run(hot: HotPath, messages: list[tuple[str, InMsg]]) -> list[tuple[str, OutMsg]]:
    published: list[tuple[str, OutMsg]] = []
    for topic, msg in messages:
        hot.graph.push(topic, msg, lambda t, m: published.append((t, m)))
    return published


def _history(published: list[tuple[str, OutMsg]]) -> TradingHistory:
    history = TradingHistory()
    for topic, out in published:
        record = CODEC.read(topic, out.value)
        if topic == "oms.events" and isinstance(record, OrderEvent):
            history.events.append(record)
        elif topic == "oms.fills" and isinstance(record, Fill):
            history.fills.append(record)
        elif topic == "positions" and isinstance(record, Position):
            history.positions.append(record)
        elif topic == "alerts" and isinstance(record, Alert):
            history.alerts.append(record)
        elif topic == "oms.approved" and isinstance(record, RiskDecision):
            history.approvals.append(record)
        elif topic == "oms.denied" and isinstance(record, RiskDecision):
            history.denials.append(record)
    return history


def _paper(hot: HotPath, venue: str) -> PaperVenue:
    router = hot.stages["router"]
    assert isinstance(router, RouterStage)
    adapter = router.venues[venue]
    assert isinstance(adapter, PaperVenueAdapter)
    return adapter.paper


def _state(hot: HotPath) -> dict[str, Any]:
    risk, positions, router = hot.stages["risk"], hot.stages["positions"], hot.stages["router"]
    assert isinstance(risk, RiskStage)
    assert isinstance(positions, PositionsStage)
    assert isinstance(router, RouterStage)
    paper = {
        venue: sorted(
            (cid, o.status, o.cum, o.leaves, o.venue_order_id, o.n_events, o.n_fills)
            for cid, o in _paper(hot, venue).orders.items()
            if o.is_open
        )
        for venue in ("binance", "okx")
    }
    return {
        "paper open orders": paper,
        "paper positions": {v: _paper(hot, v).positions for v in ("binance", "okx")},
        "risk open orders": risk.open_orders,
        "risk positions": risk.positions,
        "daily pnl": risk.daily_pnl.pnl("acct", NOW),
        "trading state": risk.gate.trading_state("acct"),
        "positions": {
            k: (p.quantity, p.avg_price, p.realized_pnl, p.fees, p.last_fill_id)
            for k, p in positions.book.positions.items()
        },
        "router known": router.known,
    }


def test_a_restored_trading_graph_has_the_state_of_the_one_that_never_stopped() -> None:
    market = _market()
    half = len(market) // 2
    before = build_hot_path(CODEC, _config(), stages=TRADING)
    published = _run(before, market[:half])
    history = _history(published)
    assert history.fills
    assert any(e.status == "NEW" and e.venue == "okx" for e in history.events)

    after = build_hot_path(CODEC, _config(), stages=TRADING)
    summary = restore_trading(after, history, NOW)
    assert summary.restored_orders  # okx's resting orders
    assert summary.reconciled == 0
    assert not summary.outputs
    assert _state(after) == _state(before)
    # a new order never reuses a venue order id given out before the restart (final or not)
    for venue in ("binance", "okx"):
        given = [e.venue_order_id for e in history.events if e.venue == venue and e.venue_order_id]
        assert given
        used = max(int(v.rpartition("-")[2]) for v in given)
        assert _paper(after, venue)._seq >= used

    # a request decided before the restart is a duplicate after it (never a 2nd order)
    first = history.approvals[0].request
    redelivered = [("oms.requests", InMsg(0, 0, None, CODEC.encode("oms.requests", first)))]
    (denied,) = [CODEC.read(t, m.value) for t, m in _run(after, redelivered) if t == "oms.denied"]
    assert isinstance(denied, RiskDecision)
    assert denied.rule == "duplicate_client_order_id"


def test_a_halted_desk_stays_halted_after_a_restart() -> None:
    before = build_hot_path(CODEC, _config(), stages=TRADING)
    published = _run(before, [("oms.requests", InMsg(0, 0, None, kill_switch(NOW)))])
    history = _history(published)
    assert [a.code for a in history.alerts] == ["TRADING_STATE"]
    after = build_hot_path(CODEC, _config(), stages=TRADING)
    summary = restore_trading(after, history, NOW)
    assert summary.trading_states == {"*": "HALTED"}
    risk = after.stages["risk"]
    assert isinstance(risk, RiskStage)
    assert str(risk.gate.trading_state("acct")) == "HALTED"


def test_limits_changed_at_run_time_survive_a_restart() -> None:
    before = build_hot_path(CODEC, _config(), stages=TRADING)
    risk = before.stages["risk"]
    assert isinstance(risk, RiskStage)
    (account,) = risk.gate.config.accounts
    limits = risk.gate.config.accounts[account]
    changed = limits.model_copy(update={"max_open_orders": limits.max_open_orders + 7})
    command = risk_limits_command("lim-1", changed.model_dump_json(), account=account)
    published = _run(
        before, [("oms.requests", InMsg(0, 0, None, CODEC.encode("oms.requests", command)))]
    )
    history = _history(published)
    assert [a.code for a in history.alerts] == ["RISK_LIMITS"]
    after = build_hot_path(CODEC, _config(), stages=TRADING)
    restore_trading(after, history, NOW)
    restored = after.stages["risk"]
    assert isinstance(restored, RiskStage)
    assert restored.gate.config.accounts[account] == changed != limits


def test_a_second_restart_does_not_quarantine_an_order_again() -> None:
    """Killed after an approval and before its order's events: the first restart
    quarantines the order (the paper venue never held it); a second restart knows the
    answer from ``oms.events`` and reports nothing more (no second ``UNKNOWN`` event, no
    second alert). Issue 10's fault suite saw the order twice in ``order_events``."""
    before = build_hot_path(CODEC, _config(), stages=TRADING)
    published = _run(before, _market())
    cut = next(i for i, (topic, _) in enumerate(published) if topic == "oms.approved")
    history = _history(published[: cut + 1])  # the crash: the approval, not its events
    (approval,) = history.approvals
    cid = approval.client_order_id

    first = build_hot_path(CODEC, _config(), stages=TRADING)
    summary = restore_trading(first, history, NOW)
    assert summary.reconciled == 1
    answers = _history([(out.topic, out) for out in summary.outputs])
    assert [(e.client_order_id, e.status, e.exec_type) for e in answers.events] == [
        (cid, "UNKNOWN", "ORDER_STATUS")
    ]
    assert [a.code for a in answers.alerts] == ["ORDER_QUARANTINED"]

    history.events += answers.events
    history.alerts += answers.alerts
    second = build_hot_path(CODEC, _config(), stages=TRADING)
    again = restore_trading(second, history, NOW)
    assert again.reconciled == 1  # still asked: a venue that finds it would release it
    assert again.outputs == []
    # still never sent again: known to the router, refused by the paper venue
    router = second.stages["router"]
    assert isinstance(router, RouterStage)
    assert (approval.account, cid) in router.known
    assert cid in _paper(second, approval.request.venue)._seen
