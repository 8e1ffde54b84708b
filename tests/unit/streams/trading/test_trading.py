"""Trading pure cores and stages without Kafka: strategy, positions/PnL, risk, router."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tapewire.schemas.codec import Codec
from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.router.stage import RouterStage
from tapewire.streams.router.venue import PaperVenueAdapter
from tapewire.streams.stages.base import TopicMsg
from tapewire.streams.stages.positions import PositionsStage
from tapewire.streams.stages.risk import RiskStage
from tapewire.streams.stages.strategy import StrategyStage
from tapewire.streams.trading import CrossVenueSpread, PositionBook, PositionLimits, SpreadConfig
from tests.factories import INST, T0
from tests.factories.market import nbbo, quote, top_book
from tests.factories.orders import (
    approval,
    order_event,
    order_request,
    risk_limits_command,
    trading_state_command,
)
from tests.factories.stages import CODEC, decoded, msgs
from tests.factories.trading import fill, risk_config

D = Decimal


# --- strategy ---------------------------------------------------------------------------


def spread(max_pairs: int = 1) -> CrossVenueSpread:
    return CrossVenueSpread(
        SpreadConfig(INST, ("binance", "okx"), D(50), D("0.5"), account="acct", max_pairs=max_pairs)
    )


def test_spread_emits_one_bounded_pair_with_deterministic_ids() -> None:
    s = spread(max_pairs=2)
    assert s.on_quote(quote("binance", "100", "102")) == []  # one venue: nothing
    assert s.on_quote(quote("okx", "100.5", "102.5", ts=T0 + 1)) == []  # 24.7 bps < 50
    legs = s.on_quote(quote("okx", "101", "103", ts=T0 + 2))  # mids 101 / 102: 99 bps
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
    assert s.on_quote(quote("okx", "101", "103", ts=T0 + 3)) == []
    for leg in legs:
        s.on_record(
            "oms.events",
            order_event(leg.client_order_id, "FILLED", strategy_id="xspread"),
        )
    assert len(s.on_quote(quote("okx", "101", "103", ts=T0 + 4))) == 2
    s.open_legs.clear()
    assert s.on_quote(quote("okx", "101", "103", ts=T0 + 5)) == []  # max_pairs reached
    # the same input gives the same ids (replay -> risk's duplicate rule)
    assert [
        r.client_order_id for r in spread().on_quote(quote("okx", "101", "103", ts=T0 + 2))
    ] == []
    again = spread()
    again.on_quote(quote("binance", "100", "102"))
    assert [r.client_order_id for r in again.on_quote(quote("okx", "101", "103", ts=T0 + 2))] == [
        r.client_order_id for r in legs
    ]


def test_spread_waits_for_a_usable_nbbo_when_told_to() -> None:
    """``wait_for_nbbo``: no pair while the risk gate would deny it for want of an NBBO
    (none yet, crossed, or another instrument's); quotes are kept meanwhile, and a usable
    NBBO is a moment to decide."""
    config = SpreadConfig(INST, ("binance", "okx"), D(50), D("0.5"), wait_for_nbbo=True)
    s = CrossVenueSpread(config)
    assert s.on_quote(quote("binance", "100", "102")) == []
    assert s.on_quote(quote("okx", "101", "103", ts=T0 + 1)) == []  # 99 bps, no NBBO yet
    assert s.on_nbbo(nbbo("101", "102", instrument="ETH-USDT-SPOT")) == []
    assert s.on_quote(quote("okx", "101", "103", ts=T0 + 2)) == []
    s.on_nbbo(nbbo("102", "101"))  # crossed
    assert s.on_quote(quote("okx", "101", "103", ts=T0 + 3)) == []
    assert s.touches.keys() == {"binance", "okx"}
    # the NBBO came after the quotes (another process makes it): deciding on it, ids of its time
    legs = s.on_nbbo(nbbo("101", "102", ts=T0 + 4))
    assert [(r.venue, r.side.value) for r in legs] == [("binance", "BUY"), ("okx", "SELL")]
    assert legs[0].client_order_id == f"xspread:{T0 + 4}:binance:buy"
    assert s.on_quote(quote("okx", "101", "103", ts=T0 + 5)) == []  # the pair is open
    # without wait_for_nbbo an NBBO decides nothing (the quotes do)
    plain = spread()
    plain.on_quote(quote("binance", "100", "102"))
    assert plain.on_nbbo(nbbo("101", "102")) == []
    params = {"instrument": INST, "venues": ["binance", "okx"], "threshold_bps": "1"}
    built = CrossVenueSpread.from_params(params | {"quantity": "1", "wait_for_nbbo": True})
    assert built.config.wait_for_nbbo
    assert not CrossVenueSpread.from_params(params | {"quantity": "1"}).config.wait_for_nbbo


def test_spread_slippage_moves_each_leg_past_its_touch() -> None:
    """``slippage_bps``: the buy limit above the cheap ask, the sell limit below the rich
    bid, exactly (a book that moved a little between the quote and the order still fills)."""
    config = SpreadConfig(INST, ("binance", "okx"), D(50), D("0.5"), slippage_bps=D(20))
    s = CrossVenueSpread(config)
    s.on_quote(quote("binance", "100", "102"))
    legs = s.on_quote(quote("okx", "101", "103", ts=T0 + 2))
    assert [(r.side.value, r.limit_price) for r in legs] == [
        ("BUY", D("102.204")),
        ("SELL", D("100.798")),
    ]
    built = CrossVenueSpread.from_params(
        {"instrument": INST, "venues": ["binance", "okx"], "threshold_bps": "50"}
        | {"quantity": "1", "slippage_bps": "2.5"}
    )
    assert built.config.slippage_bps == D("2.5")
    with pytest.raises(ValueError, match="slippage_bps"):
        SpreadConfig(INST, ("binance", "okx"), D(1), D(1), slippage_bps=D(-1))


def test_spread_ignores_crossed_one_sided_and_foreign_quotes() -> None:
    s = spread()
    s.on_quote(quote("binance", "100", "102"))
    assert s.on_quote(quote("okx", "104", "103")) == []  # crossed venue quote: dropped
    assert "okx" not in s.touches
    assert s.on_quote(quote("okx", "101", "103").replace(ask_price=None)) == []
    assert s.on_quote(quote("kraken", "101", "103")) == []
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
    book.on_approved(approval("o1", reference_price=D(100)))
    up = book.on_fill(fill("f1", "BUY", "100.5", "2", cid="o1", venue="okx"))
    assert [a["code"] for a in up.alerts] == ["POSITION_LIMIT", "SLIPPAGE"]
    assert up.quality[0].slippage == D("0.5")
    assert up.quality[0].slippage_bps == D(50)
    assert book.on_fill(fill("f2", "BUY", "100", "0.1")).alerts == []  # still breached: once
    up = book.on_nbbo(nbbo("90", "91"))
    assert [a["code"] for a in up.alerts] == ["LOSS_LIMIT"]
    assert up.alerts[0]["severity"] == "CRITICAL"


# --- stages without Kafka ---------------------------------------------------------------


def test_stages_intent_to_fill_to_position_and_kill_switch() -> None:
    strategy = StrategyStage(CODEC, [spread()])
    risk = RiskStage(CODEC, risk_config(), clock=lambda: T0 + 10)
    router = RouterStage(
        CODEC, [PaperVenueAdapter(PaperConfig("binance")), PaperVenueAdapter(PaperConfig("okx"))]
    )
    positions = PositionsStage(CODEC)
    assert (
        router.process(
            msgs("md.book", [top_book("binance", "100", "102"), top_book("okx", "101", "103")])
        )
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
    router.process(msgs("md.book", [top_book(v, "100", "102") for v in venues]))
    new = [order_request(f"rest-{v}", venue=v, price="99") for v in venues]
    approved = decoded(
        risk.process(msgs("md.nbbo", [nbbo("100", "102")]) + msgs("oms.requests", new)),
        "oms.approved",
    )
    events = decoded(router.process(msgs("oms.approved", approved)), "oms.events")
    assert [e["status"] for e in events] == ["NEW"] * 3
    risk.process(msgs("oms.events", events))
    assert len(risk.open_orders) == 3
    kill = trading_state_command("kill-1")
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
    req = order_request("o-kraken", venue="kraken", side="SELL", price="101")
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
    command = trading_state_command("cmd-1", "PANIC", account="acct")
    out = risk.process(msgs("oms.requests", [command]))
    assert [a["labels"]["state"] for a in decoded(out, "alerts")] == ["HALTED"]
    assert [d["client_order_id"] for d in decoded(out, "oms.approved")] == ["cmd-1:acct"]
    assert risk.gate.trading_state("acct").value == "HALTED"
    lift = {**command, "client_order_id": "cmd-2", "tags": {"trading_state": "ACTIVE"}}
    out = risk.process(msgs("oms.requests", [lift]))
    assert decoded(out, "oms.approved") == []  # lifting cancels nothing
    assert risk.gate.trading_state("acct").value == "ACTIVE"


def test_limits_command_replaces_an_accounts_limits_and_a_bad_one_changes_nothing() -> None:
    risk = RiskStage(CODEC, risk_config(), clock=lambda: T0 + 10)
    market = msgs("md.nbbo", [nbbo("100", "102")])
    out = risk.process(market + msgs("oms.requests", [order_request("o1", qty=2, price="101")]))
    assert len(decoded(out, "oms.approved")) == 1  # max_order_qty 5
    tighter = risk_config(max_order_qty="1.5").accounts["acct"].model_dump_json()
    out = risk.process(msgs("oms.requests", [risk_limits_command("lim-1", tighter)]))
    (alert,) = decoded(out, "alerts")
    assert (alert["code"], alert["severity"], alert["labels"]["limits"]) == (
        "RISK_LIMITS",
        "WARNING",
        tighter,
    )
    assert decoded(out, "oms.approved") == decoded(out, "oms.denied") == []  # no decision
    assert risk.gate.config.accounts["acct"].instruments[INST].max_order_qty == D("1.5")
    out = risk.process(msgs("oms.requests", [order_request("o2", qty=2, price="101")]))
    assert [d["rule"] for d in decoded(out, "oms.denied")] == ["max_order_qty"]

    bad = tighter.replace('"max_open_orders":10', '"max_open_orders":0')
    assert bad != tighter
    for command, why in (
        (risk_limits_command("lim-2", bad), "max_open_orders"),
        (risk_limits_command("lim-3", "{not json"), "Invalid JSON"),
        (risk_limits_command("lim-4", tighter, account="*"), "name one, not '*'"),
    ):
        (alert,) = decoded(risk.process(msgs("oms.requests", [command])), "alerts")
        assert (alert["code"], alert["severity"]) == ("RISK_LIMITS_REJECTED", "ERROR")
        assert "NOT changed" in alert["message"]
        assert why in alert["message"], alert["message"]
    assert risk.gate.config.accounts["acct"].max_open_orders == 10
    assert risk.gate.config.accounts["acct"].instruments[INST].max_order_qty == D("1.5")


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


def test_kill_switch_cancels_for_an_account_with_a_long_name() -> None:
    account = "desk-emea-market-making-subaccount-07"  # 37 characters
    risk = RiskStage(CODEC, risk_config(account=account), clock=lambda: T0 + 10)
    kill = trading_state_command("kill-halted-0123456789abcdef0123")  # as the CLI makes it
    out = risk.process(msgs("oms.requests", [kill]))
    assert decoded(out, "oms.denied") == []
    (cancel_all,) = decoded(out, "oms.approved")
    cid = cancel_all["client_order_id"]
    assert cancel_all["request"]["account"] == account
    assert len(cid) <= 64
    assert cid.startswith("kill-halted-0123456789abcdef0123:desk-")
    again = decoded(
        RiskStage(CODEC, risk_config(account=account), clock=lambda: T0 + 10).process(
            msgs("oms.requests", [kill])
        ),
        "oms.approved",
    )
    assert again[0]["client_order_id"] == cid  # deterministic: a restart sends the same id


def test_a_huge_client_order_id_never_makes_a_message_the_broker_refuses() -> None:
    risk = RiskStage(CODEC, risk_config(), clock=lambda: T0 + 10)
    huge = order_request("x" * 340_000, price="101")
    out = risk.process(msgs("md.nbbo", [nbbo("100", "102")]) + msgs("oms.requests", [huge]))
    assert decoded(out, "oms.approved") == []
    assert all(len(value) + len(key or b"") <= 950_000 for _, key, value, _ in out)
    dead = decoded(out, "dlq.trading")
    assert [(d["error_type"], d["source_topic"]) for d in dead] == [
        ("RecordTooLarge", "oms.denied")
    ]
    assert dead[0]["labels"]["payload_truncated"] == "true"
