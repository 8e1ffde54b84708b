"""The VWAP profile from the real ClickHouse engine's ``bars`` (chDB here): bars stored
by the sink's own row mapping, read back exactly, latest revision only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from clickhouse_connect.driver.client import Client

from tapewire.records.market import Bar
from tapewire.sinks.clickhouse.rows import mapping_for_topic
from tapewire.sinks.clickhouse.volume_history import bar_volumes, vwap_profile
from tapewire.streams.algos import AlgoError, AlgoKind, VwapParams
from tests.factories import INST
from tests.factories.algos import algo_request

D = Decimal
MIN = 60_000_000_000
DAY = 1_440 * MIN
START = 100 * DAY + 9 * 60 * MIN  # day 100, 09:00 UTC


def bar(start: int, volume: str, *, venue: str = "binance", revision: int = 0) -> Bar:
    return Bar(
        venue=venue,
        instrument=INST,
        interval="1m",
        interval_ns=MIN,
        start_ts_ns=start,
        end_ts_ns=start + MIN,
        open=D(100),
        high=D(101),
        low=D(99),
        close=D(100),
        volume=D(volume),
        quote_volume=D(volume) * 100,
        trade_count=1,
        buy_volume=D(volume),
        sell_volume=D(0),
        revision=revision,
        process_ts_ns=start + MIN,
    )


def store(client: Client, bars: list[Bar]) -> None:
    mapping = mapping_for_topic("md.bars.1m")
    rows = [mapping.row(b, "md.bars.1m", 0, n) for n, b in enumerate(bars)]
    client.insert(mapping.table, rows, column_names=list(mapping.columns))


def test_vwap_profile_from_the_bars_table(clickhouse: Client) -> None:
    bars = []
    for day in range(97, 100):  # the three days before: 09:00-09:30 in 3 slices of 10 min
        for m in range(30):
            volume = "0.000000000000000003" if m < 10 else ("2" if m < 20 else "1")
            bars.append(bar(day * DAY + 9 * 60 * MIN + m * MIN, volume))
    bars.append(bar(99 * DAY + 9 * 60 * MIN + 15 * MIN, "5", revision=1))  # revised: 2 -> 5
    bars.append(bar(99 * DAY + 9 * 60 * MIN, "1000", venue="okx"))  # another venue
    bars.append(bar(START, "1000"))  # the parent's own window: not history
    bars.append(bar(90 * DAY + 9 * 60 * MIN, "1000"))  # older than the lookback
    store(clickhouse, bars)

    history = bar_volumes(
        clickhouse,
        venue="binance",
        instrument=INST,
        interval="1m",
        from_ns=97 * DAY,
        to_ns=98 * DAY,
    )
    assert len(history) == 30
    assert history[0] == (97 * DAY + 9 * 60 * MIN, D("0.000000000000000003"))  # exact

    profile = vwap_profile(
        clickhouse,
        venue="binance",
        instrument=INST,
        start_ns=START,
        end_ns=START + 30 * MIN,
        slices=3,
        lookback_days=5,
    )
    # slice 1: 3 x 10 x 2 + 3 (the revision) = 63; slice 2: 30; slice 0: 30 x 3e-18
    total = D("93.00000000000000009")
    assert profile == tuple((v / total).quantize(D("1e-18")) for v in (D("9e-17"), 63, 30))
    request = algo_request(
        VwapParams(start_ns=START, end_ns=START + 30 * MIN, profile=profile), limit_price="101"
    )
    request.check()
    assert request.kind is AlgoKind.VWAP


def test_no_history_is_a_clear_error(clickhouse: Client) -> None:
    with pytest.raises(AlgoError, match="no historical volume"):
        vwap_profile(
            clickhouse,
            venue="binance",
            instrument=INST,
            start_ns=START,
            end_ns=START + MIN,
            slices=1,
        )
