"""Trading pure cores and stages without Kafka: strategy, positions/PnL, risk, router."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import pytest

from tapewire.schemas.codec import Codec
from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.risk import AccountLimits, InstrumentLimits, RiskConfig
from tapewire.streams.router.stage import RouterStage
from tapewire.streams.router.venue import PaperVenueAdapter
from tapewire.streams.stages.base import OutMsg, TopicMsg
from tapewire.streams.stages.positions import PositionsStage
from tapewire.streams.stages.risk import RiskStage
from tapewire.streams.stages.strategy import StrategyStage
from tapewire.streams.trading import CrossVenueSpread, PositionBook, PositionLimits, SpreadConfig

D = Decimal
INST = "BTC-USDT-SPOT"
T0 = 1_700_000_000_000_000_000
CODEC = Codec()


def quote(venue: str, bid: str, ask: str, ts: int = T0) -> dict[str, Any]:
    return {
        "venue": venue,
        "instrument": INST,
        "bid_price": D(bid),
        "bid_size": D(5),
        "ask_price": D(ask),
        "ask_size": D(5),
        "source": "VENUE_BBO",
        "exchange_ts_ns": ts,
        "receive_ts_ns": ts,
        "process_ts_ns": ts,
    }


def fill(fid: str, side: str, price: str, qty: str, fee: str = "0", **kw: Any) -> dict[str, Any]:
    return {
        "fill_id": fid,
        "client_order_id": kw.get("cid", fid),
        "venue_order_id": None,
        "account": "acct",
        "venue": kw.get("venue", "binance"),
        "instrument": INST,
        "side": side,
        "price": D(price),
        "quantity": D(qty),
        "fee": D(fee),
        "fee_currency": "USDT",
        "liquidity": "TAKER",
        "venue_ts_ns": T0,
        "receive_ts_ns": kw.get("ts", T0),
        "strategy_id": None,
    }


def nbbo(bid: str, ask: str, ts: int = T0) -> dict[str, Any]:
    return {
        "instrument": INST,
        "bid_price": D(bid),
        "bid_size": D(1),
        "bid_venue": "okx",
        "ask_price": D(ask),
        "ask_size": D(1),
        "ask_venue": "binance",
        "venue_count": 2,
        "bid_receive_ts_ns": ts,
        "ask_receive_ts_ns": ts,
        "process_ts_ns": ts,
    }


# --- strategy ---------------------------------------------------------------------------


def spread(max_pairs: int = 1) -> CrossVenueSpread:
    return CrossVenueSpread(
        SpreadConfig(INST, ("binance", "okx"), D(50), D("0.5"), account="acct", max_pairs=max_pairs)
    )


def test_spread_emits_one_bounded_pair_with_deterministic_ids() -> None:
    s = spread(max_pairs=2)
    assert s.on_quote(quote("binance", "100", "102")) == []  # one venue: nothing
    assert s.on_quote(quote("okx", "100.5", "102.5", T0 + 1)) == []  # 24.7 bps < 50
    legs = s.on_quote(quote("okx", "101", "103", T0 + 2))  # mids 101 / 102: 99 bps
    assert [(r.venue, r.side.value, r.limit_price, r.quantity) for r in legs] == [
        ("binance", "BUY", D(102), D("0.5")),
        ("okx", "SELL", D(101), D("0.5")),
    ]
    assert [r.client_order_id for r in legs] == [
        f"xspread:{T0 + 2}:binance:buy",
        f"xspread:{T0 + 2}:okx:sell",
    ]
    assert legs[0].time_in_force.value == "IOC"
    assert legs[0].strategy_id == "xspread"
    assert legs[0].tags["divergence_bps"].startswith("99.0099")
    # a second signal while the pair is open: nothing
    assert s.on_quote(quote("okx", "101", "103", T0 + 3)) == []
    for leg in legs:
        s.on_record(
            "oms.events",
            {"strategy_id": "xspread", "client_order_id": leg.client_order_id, "status": "FILLED"},
        )
    assert len(s.on_quote(quote("okx", "101", "103", T0 + 4))) == 2
    s.open_legs.clear()
    assert s.on_quote(quote("okx", "101", "103", T0 + 5)) == []  # max_pairs reached
    # the same input gives the same ids (replay -> risk's duplicate rule)
    assert [r.client_order_id for r in spread().on_quote(quote("okx", "101", "103", T0 + 2))] == []
    again = spread()
    again.on_quote(quote("binance", "100", "102"))
    assert [r.client_order_id for r in again.on_quote(quote("okx", "101", "103", T0 + 2))] == [
        r.client_order_id for r in legs
    ]


def test_spread_ignores_crossed_one_sided_and_foreign_quotes() -> None:
    s = spread()
    s.on_quote(quote("binance", "100", "102"))
    assert s.on_quote(quote("okx", "104", "103")) == []  # crossed venue quote: dropped
    assert "okx" not in s.touches
    assert s.on_quote({**quote("okx", "101", "103"), "ask_price": None}) == []
    assert s.on_quote({**quote("kraken", "101", "103")}) == []
    with pytest.raises(ValueError, match="two distinct venues"):
        SpreadConfig(INST, ("binance",), D(1), D(1))


# --- positions --------------------------------------------------------------------------


def test_average_cost_realized_unrealized_fees_and_flip() -> None:
    book = PositionBook()
    book.on_nbbo(nbbo("103", "105"))
    up = book.on_fill(fill("f1", "BUY", "100", "1", fee="0.1"))
    assert up.positions[0]["avg_price"] == D(100)
    assert up.positions[0]["unrealized_pnl"] == D(4)  # marked at mid 104 on open
    up = book.on_fill(fill("f2", "BUY", "102", "1", fee="0.1"))
    pos = up.positions[0]
    assert (pos["quantity"], pos["avg_price"], pos["fees"]) == (D(2), D(101), D("0.2"))
    up = book.on_fill(fill("f3", "SELL", "105", "1.5"))
    pos = up.positions[0]
    assert (pos["quantity"], pos["avg_price"], pos["realized_pnl"]) == (D("0.5"), D(101), D(6))
    assert pos["unrealized_pnl"] == D("1.5")  # (104 - 101) * 0.5
    up = book.on_fill(fill("f4", "SELL", "99", "1.5"))  # flip to -1 at 99
    pos = up.positions[0]
    assert (pos["quantity"], pos["avg_price"], pos["realized_pnl"]) == (D(-1), D(99), D(5))
    assert book.on_fill(fill("f4", "SELL", "99", "1.5")).positions == []  # duplicate fill
    up = book.on_nbbo(nbbo("97", "98"))
    assert up.positions[0]["unrealized_pnl"] == D("1.5")  # (97.5 - 99) * -1
    assert up.positions[0]["mark_price"] == D("97.5")
    assert book.on_nbbo(nbbo("97", "98")).positions == []  # same mid: no re-mark
    assert book.exposure("acct") == {"BTC": D(-1), "USDT": D("5") - D("0.2") + D(99)}
    up = book.on_fill(fill("f5", "BUY", "98", "1"))
    assert up.positions[0]["quantity"] == 0
    assert up.positions[0]["avg_price"] is None
    assert up.positions[0]["realized_pnl"] == D(6)


def test_exact_decimals_beyond_28_digits() -> None:
    book = PositionBook()
    book.on_fill(
        fill("a", "BUY", "12345678901234567890.123456789012345678", "0.000000000000000001")
    )
    up = book.on_fill(
        fill("b", "SELL", "12345678901234567891.123456789012345678", "0.000000000000000001")
    )
    assert up.positions[0]["realized_pnl"] == D("0.000000000000000001")


def test_alerts_on_breaches_and_slippage_against_arrival_mid() -> None:
    limits = PositionLimits(max_position={INST: D(1)}, max_loss=D(10), max_slippage_bps=D(20))
    book = PositionBook(limits)
    book.on_approved(
        {
            "decision": "APPROVED",
            "reference_price": D(100),
            "request": {"action": "NEW", "account": "acct", "client_order_id": "o1"},
        }
    )
    up = book.on_fill(fill("f1", "BUY", "100.5", "2", cid="o1", venue="okx"))
    assert [a["code"] for a in up.alerts] == ["POSITION_LIMIT", "SLIPPAGE"]
    assert up.quality[0].slippage == D("0.5")
    assert up.quality[0].slippage_bps == D(50)
    assert book.on_fill(fill("f2", "BUY", "100", "0.1")).alerts == []  # still breached: once
    up = book.on_nbbo(nbbo("90", "91"))
    assert [a["code"] for a in up.alerts] == ["LOSS_LIMIT"]
    assert up.alerts[0]["severity"] == "CRITICAL"


# --- stages without Kafka ---------------------------------------------------------------


def risk_config() -> RiskConfig:
    limits = InstrumentLimits(
        max_order_qty=D(5), max_order_notional=D(10_000), max_position=D(10), price_band_bps=D(500)
    )
    return RiskConfig(
        accounts={
            "acct": AccountLimits(
                instruments={INST: limits},
                max_open_orders=10,
                max_orders_per_window=100,
                rate_window_ms=1000,
                daily_loss_limit=D(1000),
                stale_quote_ms=60_000,
            )
        }
    )


def msgs(topic: str, records: Iterable[dict[str, Any]]) -> list[TopicMsg]:
    return [TopicMsg(topic, 0, i, None, CODEC.encode(topic, r)) for i, r in enumerate(records)]


def decoded(out: Sequence[OutMsg], topic: str) -> list[dict[str, Any]]:
    return [CODEC.decode(topic, v) for t, _, v in out if t == topic]


def book(venue: str, bid: str, ask: str, ts: int = T0) -> dict[str, Any]:
    return {
        "venue": venue,
        "instrument": INST,
        "kind": "SNAPSHOT",
        "bids": [{"price": D(bid), "size": D(1)}],
        "asks": [{"price": D(ask), "size": D(1)}],
        "depth": None,
        "first_sequence": None,
        "last_sequence": None,
        "prev_sequence": None,
        "checksum": None,
        "exchange_ts_ns": ts,
        "receive_ts_ns": ts,
        "process_ts_ns": ts,
    }


def test_stages_intent_to_fill_to_position_and_kill_switch() -> None:
    strategy = StrategyStage(CODEC, [spread()])
    risk = RiskStage(CODEC, risk_config(), clock=lambda: T0 + 10)
    router = RouterStage(
        CODEC, [PaperVenueAdapter(PaperConfig("binance")), PaperVenueAdapter(PaperConfig("okx"))]
    )
    positions = PositionsStage(CODEC)
    assert (
        router.process(msgs("md.book", [book("binance", "100", "102"), book("okx", "101", "103")]))
        == []
    )
    intents = strategy.process(
        msgs("md.quotes", [quote("binance", "100", "102"), quote("okx", "101", "103")])
    )
    requests = decoded(intents, "oms.requests")
    assert len(requests) == 2
    out = risk.process(msgs("md.nbbo", [nbbo("101", "102")]) + msgs("oms.requests", requests))
    approved = decoded(out, "oms.approved")
    assert [d["decision"] for d in approved] == ["APPROVED", "APPROVED"]
    assert approved[0]["reference_price"] == D("101.5")
    reports = router.process(msgs("oms.approved", approved))
    events, fills = decoded(reports, "oms.events"), decoded(reports, "oms.fills")
    assert [(e["venue"], e["status"]) for e in events] == [
        ("binance", "NEW"),
        ("binance", "FILLED"),
        ("okx", "NEW"),
        ("okx", "FILLED"),
    ]
    assert [(f["venue"], f["side"], f["price"], f["quantity"]) for f in fills] == [
        ("binance", "BUY", D(102), D("0.5")),
        ("okx", "SELL", D(101), D("0.5")),
    ]
    pos_out = positions.process(
        msgs("oms.approved", approved)
        + msgs("oms.fills", fills)
        + msgs("md.nbbo", [nbbo("101", "102")])
    )
    pos = decoded(pos_out, "positions")
    assert [(p["venue"], p["quantity"], p["avg_price"]) for p in pos[:2]] == [
        ("binance", D("0.5"), D(102)),
        ("okx", D("-0.5"), D(101)),
    ]
    assert positions.book.net("acct", INST) == 0
    # fail closed: a DENIED decision that somehow lands on oms.approved is refused
    denied = {**approved[0], "decision": "DENIED", "decision_id": "x"}
    refused = router.process(msgs("oms.approved", [denied]))
    assert decoded(refused, "oms.events") == []
    assert [a["code"] for a in decoded(refused, "alerts")] == ["ROUTER_REFUSED"]
    assert len(decoded(refused, "dlq.trading")) == 1


def test_kill_switch_cancels_everywhere_and_denies_afterwards() -> None:
    venues = ["binance", "okx", "kraken"]
    risk = RiskStage(CODEC, risk_config(), clock=lambda: T0 + 10)
    router = RouterStage(CODEC, [PaperVenueAdapter(PaperConfig(v)) for v in venues])
    router.process(msgs("md.book", [book(v, "100", "102") for v in venues]))
    new: list[dict[str, Any]] = [
        {
            "client_order_id": f"rest-{v}",
            "account": "acct",
            "venue": v,
            "instrument": INST,
            "action": "NEW",
            "orig_client_order_id": None,
            "side": "BUY",
            "order_type": "LIMIT",
            "time_in_force": "GTC",
            "quantity": D(1),
            "limit_price": D(99),
            "stop_price": None,
            "trailing_offset": None,
            "trailing_offset_type": None,
            "post_only": False,
            "reduce_only": False,
            "expire_ts_ns": None,
            "strategy_id": None,
            "requested_by": "test",
            "request_ts_ns": T0,
            "tags": {},
        }
        for v in venues
    ]
    approved = decoded(
        risk.process(msgs("md.nbbo", [nbbo("100", "102")]) + msgs("oms.requests", new)),
        "oms.approved",
    )
    events = decoded(router.process(msgs("oms.approved", approved)), "oms.events")
    assert [e["status"] for e in events] == ["NEW"] * 3
    risk.process(msgs("oms.events", events))
    assert len(risk.open_orders) == 3
    kill = {
        **new[0],
        "client_order_id": "kill-1",
        "account": "*",
        "venue": "",
        "instrument": "",
        "action": "CANCEL_ALL",
        "limit_price": None,
        "requested_by": "cli:ops",
        "tags": {"trading_state": "HALTED"},
    }
    out = risk.process(msgs("oms.requests", [kill]))
    assert [a["code"] for a in decoded(out, "alerts")] == ["TRADING_STATE"]
    cancel_all = decoded(out, "oms.approved")
    assert [(d["client_order_id"], d["trading_state"]) for d in cancel_all] == [
        ("kill-1:acct", "HALTED")
    ]
    cancels = decoded(router.process(msgs("oms.approved", cancel_all)), "oms.events")
    assert sorted((e["venue"], e["client_order_id"], e["status"]) for e in cancels) == [
        (v, f"rest-{v}", "CANCELED") for v in sorted(venues)
    ]
    after = {**new[0], "client_order_id": "after-kill"}
    denied = decoded(risk.process(msgs("oms.requests", [after])), "oms.denied")
    assert [(d["rule"], d["trading_state"]) for d in denied] == [("trading_state", "HALTED")]


def test_router_rejects_unknown_venue_and_dead_letters_garbage() -> None:
    router = RouterStage(CODEC, [PaperVenueAdapter(PaperConfig("binance"))])
    risk = RiskStage(CODEC, risk_config(), clock=lambda: T0 + 10)
    req: dict[str, Any] = {
        "client_order_id": "o-kraken",
        "account": "acct",
        "venue": "kraken",
        "instrument": INST,
        "action": "NEW",
        "orig_client_order_id": None,
        "side": "SELL",
        "order_type": "LIMIT",
        "time_in_force": "GTC",
        "quantity": D(1),
        "limit_price": D(101),
        "stop_price": None,
        "trailing_offset": None,
        "trailing_offset_type": None,
        "post_only": False,
        "reduce_only": False,
        "expire_ts_ns": None,
        "strategy_id": None,
        "requested_by": "test",
        "request_ts_ns": T0,
        "tags": {},
    }
    approved = decoded(
        risk.process(msgs("md.nbbo", [nbbo("100", "102")]) + msgs("oms.requests", [req])),
        "oms.approved",
    )
    out = router.process(msgs("oms.approved", approved))
    events = decoded(out, "oms.events")
    assert [(e["status"], e["exec_type"], e["text"]) for e in events] == [
        ("REJECTED", "REJECTED", "no venue 'kraken' configured on this router")
    ]
    garbage = router.process([TopicMsg("oms.approved", 0, 9, b"k", b"\x00garbage")])
    dead = decoded(garbage, "dlq.trading")
    assert [(d["error_type"], d["source_topic"]) for d in dead] == [("DecodeError", "oms.approved")]


def test_state_commands_garbled_halts_and_active_lifts() -> None:
    risk = RiskStage(CODEC, risk_config(), clock=lambda: T0 + 10)
    command: dict[str, Any] = {
        "client_order_id": "cmd-1",
        "account": "acct",
        "venue": "",
        "instrument": "",
        "action": "CANCEL_ALL",
        "orig_client_order_id": None,
        "side": "BUY",
        "order_type": "MARKET",
        "time_in_force": "GTC",
        "quantity": D(0),
        "limit_price": None,
        "stop_price": None,
        "trailing_offset": None,
        "trailing_offset_type": None,
        "post_only": False,
        "reduce_only": False,
        "expire_ts_ns": None,
        "strategy_id": None,
        "requested_by": "cli:ops",
        "request_ts_ns": T0,
        "tags": {"trading_state": "PANIC"},
    }
    out = risk.process(msgs("oms.requests", [command]))
    assert [a["labels"]["state"] for a in decoded(out, "alerts")] == ["HALTED"]
    assert [d["client_order_id"] for d in decoded(out, "oms.approved")] == ["cmd-1:acct"]
    assert risk.gate.trading_state("acct").value == "HALTED"
    lift = {**command, "client_order_id": "cmd-2", "tags": {"trading_state": "ACTIVE"}}
    out = risk.process(msgs("oms.requests", [lift]))
    assert decoded(out, "oms.approved") == []  # lifting cancels nothing
    assert risk.gate.trading_state("acct").value == "ACTIVE"


def test_position_records_fit_the_wire_when_pnl_has_more_than_18_places() -> None:
    """Products of 18-place prices and sizes have up to 36 places: the record rounds them
    half-even to 18 (the demo found positions dead-lettered without this)."""
    book = PositionBook()
    book.on_nbbo(nbbo("65000.01", "65000.04"))  # mid 65000.025
    book.on_fill(fill("p1", "BUY", "65000.03", "0.010000000000000001"))
    up = book.on_fill(fill("p2", "BUY", "65000.07", "0.013333333333333333"))
    record = up.positions[0]
    codec = Codec()
    decoded = codec.decode("positions", codec.encode("positions", record))
    assert decoded["unrealized_pnl"] == record["unrealized_pnl"]
    assert -int(record["unrealized_pnl"].as_tuple().exponent) <= 18
    exact = (D("65000.025") - record["avg_price"]) * record["quantity"]
    assert abs(record["unrealized_pnl"] - exact) <= D("0.0000000000000000005")
