"""Alerts derived from fills, feed coverage and positions (daily PnL)."""

from __future__ import annotations

from tapewire.records.market import CoverageEvent
from tapewire.streams.notify import AlertDeriver, alert_key
from tapewire.streams.notify.derive import seconds
from tests.factories import INST, T0
from tests.factories.trading import fill, position

DAY = 86_400 * 1_000_000_000
DAY0 = T0 - T0 % DAY  # 2023-11-14T00:00:00Z


def coverage(event: str, from_ns: int, to_ns: int | None = None) -> CoverageEvent:
    return CoverageEvent(
        venue="binance",
        instrument=INST,
        channel="book",
        event=event,
        from_ns=from_ns,
        to_ns=to_ns,
        reason="sequence_gap",
        process_ts_ns=to_ns or from_ns,
    )


def test_fill_alert_is_exact_and_keyed_by_fill() -> None:
    [a] = AlertDeriver().on_fill(fill("f7", "SELL", "0.00000812", "12.5", account="desk"))
    assert (a.severity, a.code, a.source, a.alert_id) == ("INFO", "FILL", "oms", "oms:fill:f7")
    assert a.message == f"SELL 12.5 {INST} @ 0.00000812 on binance (account desk, order f7)"
    assert a.labels["fill_id"] == "f7"
    assert a.event_ts_ns == T0
    assert AlertDeriver(["feed_health"]).on_fill(fill()) == []


def test_feed_gap_and_resync() -> None:
    deriver = AlertDeriver()
    [gap] = deriver.on_coverage(coverage("GAP", T0))
    assert (gap.severity, gap.code, gap.source) == ("WARNING", "FEED_GAP", "feed:binance")
    assert gap.message == (
        f"binance {INST} book: data incomplete since 2023-11-14T22:13:20.000000000Z (sequence_gap)"
    )
    assert gap.labels == {"venue": "binance", "instrument": INST, "channel": "book"}
    [resync] = deriver.on_coverage(coverage("RESYNC", T0, T0 + 1_500_000_000))
    assert (resync.severity, resync.code) == ("INFO", "FEED_RESYNC")
    assert resync.message.endswith("whole again after 1.5 s (sequence_gap)")
    # a second gap on the same book has the same key: de-duplication can fold it
    [again] = deriver.on_coverage(coverage("GAP", T0 + 9_000_000_000))
    assert alert_key(again) == alert_key(gap)
    assert again.alert_id != gap.alert_id
    assert AlertDeriver(["fills"]).on_coverage(coverage("GAP", T0)) == []


def test_daily_pnl_is_sent_when_the_next_day_starts() -> None:
    deriver = AlertDeriver()
    assert deriver.on_position(position(DAY0 - 10, realized="5", account="desk")) == []
    [first] = deriver.on_position(position(DAY0 + 10, realized="5", account="desk"))
    assert "on 2023-11-13 (UTC): 5 " in first.message  # a new position starts from 0
    assert (
        deriver.on_position(position(DAY0 + 20, realized="2.5", fees="0.1", account="desk")) == []
    )
    [daily] = deriver.on_position(position(DAY0 + DAY + 1, realized="9", account="desk"))
    # 2023-11-14: opening total 5 (yesterday's last), closing 2.5 - 0.1 = 2.4
    assert daily.code == "DAILY_PNL"
    assert daily.severity == "WARNING"  # a loss
    assert daily.message == (
        "account desk PnL on 2023-11-14 (UTC): -2.6 (realized + unrealized - fees)"
    )
    assert daily.labels == {"account": "desk", "date": "2023-11-14"}
    assert daily.alert_id == "positions:daily_pnl:desk:2023-11-14"
    assert daily.event_ts_ns == DAY0 + DAY + 1
    [next_day] = deriver.on_position(position(DAY0 + 2 * DAY, realized="10", account="desk"))
    assert next_day.severity == "INFO"
    assert "on 2023-11-15 (UTC): 6.6 " in next_day.message  # 9 - 2.4


def test_seconds_are_exact() -> None:
    assert [seconds(n) for n in (1_500_000_000, 60_000_000_000, 1, 0)] == [
        "1.5",
        "60",
        "0.000000001",
        "0",
    ]
