"""Deterministic, seeded latency model: ack and fill delays in ns.

A delay depends only on (seed, kind, key), never on call order, so a replay with the same
seed and inputs gets the same timestamps whatever else happened in between.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LatencyModel:
    """``base + uniform[0, jitter]`` ns per kind; all zero by default (no latency)."""

    seed: int = 0
    ack_ns: int = 0
    ack_jitter_ns: int = 0
    fill_ns: int = 0
    fill_jitter_ns: int = 0

    def __post_init__(self) -> None:
        for name in ("ack_ns", "ack_jitter_ns", "fill_ns", "fill_jitter_ns"):
            if getattr(self, name) < 0:
                raise ValueError(f"LatencyModel.{name} must be >= 0")

    def ack_delay(self, key: str) -> int:
        """Request → venue: when a request sent now takes effect at the venue."""
        return self.ack_ns + self._jitter("ack", key, self.ack_jitter_ns)

    def fill_delay(self, key: str) -> int:
        """Venue execution → local report: when a fill at the venue is seen locally."""
        return self.fill_ns + self._jitter("fill", key, self.fill_jitter_ns)

    def _jitter(self, kind: str, key: str, span: int) -> int:
        if span == 0:
            return 0
        digest = hashlib.sha256(f"{self.seed}:{kind}:{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % (span + 1)
