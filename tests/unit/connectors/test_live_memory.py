"""Live connector memory: a limiter and a tap remember only their newest answers and ids,
however many rate-limit answers and reconnects a connector sees over days."""

from __future__ import annotations

from tapewire.connectors.live import ListSink, VenueRateLimiter
from tapewire.connectors.live.limiter import PENALTIES_KEPT
from tapewire.connectors.live.tap import CONNECTIONS_KEPT, FrameTap


class StepClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_limiter_keeps_the_newest_penalties_and_still_blocks() -> None:
    clock = StepClock()
    limiter = VenueRateLimiter("venue-memory", default_429_s=1.0, clock=clock)
    for i in range(1_000):
        clock.now = float(i * 10)
        assert limiter.penalize(429, str(i % 7 + 1)) == i % 7 + 1
        assert limiter.remaining() == i % 7 + 1  # the block still follows the answer
        assert len(limiter.penalties) <= PENALTIES_KEPT
    assert limiter.penalties[-1] == (429, float(999 % 7 + 1))


def test_tap_keeps_the_newest_connection_ids_each_still_unique() -> None:
    tap = FrameTap("binance", ListSink())
    given = [tap.new_connection_id("ws") for _ in range(1_000)]
    assert len(set(given)) == 1_000
    assert tap.connections == given[-CONNECTIONS_KEPT:]
