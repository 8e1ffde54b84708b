"""The shared "true" mid of one instrument: a seeded random walk on an integer grid."""

from __future__ import annotations


class MidWalk:
    """Random walk of an instrument's true mid, in price units (``10**-decimals``).

    Every venue quotes around this one path (plus its own offset), so venues stay
    consistent with each other. Each :meth:`step` moves by ``-step``, ``0``, ``0`` or
    ``+step`` for a draw of 0, 1, 2 or 3, and reflects off a floor of a tenth of
    the start price so the mid stays positive.
    """

    __slots__ = ("floor", "mid", "step_units")

    def __init__(self, start: int, step_units: int) -> None:
        if start <= 0:
            raise ValueError("start must be positive")
        self.mid = start
        self.step_units = step_units
        self.floor = max(1, start // 10)

    def step(self, draw: int) -> int:
        """Advance by the step a uniform ``draw`` in 0..3 selects; return the new mid."""
        if draw == 0:
            mid = self.mid - self.step_units
            if mid < self.floor:
                mid = self.mid + self.step_units
            self.mid = mid
        elif draw == 3:
            self.mid += self.step_units
        return self.mid
