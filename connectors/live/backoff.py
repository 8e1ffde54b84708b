"""Exponential backoff with jitter for reconnects."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays ``base * factor**n`` capped at ``cap``, with "equal jitter".

    The n-th delay (n counted from 0 since the last :meth:`reset`) is uniform in
    ``[ceiling / 2, ceiling]`` with ``ceiling = min(cap_s, base_s * factor**n)``: never
    below half the ceiling (so retries really slow down) and spread so that many
    connectors do not reconnect in lockstep.
    """

    base_s: float = 0.5
    cap_s: float = 30.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s < self.base_s or self.factor < 1:
            raise ValueError("need 0 < base_s <= cap_s and factor >= 1")

    def ceiling(self, attempt: int) -> float:
        """Largest delay of attempt ``attempt`` (0-based)."""
        return float(min(self.cap_s, self.base_s * self.factor ** min(attempt, 64)))

    def min_delay(self, attempt: int) -> float:
        """Smallest delay of attempt ``attempt`` (0-based)."""
        return self.ceiling(attempt) / 2

    def next_delay(self) -> float:
        """The delay before the next attempt; counts the attempt."""
        ceiling = self.ceiling(self.attempts)
        self.attempts += 1
        return ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)

    def reset(self) -> None:
        """Back to the first delay (after a connection that stayed healthy)."""
        self.attempts = 0
