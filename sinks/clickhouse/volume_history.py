"""The VWAP volume profile of an instrument from its ClickHouse ``bars`` history.

:func:`bar_volumes` reads ``(bar start ns, volume)`` of one venue, instrument and bar
interval from the ``bars`` table (``FINAL``: the latest revision of each bar);
:func:`vwap_profile` feeds the last ``lookback_days`` of them before the parent starts to
the pure :func:`~tapewire.streams.algos.profile.volume_profile`, whose result is the
``profile`` of a ``VwapParams``.
"""

from __future__ import annotations

from decimal import Decimal

from clickhouse_connect.driver.client import Client

from tapewire.sinks.clickhouse.query import execute
from tapewire.streams.algos.profile import volume_profile
from tapewire.streams.execution.common import NS_PER_DAY

_BARS = """
SELECT toUnixTimestamp64Nano(start_ts) AS ts_ns, volume
FROM bars FINAL
WHERE venue = {venue:String} AND instrument = {instrument:String}
  AND interval = {interval:String}
  AND start_ts >= fromUnixTimestamp64Nano({from_ns:Int64}, 'UTC')
  AND start_ts < fromUnixTimestamp64Nano({to_ns:Int64}, 'UTC')
ORDER BY start_ts
"""


def bar_volumes(
    client: Client, *, venue: str, instrument: str, interval: str, from_ns: int, to_ns: int
) -> list[tuple[int, Decimal]]:
    """``(start ns, volume)`` of every bar of ``venue``/``instrument``/``interval`` that
    starts in ``[from_ns, to_ns)``, oldest first (exact decimals)."""
    parameters = {
        "venue": venue,
        "instrument": instrument,
        "interval": interval,
        "from_ns": from_ns,
        "to_ns": to_ns,
    }
    result = execute(client, _BARS, target=client.database or "", parameters=parameters)
    return [(int(ts), Decimal(volume)) for ts, volume in result.rows]


def vwap_profile(
    client: Client,
    *,
    venue: str,
    instrument: str,
    start_ns: int,
    end_ns: int,
    slices: int,
    lookback_days: int = 20,
    interval: str = "1m",
) -> tuple[Decimal, ...]:
    """The volume profile of ``slices`` slices of ``[start_ns, end_ns)`` from the bars of
    the ``lookback_days`` days before ``start_ns``; ``AlgoError`` when they have no
    volume in the window's time of day."""
    history = bar_volumes(
        client,
        venue=venue,
        instrument=instrument,
        interval=interval,
        from_ns=start_ns - lookback_days * NS_PER_DAY,
        to_ns=start_ns,
    )
    return volume_profile(history, start_ns=start_ns, end_ns=end_ns, slices=slices)
