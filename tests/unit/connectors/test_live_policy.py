"""Backoff with jitter, Retry-After parsing and the per-venue REST limiter."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tapewire.connectors.live import (
    Backoff,
    LiveConfig,
    VenueRateLimiter,
    limiter_for,
    parse_retry_after,
)
from tapewire.core import metrics
from tapewire.core.errors import ConfigError


def test_backoff_grows_exponentially_within_jitter_bounds() -> None:
    backoff = Backoff(base_s=0.5, cap_s=8.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(8)]
    for attempt, delay in enumerate(delays):
        ceiling = min(8.0, 0.5 * 2**attempt)
        assert ceiling / 2 <= delay <= ceiling
        assert backoff.min_delay(attempt) == ceiling / 2
    assert delays[-1] >= 4.0  # capped at 8, never below half the cap
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def test_backoff_jitter_spreads_and_is_seeded() -> None:
    first = [Backoff(rng=random.Random(seed)).next_delay() for seed in range(20)]
    assert len(set(first)) == 20
    again = [Backoff(rng=random.Random(seed)).next_delay() for seed in range(20)]
    assert first == again


def test_backoff_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="base_s"):
        Backoff(base_s=0)
    with pytest.raises(ValueError, match="base_s"):
        Backoff(base_s=2, cap_s=1)


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30
    )
    assert (
        parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0
    )
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_limiter_blocks_for_retry_after_or_defaults() -> None:
    clock = FakeClock()
    limiter = VenueRateLimiter("venue-a", default_429_s=2.0, default_418_s=120.0, clock=clock)
    assert limiter.remaining() == 0
    assert limiter.penalize(429, "5") == 5.0
    assert limiter.remaining() == 5.0
    assert limiter.penalize(429, None) == 2.0  # shorter penalty never shortens the block
    assert limiter.remaining() == 5.0
    assert limiter.penalize(418, None) == 120.0
    assert limiter.remaining() == 120.0
    clock.now += 121
    assert limiter.remaining() == 0
    assert limiter.penalties == [(429, 5.0), (429, 2.0), (418, 120.0)]
    hits = metrics.REGISTRY.get_sample_value(
        "tapewire_connector_rate_limit_hits_total", {"venue": "venue-a", "status": "418"}
    )
    assert hits == 1


def test_limiter_wait_sleeps_until_open() -> None:
    limiter = VenueRateLimiter("venue-b")

    async def scenario() -> tuple[float, float]:
        limiter.penalize(429, "0.2")
        loop = asyncio.get_running_loop()
        start = loop.time()
        waited = await limiter.wait()
        return waited, loop.time() - start

    waited, elapsed = asyncio.run(scenario())
    assert waited >= 0.19
    assert elapsed >= 0.19
    assert limiter.remaining() == 0
    assert asyncio.run(limiter.wait()) == 0.0
    waits = metrics.REGISTRY.get_sample_value(
        "tapewire_connector_rate_limit_waits_total", {"venue": "venue-b"}
    )
    assert waits == 1


def test_limiter_is_shared_per_venue() -> None:
    assert limiter_for("venue-c") is limiter_for("venue-c")
    assert limiter_for("venue-c") is not limiter_for("venue-d")


def test_live_config_names_the_bad_field() -> None:
    with pytest.raises(ConfigError) as info:
        LiveConfig.load(exchange="nosuchexchange", symbols=("BTC/USDT",))
    assert info.value.field == "exchange"
    with pytest.raises(ConfigError) as info:
        LiveConfig.load(exchange="binance", symbols=("BTC/USDT",), channels=("candles",))
    assert info.value.field.startswith("channels")
    config = LiveConfig.load(exchange="binance", symbols=("BTC/USDT",))
    assert config.channels == ("trades", "book", "bbo")
