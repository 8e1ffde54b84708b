"""Per-venue REST rate-limit gate shared by every REST call of a venue in this process.

A 429 or 418 answer blocks *all* REST requests of the venue (they share the venue's
weight budget, and a 418 is an IP ban) until ``Retry-After`` has passed; without a
``Retry-After`` header a default applies (``default_429_s``, ``default_418_s``).
"""

from __future__ import annotations

import asyncio
import email.utils
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from tapewire.core import metrics

PENALTIES_KEPT = 100
"""Rate-limit answers a limiter remembers (the newest)."""
RATE_LIMIT_STATUSES = frozenset((418, 429))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent
    or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class VenueRateLimiter:
    """Blocks the REST calls of one venue while a rate-limit penalty runs."""

    def __init__(
        self,
        venue: str,
        *,
        default_429_s: float = 1.0,
        default_418_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.venue = venue
        self.default_429_s = default_429_s
        self.default_418_s = default_418_s
        self._clock = clock
        self._blocked_until = 0.0
        self._lock = threading.Lock()
        self.penalties: list[tuple[int, float]] = []
        """The last ``PENALTIES_KEPT`` ``(status, seconds)`` answers (the metric counts all)."""

    def penalize(self, status: int, retry_after: str | None) -> float:
        """Record a 429/418 answer; returns the seconds all REST calls now wait."""
        seconds = parse_retry_after(retry_after)
        if seconds is None:
            seconds = self.default_418_s if status == 418 else self.default_429_s
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)
            self.penalties.append((status, seconds))
            del self.penalties[:-PENALTIES_KEPT]
        metrics.connector_rate_limit_hits.labels(self.venue, str(status)).inc()
        return seconds

    def remaining(self) -> float:
        """Seconds until REST calls may go again (0 when open)."""
        return max(0.0, self._blocked_until - self._clock())

    async def wait(self) -> float:
        """Sleep until the venue may be called; returns the seconds waited."""
        waited = 0.0
        while (left := self.remaining()) > 0:
            if waited == 0.0:
                metrics.connector_rate_limit_waits.labels(self.venue).inc()
            await asyncio.sleep(left)
            waited += left
        if waited:
            metrics.connector_rate_limit_wait_seconds.labels(self.venue).inc(waited)
        return waited


_LIMITERS: dict[str, VenueRateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def limiter_for(
    venue: str, *, default_429_s: float = 1.0, default_418_s: float = 60.0
) -> VenueRateLimiter:
    """The process-wide limiter of ``venue`` (created on first use with these defaults)."""
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(venue)
        if limiter is None:
            limiter = _LIMITERS[venue] = VenueRateLimiter(
                venue, default_429_s=default_429_s, default_418_s=default_418_s
            )
        return limiter
