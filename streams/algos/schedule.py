"""Slice schedules, pure: when each TWAP/VWAP slice is due and how much it brings the
cumulative target to; deterministic randomisation; quantities on the venue's lot.

Randomness is counter-based: the draw for ``(seed, algo id, purpose, k)`` is a hash of
exactly that (as the paper venue's latency model does), so a schedule needs no RNG state
to journal, is the same after a restart, and does not depend on call order.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from tapewire.core.exact import QUANTUM, ZERO, add, div18, mul, sub, wide
from tapewire.streams.execution.rules import Increment

_TWO_64 = 1 << 64
ONE = Decimal(1)


def draw64(seed: int, algo_id: str, purpose: str, k: int) -> int:
    """A uniform integer in ``[0, 2**64)`` for ``(seed, algo_id, purpose, k)``."""
    digest = hashlib.blake2b(f"{seed}:{algo_id}:{purpose}:{k}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


def draw(seed: int, algo_id: str, purpose: str, k: int) -> Decimal:
    """A uniform fraction in ``[0, 1)`` (18 places) for ``(seed, algo_id, purpose, k)``."""
    return div18(Decimal(draw64(seed, algo_id, purpose, k)), Decimal(_TWO_64)).min(
        sub(ONE, QUANTUM)
    )


def jittered(value: Decimal, jitter: Decimal, u: Decimal) -> Decimal:
    """``value * (1 + jitter * (2u - 1))``: within ``value * [1 - jitter, 1 + jitter)``."""
    if not jitter:
        return value
    return mul(value, add(ONE, mul(jitter, sub(mul(Decimal(2), u), ONE))))


@wide
def floor_lot(value: Decimal, lot: Increment | None) -> Decimal:
    """``value`` rounded down to the lot (to 18 places without one); never below 0."""
    if value <= 0:
        return ZERO
    return (lot or Increment(QUANTUM)).round(value, up=False)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Slice ``k`` is due at ``times[k]``; once due, the quantity filled or working
    should reach ``targets[k]`` (cumulative, non-decreasing, the last = the quantity on
    the lot)."""

    times: tuple[int, ...]
    targets: tuple[Decimal, ...]

    def due(self, now_ns: int) -> int:
        """How many slices are due at ``now_ns``."""
        return bisect_right(self.times, now_ns)

    @property
    def sizes(self) -> tuple[Decimal, ...]:
        """Each slice's planned size (what its target adds)."""
        before = (ZERO, *self.targets[:-1])
        return tuple(sub(t, b) for t, b in zip(self.targets, before, strict=True))


def slice_schedule(
    algo_id: str,
    quantity: Decimal,
    weights: Sequence[Decimal],
    *,
    start_ns: int,
    end_ns: int,
    time_jitter: Decimal = ZERO,
    size_jitter: Decimal = ZERO,
    seed: int = 0,
    lot: Increment | None = None,
) -> Schedule:
    """The schedule of ``len(weights)`` slices over ``[start_ns, end_ns)``.

    Slice ``k`` is due at ``start + k * interval + d_k`` with ``interval = (end - start)
    // n`` and ``d_k`` drawn in ``[0, time_jitter * interval)`` (so slices stay in order).
    Its weight is ``weights[k] * (1 ± size_jitter)`` (drawn); the cumulative target after
    slice ``k`` is ``quantity`` times the share of the weights so far, rounded down to the
    lot, and the last target is the whole ``quantity`` on the lot.
    """
    n = len(weights)
    interval = (end_ns - start_ns) // n
    span = int(mul(Decimal(interval), time_jitter))
    times = tuple(
        start_ns + k * interval + (draw64(seed, algo_id, "time", k) * span >> 64) for k in range(n)
    )
    shares = [
        jittered(w, size_jitter, draw(seed, algo_id, "size", k)) for k, w in enumerate(weights)
    ]
    total = ZERO
    for share in shares:
        total = add(total, share)
    targets: list[Decimal] = []
    cumulative = ZERO
    for share in shares[:-1]:
        cumulative = add(cumulative, share)
        targets.append(floor_lot(div18(mul(quantity, cumulative), total), lot))
    targets.append(floor_lot(quantity, lot))
    return Schedule(times, tuple(targets))


def display_size(
    algo_id: str,
    k: int,
    display_qty: Decimal,
    size_jitter: Decimal,
    seed: int,
    lot: Increment | None,
) -> Decimal:
    """An iceberg's ``k``-th shown quantity: ``display_qty * (1 ± size_jitter)`` (drawn),
    on the lot, at least one lot (or ``display_qty`` when the lot rounds it to 0)."""
    shown = floor_lot(jittered(display_qty, size_jitter, draw(seed, algo_id, "display", k)), lot)
    if shown > 0:
        return shown
    step = lot.step if lot is not None else None
    return step if step is not None and step > 0 else display_qty
