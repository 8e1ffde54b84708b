"""Bar aggregator: values against an independent computation, lateness, empty bars, ns edges,
several intervals, checkpoints, properties (hypothesis), Avro encoding, no floats."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewire.core.records import Record
from tapewire.schemas.codec import Codec
from tapewire.streams.aggregate import BarAggregator, BarConfig, Interval

S = 1_000_000_000
M = 60 * S
CODEC = Codec()
T0 = 1_767_225_600 * S  # 2026-01-01T00:00:00Z, a minute boundary


def trade(
    ts: int | None,
    price: str,
    size: str,
    side: str = "BUY",
    *,
    receive: int | None = None,
    venue: str = "binance",
    instrument: str = "BTC-USDT-SPOT",
) -> dict[str, Any]:
    return {
        "venue": venue,
        "instrument": instrument,
        "trade_id": f"{ts}-{price}-{size}",
        "price": Decimal(price),
        "size": Decimal(size),
        "side": side,
        "exchange_ts_ns": ts,
        "receive_ts_ns": receive if receive is not None else (ts or 0) + 5_000_000,
        "process_ts_ns": 0,
        "connection_id": None,
        "frame_sequence": None,
    }


def make(config: BarConfig) -> BarAggregator:
    return BarAggregator(config, clock=lambda: 42)


def check_record(bar: Record) -> None:
    """Encodes with the Avro codec, and holds no float anywhere."""
    CODEC.for_topic(f"md.bars.{bar['interval']}").encode(bar)
    for name, value in bar.items():
        assert not isinstance(value, float), name
        if name in ("open", "high", "low", "close", "volume", "quote_volume", "vwap"):
            assert value is None or isinstance(value, Decimal), name
    assert isinstance(bar["start_ts_ns"], int)
    assert bar["end_ts_ns"] == bar["start_ts_ns"] + bar["interval_ns"]


def expected_bars(trades: list[dict[str, Any]], interval_ns: int) -> dict[int, dict[str, Any]]:
    """OHLCV straight from the trade list: group by bar start, stable-sort by event time."""
    groups: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for t in trades:
        ts = t["exchange_ts_ns"] if t["exchange_ts_ns"] is not None else t["receive_ts_ns"]
        groups[ts // interval_ns * interval_ns].append({**t, "_ts": ts})
    out = {}
    q = Decimal("1e-18")
    for start, group in groups.items():
        ordered = sorted(group, key=lambda t: t["_ts"])
        prices = [t["price"] for t in ordered]
        with localcontext() as ctx:
            ctx.prec = 120
            volume = sum((t["size"] for t in ordered), Decimal(0))
            notional = sum((t["price"] * t["size"] for t in ordered), Decimal(0))
            vwap = (notional / volume).quantize(q, rounding=ROUND_HALF_EVEN)
            buy = sum((t["size"] for t in ordered if t["side"] == "BUY"), Decimal(0))
            sell = sum((t["size"] for t in ordered if t["side"] == "SELL"), Decimal(0))
        out[start] = {
            "open": prices[0],
            "high": max(prices),
            "low": min(prices),
            "close": prices[-1],
            "volume": volume,
            "quote_volume": notional.quantize(q, rounding=ROUND_HALF_EVEN),
            "vwap": vwap,
            "trade_count": len(ordered),
            "buy_volume": buy,
            "sell_volume": sell,
        }
    return out


def project(bar: Record) -> dict[str, Any]:
    keys = ("open", "high", "low", "close", "volume", "quote_volume", "vwap", "trade_count")
    return {k: bar[k] for k in (*keys, "buy_volume", "sell_volume")}


TRADES = [
    trade(T0 + 100, "42000.10", "0.5", "BUY"),
    trade(T0 + 200_000_000, "42001.5", "0.25", "SELL"),
    trade(None, "41999.99", "1.000000000000000001", "UNKNOWN", receive=T0 + 300_000_000),
    trade(T0 + 300_000_000, "42003", "0.00000812", "BUY"),
    trade(T0 + S + 1, "42010", "2", "SELL"),
    trade(T0 + S + 1, "42011", "3", "BUY"),  # same ts: later arrival is the close
    trade(T0 + 3 * S + 7, "42020.123456789012345678", "0.1", "BUY"),
    trade(T0 + M - 1, "42100", "1", "SELL"),
    trade(T0 + M, "42200", "1", "BUY"),
    trade(T0 + M + 5 * S, "42150", "0.3", "SELL"),
]


def test_bars_match_an_independent_computation_for_1s_and_1m() -> None:
    agg = make(BarConfig.from_strings(["1s", "1m"], allowed_lateness_ns=0))
    bars: list[Record] = []
    for t in TRADES:
        bars += agg.add(t)
    bars += agg.flush()
    assert agg.drain_rejected() == []
    for name, ns in (("1s", S), ("1m", M)):
        got = {b["start_ts_ns"]: project(b) for b in bars if b["interval"] == name}
        assert got == expected_bars(TRADES, ns)
    for bar in bars:
        check_record(bar)
        assert bar["revision"] == 0
        assert bar["process_ts_ns"] == 42


def test_event_time_falls_back_to_receive_time() -> None:
    agg = make(BarConfig.from_strings(["1s"], allowed_lateness_ns=0))
    agg.add(trade(None, "1", "1", receive=T0 + 2 * S + 3))
    assert agg.watermark("binance", "BTC-USDT-SPOT") == T0 + 2 * S + 3
    [bar] = agg.flush()
    assert bar["start_ts_ns"] == T0 + 2 * S


def test_interval_boundaries_at_exact_nanoseconds() -> None:
    agg = make(BarConfig.from_strings(["1s"], allowed_lateness_ns=0))
    assert agg.add(trade(T0 + S - 1, "1", "1")) == []  # last ns of [T0, T0+1s)
    [first] = agg.add(trade(T0 + S, "2", "1"))  # first ns of the next bar closes the first
    assert (first["start_ts_ns"], first["end_ts_ns"], first["close"]) == (
        T0,
        T0 + S,
        Decimal("1.000000000000000000"),
    )
    [second] = agg.flush()
    assert second["start_ts_ns"] == T0 + S
    assert second["open"] == Decimal(2)


def test_a_bar_closes_exactly_when_the_watermark_reaches_end_plus_lateness() -> None:
    lateness = 500_000_000
    agg = make(BarConfig.from_strings(["1s"], allowed_lateness_ns=lateness))
    agg.add(trade(T0, "1", "1"))
    assert agg.add(trade(T0 + S + lateness - 1, "1", "1")) == []
    [bar] = agg.add(trade(T0 + S + lateness, "1", "1"))
    assert bar["start_ts_ns"] == T0


def test_late_within_lateness_updates_the_open_bar() -> None:
    agg = make(BarConfig.from_strings(["1s"], allowed_lateness_ns=2 * S))
    agg.add(trade(T0 + 100, "10", "1"))
    agg.add(trade(T0 + 2 * S + 500, "30", "1"))  # watermark moves on; [T0, T0+1s) still open
    assert agg.add(trade(T0 + 50, "5", "2", "SELL")) == []  # late but within lateness
    assert agg.drain_rejected() == []
    bars = agg.add(trade(T0 + 3 * S, "31", "1"))
    assert [b["start_ts_ns"] for b in bars] == [T0]
    bar = bars[0]
    assert bar["open"] == Decimal(5)  # earliest event time is the open, whatever the arrival
    assert bar["close"] == Decimal(10)
    assert bar["volume"] == Decimal(3)
    assert bar["sell_volume"] == Decimal(2)
    assert bar["trade_count"] == 2


def test_too_late_goes_to_the_rejected_list_with_a_reason() -> None:
    agg = make(BarConfig.from_strings(["1s", "1m"], allowed_lateness_ns=S))
    agg.add(trade(T0 + 100, "10", "1"))
    emitted = agg.add(trade(T0 + 2 * S, "11", "1"))  # closes [T0, T0+1s)
    assert [b["interval"] for b in emitted] == ["1s"]
    late = trade(T0 + 999_999_999, "1", "7")
    assert agg.add(late) == []
    [rejected] = agg.drain_rejected()
    assert rejected.reason == "late"
    assert rejected.record is late
    assert "1s bar" in rejected.detail
    assert agg.drain_rejected() == []
    # not counted in the still-open 1m bar either: intervals stay consistent
    minute = [b for b in agg.flush() if b["interval"] == "1m"]
    assert minute[0]["volume"] == Decimal(2)


def test_invalid_trades_are_rejected_not_raised() -> None:
    agg = make(BarConfig())
    bad_float = {**trade(T0, "1", "1"), "price": 1.5}
    bad_side = {**trade(T0, "1", "1"), "side": "LONG"}
    bad_size = trade(T0, "1", "0")
    for record in (bad_float, bad_side, bad_size):
        assert agg.add(record) == []
    reasons = [r.reason for r in agg.drain_rejected()]
    assert reasons == ["invalid", "invalid", "invalid"]
    assert agg.flush() == []


def test_empty_bars_fill_quiet_intervals_with_the_previous_close() -> None:
    agg = make(BarConfig.from_strings(["1s"], allowed_lateness_ns=0, emit_empty=True))
    agg.add(trade(T0 + 10, "100", "1"))
    agg.add(trade(T0 + 20, "101", "1"))
    bars = agg.add(trade(T0 + 3 * S + 5, "105", "2"))
    assert [b["start_ts_ns"] for b in bars] == [T0, T0 + S, T0 + 2 * S]
    for empty in bars[1:]:
        assert (empty["open"], empty["high"], empty["low"], empty["close"]) == (Decimal(101),) * 4
        assert empty["volume"] == Decimal(0)
        assert empty["trade_count"] == 0
        assert empty["vwap"] is None
        check_record(empty)
    # a timer-driven watermark closes the open bar and fills quiet ones after it
    more = agg.advance(T0 + 6 * S)
    assert [b["start_ts_ns"] for b in more] == [T0 + 3 * S, T0 + 4 * S, T0 + 5 * S]
    assert more[2]["close"] == Decimal(105)
    assert agg.add(trade(T0 + 4 * S + 1, "1", "1")) == []  # lands in an emitted empty bar
    assert [r.reason for r in agg.drain_rejected()] == ["late"]


def test_no_empty_bars_unless_configured() -> None:
    agg = make(BarConfig.from_strings(["1s"], allowed_lateness_ns=0))
    agg.add(trade(T0, "100", "1"))
    bars = agg.add(trade(T0 + 5 * S, "100", "1"))
    assert [b["start_ts_ns"] for b in bars] == [T0]


def test_keys_are_independent() -> None:
    agg = make(BarConfig.from_strings(["1s"], allowed_lateness_ns=0))
    agg.add(trade(T0, "1", "1", venue="binance"))
    assert agg.add(trade(T0 + 5 * S, "1", "1", venue="kraken")) == []
    assert agg.add(trade(T0 + 10, "1", "1", venue="binance")) == []  # binance watermark is T0
    assert agg.drain_rejected() == []


def test_vwap_rounds_half_even_at_18_places() -> None:
    agg = make(BarConfig.from_strings(["1s"], allowed_lateness_ns=0))
    bars: list[Record] = []
    bars += agg.add(trade(T0, "0.000000000000000002", "1"))
    bars += agg.add(trade(T0 + 1, "0.000000000000000003", "1"))  # exact VWAP 2.5e-18 -> 2e-18
    bars += agg.add(trade(T0 + S, "0.000000000000000001", "1"))
    bars += agg.add(trade(T0 + S + 1, "0.000000000000000002", "1"))  # 1.5e-18 -> 2e-18
    bars += agg.add(trade(T0 + 2 * S, "1", "3"))
    bars += agg.add(trade(T0 + 2 * S + 1, "2", "0"))  # size 0: invalid
    bars += agg.add(trade(T0 + 2 * S + 2, "2", "1"))  # 5/4: exact
    bars += agg.add(trade(T0 + 2 * S + 3, "1", "2"))  # 7/6 = 1.1666.. -> ...667
    bars += agg.flush()
    assert [r.reason for r in agg.drain_rejected()] == ["invalid"]
    assert [b["vwap"] for b in bars] == [
        Decimal("2e-18"),
        Decimal("2e-18"),
        Decimal("1.166666666666666667"),
    ]


def test_interval_parsing() -> None:
    assert Interval.parse("1s") == Interval("1s", S)
    assert Interval.parse("1m") == Interval("1m", M)
    assert Interval.parse("5m").ns == 5 * M
    assert Interval.parse("1h").ns == 60 * M
    assert Interval.parse("250ms").ns == S // 4
    assert Interval.parse("1d").topic == "md.bars.1d"
    for bad in ("", "0s", "1", "1M", "1.5s", "-1s", "s"):
        with pytest.raises(ValueError, match="bar interval"):
            Interval.parse(bad)
    with pytest.raises(ValueError, match="duplicates"):
        BarConfig.from_strings(["1s", "1s"])
    assert [i.name for i in BarConfig().intervals] == ["1s", "1m"]


def test_checkpoint_round_trip_continues_identically() -> None:
    config = BarConfig.from_strings(["1s", "1m"], allowed_lateness_ns=S, emit_empty=True)
    straight, first = make(config), make(config)
    out_straight: list[Record] = []
    out_split: list[Record] = []
    for t in TRADES:
        out_straight += straight.add(t)
    for t in TRADES[:5]:
        out_split += first.add(t)
    resumed = make(config)
    for venue, instrument in first.state_keys():
        state = json.loads(json.dumps(first.key_state(venue, instrument)))
        resumed.load_key_state(venue, instrument, state)
    for t in TRADES[5:]:
        out_split += resumed.add(t)
    assert out_split + resumed.flush() == out_straight + straight.flush()


PRICES = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("100000"), places=6)
SIZES = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1000"), places=8)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=200 * S),
            PRICES,
            SIZES,
            st.sampled_from(["BUY", "SELL", "UNKNOWN"]),
        ),
        min_size=1,
        max_size=60,
    ),
    st.integers(min_value=0, max_value=5 * S),
    st.booleans(),
)
def test_property_bars_conserve_volume_and_count(
    rows: list[tuple[int, Decimal, Decimal, str]], lateness: int, emit_empty: bool
) -> None:
    config = BarConfig.from_strings(
        ["1s", "1m", "7s"], allowed_lateness_ns=lateness, emit_empty=emit_empty
    )
    agg = make(config)
    trades = [trade(T0 + ts, str(p), str(s), side) for ts, p, s, side in rows]
    bars: list[Record] = []
    for t in trades:
        bars += agg.add(t)
    bars += agg.flush()
    late = agg.drain_rejected()
    assert all(r.reason == "late" for r in late)
    late_ids = {id(r.record) for r in late}
    accepted = [t for t in trades if id(t) not in late_ids]
    total = sum((t["size"] for t in accepted), Decimal(0))
    notional = sum((Fraction(t["price"]) * Fraction(t["size"]) for t in accepted), Fraction(0))
    for name in ("1s", "1m", "7s"):
        series = [b for b in bars if b["interval"] == name]
        starts = [b["start_ts_ns"] for b in series]
        assert starts == sorted(set(starts))  # once each, in order
        if emit_empty and starts:
            assert starts == list(range(starts[0], starts[-1] + 1, series[0]["interval_ns"]))
        assert sum((b["volume"] for b in series), Decimal(0)) == total
        assert sum(b["trade_count"] for b in series) == len(accepted)
        assert sum(Fraction(b["quote_volume"]) for b in series) == notional  # exact at 14 places
        for b in series:
            assert b["high"] >= max(b["open"], b["close"])
            assert b["low"] <= min(b["open"], b["close"])
            assert b["buy_volume"] + b["sell_volume"] <= b["volume"]
            if b["trade_count"]:
                assert b["low"] <= b["vwap"] <= b["high"]
            check_record(b)
    # without lateness violations every trade is accepted when input is in event-time order
    ordered = make(config)
    for t in sorted(trades, key=lambda t: t["exchange_ts_ns"]):
        ordered.add(t)
    assert ordered.drain_rejected() == []


def test_records_decoded_from_md_trades_give_the_same_bars() -> None:
    config = BarConfig.from_strings(["1s", "1m"], allowed_lateness_ns=S)
    direct, decoded = make(config), make(config)
    serde = CODEC.for_topic("md.trades")
    out_direct: list[Record] = []
    out_decoded: list[Record] = []
    for t in TRADES:
        out_direct += direct.add(t)
        out_decoded += decoded.add(serde.decode(serde.encode(t)))
    assert out_decoded + decoded.flush() == out_direct + direct.flush()
