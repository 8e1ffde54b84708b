"""The TCA core on hand-computed orders: every figure exact, to the last of 18 places.

Each test writes its arithmetic out; ``s`` is +1 for a buy, -1 for a sell, ``A`` the
arrival mid, ``N`` the fills' notional, ``F`` the filled and ``Q`` the ordered quantity.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from tapewire.core.errors import ConfigError
from tapewire.records.tca import TcaReport
from tapewire.streams.sor.routing import PARENT_TAG, QTY_TAG
from tapewire.streams.tca import PARENT_TAGS, QTY_SUFFIX, TcaConfig, TcaEngine
from tests.factories import T0
from tests.factories.market import nbbo, quote, trade
from tests.factories.orders import approval, order_event, order_request
from tests.factories.trading import fill

D = Decimal


def _approve(
    engine: TcaEngine, cid: str, *, ref: str | None = None, **request: Any
) -> list[TcaReport]:
    req = order_request(cid, **request)
    return engine.on_approved(
        approval(cid, request=req, reference_price=None if ref is None else D(ref))
    )


def _done(cid: str, status: str, cum: str, *, qty: str, ts: int, **changes: Any) -> Any:
    return order_event(
        cid,
        status,
        n=9,
        cum_qty=D(cum),
        leaves_qty=D(0),
        quantity=D(qty),
        event_ts_ns=ts,
        **changes,
    )


def test_partial_buy_with_quote_currency_fees_against_arrival_vwap_and_end_mid() -> None:
    tca = TcaEngine()
    tca.on_nbbo(nbbo("100", "101", ts=T0))  # A = 100.5
    tca.on_trade(trade("90", "100", ts=T0 + 5))  # before arrival: not in the interval
    assert _approve(tca, "o1", qty="2", ts=T0 + 10, strategy_id="s1") == []
    tca.on_trade(trade("101", "3", ts=T0 + 20))
    tca.on_trade(trade("102", "1", ts=T0 + 30, venue="okx"))  # every venue counts
    assert tca.on_fill(fill("f1", price="101", qty="1", fee="0.101", cid="o1", ts=T0 + 40)) == []
    tca.on_nbbo(nbbo("102", "103", ts=T0 + 45))  # E = 102.5
    assert tca.on_fill(fill("f2", price="102", qty="0.5", fee="0.051", cid="o1", ts=T0 + 50)) == []
    (r,) = tca.on_event(_done("o1", "CANCELED", "1.5", qty="2", ts=T0 + 60))
    assert (r.tca_id, r.kind, r.status, r.strategy_id) == (
        "order:acct:o1",
        "ORDER",
        "CANCELED",
        "s1",
    )
    assert (r.quantity, r.filled_qty, r.notional) == (D(2), D("1.5"), D(152))  # N = 101 + 51
    assert r.fill_ratio == D("0.75")
    assert r.avg_price == D("101.333333333333333333")  # 152 / 1.5, half-even
    assert (r.arrival_mid, r.arrival_source, r.arrival_quote_ts_ns) == (D("100.5"), "NBBO", T0)
    assert (r.arrival_ts_ns, r.end_ts_ns, r.end_mid) == (T0 + 10, T0 + 60, D("102.5"))
    # interval: 101 x 3 + 102 x 1 = 405 over 4
    assert (r.interval_trades, r.interval_volume, r.interval_vwap) == (2, D(4), D("101.25"))
    assert r.execution_cost == D("1.25")  # 152 - 1.5 x 100.5
    assert r.slippage_arrival_bps == D("82.918739635157545605")  # 1.25e4 / 150.75
    # (N Vq - F Vn) / (F Vn) = (608 - 607.5) / 607.5 x 1e4
    assert r.slippage_vwap_bps == D("8.230452674897119342")
    assert (r.fees, r.fees_quote, r.quote_currency) == ({"USDT": D("0.152")}, D("0.152"), "USDT")
    assert r.opportunity_cost == D(1)  # (2 - 1.5) x (102.5 - 100.5)
    # (1.25 + 0.152 + 1) / (2 x 100.5) x 1e4 = 24020 / 201
    assert r.shortfall_bps == D("119.502487562189054726")
    assert r.venue_mix == {"binance": D(1)}
    assert r.note is None
    assert tca.open_orders == 0


def test_sell_with_base_currency_fee_on_the_venue_quote_waits_for_its_fill() -> None:
    tca = TcaEngine()
    tca.on_quote(quote("okx", "200", "202", ts=T0))  # no NBBO: the venue's quote, A = 201
    _approve(tca, "s1", venue="okx", side="SELL", qty="1", ts=T0 + 10)
    # the venue reports FILLED before the fill record of the same execution: wait for it
    assert tca.on_event(_done("s1", "FILLED", "1", qty="1", ts=T0 + 20, venue="okx")) == []
    (r,) = tca.on_fill(
        fill(
            "f1",
            "SELL",
            "200",
            "1",
            fee="0.001",
            fee_currency="BTC",
            cid="s1",
            venue="okx",
            ts=T0 + 20,
        )
    )
    assert (r.arrival_mid, r.arrival_source, r.venue) == (D(201), "QUOTE", "okx")
    assert r.execution_cost == D(1)  # s (N - F A) = -(200 - 201): sold below the mid
    assert r.slippage_arrival_bps == D("49.751243781094527363")  # 1e4 / 201
    assert (r.fees, r.fees_quote) == ({"BTC": D("0.001")}, D("0.2"))  # 0.001 BTC x 200
    assert r.opportunity_cost == D(0)
    assert r.shortfall_bps == D("59.701492537313432836")  # (1 + 0.2) / 201 x 1e4
    assert (r.interval_vwap, r.slippage_vwap_bps, r.interval_trades) == (None, None, 0)
    assert r.note == "no market trade in the interval: no VWAP"
    assert (r.fill_ratio, r.venue_mix) == (D(1), {"okx": D(1)})


def test_no_quote_at_arrival_gives_null_arrival_figures_and_says_why() -> None:
    tca = TcaEngine()
    tca.on_nbbo(nbbo("100", "101", ts=T0 + 100))  # after the request: not an arrival price
    _approve(tca, "o1", qty="1", ts=T0)
    tca.on_fill(fill("f1", price="101", qty="1", fee="0.1", cid="o1", ts=T0 + 200))
    (r,) = tca.on_event(_done("o1", "FILLED", "1", qty="1", ts=T0 + 200))
    assert (r.arrival_mid, r.arrival_source, r.arrival_quote_ts_ns) == (None, "NONE", None)
    assert (r.execution_cost, r.slippage_arrival_bps, r.shortfall_bps) == (None, None, None)
    assert (r.avg_price, r.fees_quote, r.end_mid) == (D(101), D("0.1"), D("100.5"))
    assert r.note is not None
    assert "no arrival mid" in r.note


def test_without_market_data_the_risk_gates_reference_mid_is_the_arrival() -> None:
    tca = TcaEngine()
    _approve(tca, "o1", qty="1", ts=T0, ref="100")
    tca.on_fill(fill("f1", price="100.02", qty="1", cid="o1"))
    (r,) = tca.on_event(_done("o1", "FILLED", "1", qty="1", ts=T0 + 1))
    assert (r.arrival_mid, r.arrival_source) == (D(100), "RISK_REFERENCE")
    assert r.slippage_arrival_bps == D(2)  # 0.02 / 100 x 1e4


def test_fees_in_a_third_currency_are_kept_but_not_priced() -> None:
    tca = TcaEngine()
    tca.on_nbbo(nbbo("100", "100", ts=T0))
    _approve(tca, "o1", qty="1", ts=T0)
    tca.on_fill(fill("f1", price="100", qty="1", fee="0.0003", fee_currency="BNB", cid="o1"))
    (r,) = tca.on_event(_done("o1", "FILLED", "1", qty="1", ts=T0))
    assert (r.fees, r.fees_quote, r.shortfall_bps) == ({"BNB": D("0.0003")}, D(0), D(0))
    assert r.note is not None
    assert "fees in BNB not converted to USDT" in r.note


def test_a_rejected_order_costs_its_opportunity_only() -> None:
    tca = TcaEngine()
    tca.on_nbbo(nbbo("100", "101", ts=T0))
    _approve(tca, "o1", side="SELL", qty="2", ts=T0)
    tca.on_nbbo(nbbo("99", "100", ts=T0 + 5))
    (r,) = tca.on_event(_done("o1", "REJECTED", "0", qty="2", ts=T0 + 5, side="SELL"))
    assert (r.filled_qty, r.avg_price, r.slippage_arrival_bps, r.fill_ratio) == (
        D(0),
        None,
        None,
        D(0),
    )
    assert r.opportunity_cost == D(2)  # -1 x 2 x (99.5 - 100.5): the market fell, a sell lost
    assert r.shortfall_bps == D("99.502487562189054726")  # 2 / (2 x 100.5) x 1e4
    assert r.venue_mix == {}


def test_a_redelivered_fill_counts_once_and_late_records_are_ignored() -> None:
    tca = TcaEngine()
    tca.on_nbbo(nbbo("100", "100", ts=T0))
    _approve(tca, "o1", qty="1", ts=T0)
    tca.on_fill(fill("f1", price="100", qty="0.5", cid="o1"))
    tca.on_fill(fill("f1", price="100", qty="0.5", cid="o1"))  # the same fill again
    assert tca.on_event(_done("o1", "FILLED", "1", qty="1", ts=T0)) == []
    (r,) = tca.on_fill(fill("f2", price="101", qty="0.5", cid="o1"))
    assert (r.filled_qty, r.notional) == (D(1), D("100.5"))
    assert tca.on_fill(fill("f2", price="101", qty="0.5", cid="o1")) == []
    assert tca.on_event(_done("o1", "FILLED", "1", qty="1", ts=T0)) == []
    assert tca.stats.late == 2


def test_reports_from_execution_reports_alone_say_no_approval_was_seen() -> None:
    tca = TcaEngine()
    tca.on_nbbo(nbbo("100", "100", ts=T0))
    tca.on_fill(fill("f1", price="100", qty="1", cid="o1", ts=T0 + 1))
    (r,) = tca.on_event(_done("o1", "FILLED", "1", qty="1", ts=T0 + 2))
    assert (r.arrival_ts_ns, r.quantity, r.arrival_mid) == (T0 + 1, D(1), D(100))
    assert r.note is not None
    assert "no approval seen" in r.note


def test_the_open_order_bound_reports_the_oldest_as_evicted() -> None:
    tca = TcaEngine(TcaConfig(max_open_orders=1))
    _approve(tca, "o1", qty="1", ts=T0)
    (r,) = _approve(tca, "o2", qty="1", ts=T0 + 1)
    assert (r.order_id, r.status) == ("o1", "PENDING_NEW")
    assert r.note is not None
    assert "evicted before a terminal state" in r.note
    assert (tca.open_orders, tca.stats.evicted) == (1, 1)


def test_a_replaced_order_goes_on_under_its_new_id_with_its_first_arrival() -> None:
    tca = TcaEngine()
    tca.on_nbbo(nbbo("100", "100", ts=T0))
    _approve(tca, "o1", qty="1", ts=T0)
    tca.on_fill(fill("f1", price="100", qty="1", cid="o1"))
    tca.on_nbbo(nbbo("110", "110", ts=T0 + 5))
    tca.on_event(
        order_event(
            "o2",
            "PARTIALLY_FILLED",
            exec_type="REPLACED",
            orig_client_order_id="o1",
            quantity=D(3),
            cum_qty=D(1),
        )
    )
    tca.on_fill(fill("f2", price="110", qty="2", cid="o2"))
    (r,) = tca.on_event(_done("o2", "FILLED", "3", qty="3", ts=T0 + 9))
    assert (r.order_id, r.quantity, r.filled_qty, r.arrival_mid) == ("o2", D(3), D(3), D(100))
    assert r.execution_cost == D(20)  # (100 + 220) - 3 x 100
    assert tca.on_fill(fill("f9", price="1", qty="1", cid="o1")) == []  # o1 is finished


def test_a_parent_is_reported_when_its_children_are_done_and_again_after_a_new_wave() -> None:
    tca = TcaEngine()
    tca.on_nbbo(nbbo("100", "100", ts=T0))
    tags = {PARENT_TAG: "P", "sor.parent_qty": "3"}
    _approve(tca, "P:c1", qty="2", ts=T0, tags=tags)
    _approve(tca, "P:c2", qty="1", ts=T0, venue="okx", tags=tags)
    tca.on_fill(fill("f1", price="100", qty="2", fee="0.2", cid="P:c1"))
    (c1,) = tca.on_event(_done("P:c1", "FILLED", "2", qty="2", ts=T0 + 1))
    assert (c1.parent_id, c1.kind) == ("P", "ORDER")
    tca.on_fill(fill("f2", price="101", qty="0.5", cid="P:c2", venue="okx"))
    _c2, p1 = tca.on_event(_done("P:c2", "CANCELED", "0.5", qty="1", ts=T0 + 2, venue="okx"))
    assert (p1.tca_id, p1.kind, p1.revision, p1.children) == ("parent:acct:P", "PARENT", 1, 2)
    assert (p1.status, p1.quantity, p1.filled_qty, p1.notional) == (
        "PARTIALLY_FILLED",
        D(3),
        D("2.5"),
        D("250.5"),
    )
    assert p1.fill_ratio == D("0.833333333333333333")  # 2.5 / 3
    assert p1.venue_mix == {"binance": D("0.8"), "okx": D("0.2")}
    assert (p1.venue, p1.parent_id, p1.end_ts_ns) == (None, None, T0 + 2)
    assert p1.slippage_arrival_bps == D(20)  # (250.5 - 250) / 250 x 1e4
    # second wave: the remainder
    _approve(tca, "P:c3", qty="0.5", ts=T0 + 3, tags=tags)
    tca.on_fill(fill("f3", price="100", qty="0.5", cid="P:c3"))
    _, p2 = tca.on_event(_done("P:c3", "FILLED", "0.5", qty="0.5", ts=T0 + 4))
    assert (p2.revision, p2.children, p2.status, p2.fill_ratio) == (2, 3, "FILLED", D(1))
    assert p2.fees == {"USDT": D("0.2")}
    assert p2.shortfall_bps == D("23.333333333333333333")  # (0.5 + 0.2) / 300 x 1e4


def test_a_parent_without_its_quantity_tag_reports_over_the_filled_quantity() -> None:
    tca = TcaEngine()
    tca.on_nbbo(nbbo("100", "100", ts=T0))
    _approve(tca, "c1", qty="1", ts=T0, tags={"algo.parent": "A", "algo.parent_qty": "x"})
    tca.on_fill(fill("f1", price="101", qty="1", cid="c1"))
    _, p = tca.on_event(_done("c1", "FILLED", "1", qty="1", ts=T0 + 1))
    assert (p.quantity, p.fill_ratio, p.opportunity_cost, p.shortfall_bps) == (
        None,
        None,
        None,
        D(100),
    )
    assert p.note is not None
    assert "tag algo.parent_qty='x' is not a positive quantity" in p.note
    assert "quantity unknown" in p.note


def test_restore_rebuilds_open_orders_without_reporting_finished_ones() -> None:
    tca = TcaEngine()
    requests = [order_request("o1", qty="1", ts=T0), order_request("o2", qty="1", ts=T0)]
    events = [_done("o1", "FILLED", "1", qty="1", ts=T0 + 1), order_event("o2", "NEW")]
    fills = [fill("f1", price="100", qty="1", cid="o1")]
    assert (
        tca.restore([approval(r.client_order_id, request=r) for r in requests], events, fills) == 1
    )
    assert tca.on_fill(fill("f1", price="100", qty="1", cid="o1")) == []  # o1 was reported
    tca.on_fill(fill("f2", price="100", qty="1", cid="o2"))
    (r,) = tca.on_event(_done("o2", "FILLED", "1", qty="1", ts=T0 + 2))
    assert (r.order_id, r.arrival_source, r.arrival_mid) == ("o2", "RISK_REFERENCE", D(100))


def test_the_parent_tags_are_the_sors() -> None:
    assert PARENT_TAGS[0] == PARENT_TAG
    assert PARENT_TAG + QTY_SUFFIX == QTY_TAG


@pytest.mark.parametrize("field", ["max_open_orders", "max_parents", "max_finished", "mid_history"])
def test_a_bound_below_one_is_refused_naming_the_field(field: str) -> None:
    changes: dict[str, Any] = {field: 0}
    with pytest.raises(ConfigError, match=field):
        replace(TcaConfig(), **changes)
