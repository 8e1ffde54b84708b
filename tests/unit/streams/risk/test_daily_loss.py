"""Daily loss limit fed live: ``positions`` records -> DailyPnl -> RiskStage -> the gate."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from tapewire.records.positions import Position
from tapewire.streams.risk import DailyPnl, utc_day
from tapewire.streams.risk.pnl import NS_PER_DAY
from tapewire.streams.stages.risk import INPUTS, RiskStage
from tests.factories.market import nbbo
from tests.factories.orders import order_request
from tests.factories.stages import CODEC, decoded, msgs
from tests.factories.trading import fill, position, risk_config

D = Decimal
# 2023-11-15 00:00:00 UTC; risk_config() has daily_loss_limit 1000 for account "acct"
MIDNIGHT = 1_700_006_400_000_000_000
BEFORE = MIDNIGHT - 1  # 2023-11-14 23:59:59.999999999 UTC
NOON = MIDNIGHT + NS_PER_DAY // 2


def test_midnight_constant_is_a_utc_day_boundary() -> None:
    assert MIDNIGHT % NS_PER_DAY == 0
    assert utc_day(MIDNIGHT) == utc_day(BEFORE) + 1 == utc_day(NOON)


@dataclass(frozen=True)
class Row:
    name: str
    records: tuple[Position, ...]
    now_ns: int
    expected: str
    account: str = "acct"


ROWS = (
    Row("no records: 0", (), NOON, "0"),
    Row(
        "first record today: its whole total (a new position starts at 0)",
        (position(NOON, realized="-10", unrealized="-5", fees="1"),),
        NOON,
        "-16",
    ),
    Row(
        "latest record of a position wins (cumulative figures, not summed)",
        (position(MIDNIGHT, unrealized="-5"), position(NOON, unrealized="-40")),
        NOON,
        "-40",
    ),
    Row(
        "unrealized counts: a marked-down open position is a loss",
        (position(NOON, unrealized="-1200"),),
        NOON,
        "-1200",
    ),
    Row(
        "yesterday's total opens today: only the change since the boundary counts",
        (position(BEFORE, realized="-700", fees="3"), position(NOON, realized="-900", fees="4")),
        NOON,
        "-201",
    ),
    Row(
        "a record exactly at 00:00:00 UTC belongs to the new day",
        (position(BEFORE, unrealized="-50"), position(MIDNIGHT, unrealized="-80")),
        MIDNIGHT,
        "-30",
    ),
    Row(
        "no record today: the position contributed nothing today",
        (position(BEFORE, realized="-5000"),),
        NOON,
        "0",
    ),
    Row(
        "yesterday's records only count while the clock is yesterday",
        (position(BEFORE - 10, realized="-100"), position(BEFORE, realized="-300")),
        BEFORE,
        "-300",
    ),
    Row(
        "summed over venues and instruments of the account",
        (
            position(NOON, realized="-10"),
            position(NOON, realized="-20", venue="okx"),
            position(NOON, unrealized="5", instrument="ETH-USDT-SPOT"),
        ),
        NOON,
        "-25",
    ),
    Row(
        "other accounts do not count",
        (position(NOON, realized="-999", account="other"), position(NOON, realized="-1")),
        NOON,
        "-1",
    ),
    Row(
        "gains offset losses within the day",
        (
            position(BEFORE, realized="100"),
            position(NOON, realized="40"),
            position(NOON, realized="30", venue="okx"),
        ),
        NOON,
        "-30",
    ),
    Row(
        "exact beyond 28 digits",
        (position(NOON, realized="-0.000000000000000001", fees="12345678901234567890"),),
        NOON,
        "-12345678901234567890.000000000000000001",
    ),
    Row(
        "a late record of an earlier day does not move the day back",
        (position(NOON, realized="-10"), position(BEFORE, realized="-12")),
        NOON,
        "-12",
    ),
)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_daily_pnl_table(row: Row) -> None:
    pnl = DailyPnl()
    for record in row.records:
        pnl.on_position(record)
    assert pnl.pnl(row.account, row.now_ns) == D(row.expected)


def test_positions_is_a_risk_input() -> None:
    assert "positions" in INPUTS


def test_stage_denies_risk_increasing_orders_after_the_daily_loss_from_positions() -> None:
    now = [NOON]
    stage = RiskStage(CODEC, risk_config(), lambda: now[0])  # the positional signature
    buy_two = fill("f1", "BUY", "100", "2", cid="o0", ts=NOON)
    stage.process(msgs("md.nbbo", [nbbo("100", "102", ts=NOON)]) + msgs("oms.fills", [buy_two]))
    # yesterday's loss is not today's: -5000 before midnight opens the day
    stage.process(msgs("positions", [position(BEFORE, realized="-5000", quantity="2")]))
    out = stage.process(msgs("oms.requests", [order_request("o1", price="101", ts=NOON)]))
    assert [d["decision"] for d in decoded(out, "oms.approved")] == ["APPROVED"]
    # today: -999.99 more (unrealized) -> still inside the 1000 limit
    stage.process(
        msgs("positions", [position(NOON, realized="-5000", unrealized="-999.99", quantity="2")])
    )
    out = stage.process(msgs("oms.requests", [order_request("o2", price="101", ts=NOON)]))
    assert [d["decision"] for d in decoded(out, "oms.approved")] == ["APPROVED"]
    # the mark drops: -1000.01 today -> a risk-increasing order is denied with the numbers
    stage.process(
        msgs("positions", [position(NOON, realized="-5000", unrealized="-1000.01", quantity="2")])
    )
    out = stage.process(
        msgs(
            "oms.requests",
            [
                order_request("o3", price="101", ts=NOON),
                order_request("o4", side="SELL", price="101", ts=NOON, reduce_only=True),
            ],
        )
    )
    denied = decoded(out, "oms.denied")
    assert [(d["client_order_id"], d["rule"], d["reason"]) for d in denied] == [
        (
            "o3",
            "daily_loss_limit",
            "daily PnL -1000.010000000000000000 reached loss limit -1000; only reducing orders",
        )
    ]
    # a reducing order (sell 1 of the long 2 from the fill) still passes
    assert [d["client_order_id"] for d in decoded(out, "oms.approved")] == ["o4"]
    # next UTC day: the limit resets (today's opening is yesterday's last total)
    now[0] = MIDNIGHT + NS_PER_DAY + 1
    stage.process(
        msgs("md.nbbo", [nbbo("100", "102", ts=now[0])])
        + msgs(
            "positions",
            [position(now[0], realized="-5000", unrealized="-1000.01", quantity="2")],
        )
    )
    out = stage.process(msgs("oms.requests", [order_request("o5", price="101", ts=now[0])]))
    assert [d["decision"] for d in decoded(out, "oms.approved")] == ["APPROVED"]


def test_garbled_position_record_is_dead_lettered_not_fatal() -> None:
    stage = RiskStage(CODEC, risk_config(), lambda: NOON)
    bad = msgs("positions", [position(NOON)])[0]
    out = stage.process([bad.__class__(bad.topic, 0, 1, None, b"\x00garbage")])
    assert [d["source_topic"] for d in decoded(out, "dlq.trading")] == ["positions"]
    assert stage.daily_pnl.pnl("acct", NOON) == 0
