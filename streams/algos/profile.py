"""The VWAP volume profile, pure: historical per-bucket volumes -> one weight per slice.

A VWAP parent over ``[start_ns, end_ns)`` in ``n`` slices trades slice ``k`` in
proportion to how much volume the instrument usually trades in that slice's time of day.
:func:`volume_profile` takes the history as ``(bucket start ns, volume)`` pairs (bars of
any interval, any number of days) and sums, for each slice, the volume of every bucket
whose time of day (``ts mod period_ns``) falls in the slice's time of day. The sink layer
reads those pairs from the ClickHouse ``bars`` table
(:func:`tapewire.sinks.clickhouse.volume_history.vwap_profile`).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from tapewire.core.exact import ZERO, add, div18
from tapewire.streams.algos.errors import AlgoError
from tapewire.streams.execution.common import NS_PER_DAY


def volume_profile(
    history: Iterable[tuple[int, Decimal]],
    *,
    start_ns: int,
    end_ns: int,
    slices: int,
    period_ns: int = NS_PER_DAY,
) -> tuple[Decimal, ...]:
    """The share of the historical volume in each of the ``slices`` slices of
    ``[start_ns, end_ns)`` by time of day (18 places; the shares sum to 1 within
    rounding). A bucket counts for the slice its start falls in. :class:`AlgoError` when
    the window is longer than a period or the history has no volume in it."""
    if slices < 1:
        raise AlgoError(f"volume profile: slices={slices} must be >= 1")
    length = end_ns - start_ns
    if not 0 < length <= period_ns:
        raise AlgoError(
            f"volume profile: window {start_ns}..{end_ns} must be 1 ns to {period_ns} ns long",
            hint="split a longer parent into daily VWAPs",
        )
    interval = length // slices
    origin = start_ns % period_ns
    volumes = [ZERO] * slices
    for ts_ns, volume in history:
        offset = (ts_ns % period_ns - origin) % period_ns
        if offset < length:
            k = min(offset // interval, slices - 1)  # the last slice takes the rounding rest
            volumes[k] = add(volumes[k], volume)
    total = ZERO
    for volume in volumes:
        total = add(total, volume)
    if total <= 0:
        raise AlgoError(
            f"volume profile: no historical volume in the window {start_ns}..{end_ns}",
            hint="load more history (lookback) or use TWAP",
        )
    return tuple(div18(v, total) for v in volumes)
