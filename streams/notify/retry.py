"""Retry policy: bounded attempts with exponential backoff, the wait injected.

:func:`deliver_with_retry` calls ``send`` until it returns, raises a non-retryable
:class:`~tapewire.streams.notify.errors.DeliveryError`, or ``policy.attempts`` tries are
spent; it never raises, it returns the :class:`Outcome`. The total time is bounded by
``attempts`` x (per-try timeout) + the sum of the waits, so a dead channel delays the
notifier by a known amount and then becomes a dead letter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tapewire.streams.notify.errors import DeliveryError


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries; before try n+1 wait ``backoff_s * multiplier**(n-1)``, at most
    ``backoff_max_s`` (a receiver's ``Retry-After`` is honoured up to that bound)."""

    attempts: int = 4
    backoff_s: float = 0.5
    multiplier: float = 2.0
    backoff_max_s: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.backoff_s < 0 or self.multiplier < 1:
            raise ValueError("attempts >= 1, backoff_s >= 0 and multiplier >= 1")

    def delay(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        wait = self.backoff_s * self.multiplier ** (attempt - 1)
        if retry_after_s is not None:
            wait = max(wait, retry_after_s)
        return min(wait, self.backoff_max_s)


@dataclass(frozen=True)
class Outcome:
    """How a delivery ended: ``delivered``, after ``attempts`` tries; else ``reason``
    (the last error) and whether it was ``permanent`` (refused) or retries ran out."""

    delivered: bool
    attempts: int
    reason: str | None = None
    permanent: bool = False
    stopped: bool = False
    """Retrying was cut short because the process is stopping (not a verdict)."""


def deliver_with_retry(
    send: Callable[[], None],
    policy: RetryPolicy,
    sleep: Callable[[float], object],
) -> Outcome:
    """Try ``send`` under ``policy``; ``sleep(seconds)`` waits between tries (it may
    return True to say "stop waiting, give up": a stopping process)."""
    for attempt in range(1, policy.attempts + 1):
        try:
            send()
        except DeliveryError as exc:
            if not exc.retryable:
                return Outcome(False, attempt, f"refused: {exc.message}", permanent=True)
            if attempt == policy.attempts:
                return Outcome(False, attempt, f"gave up after {attempt} tries: {exc.message}")
            if sleep(policy.delay(attempt, exc.retry_after_s)) is True:
                return Outcome(
                    False, attempt, f"stopped while retrying: {exc.message}", stopped=True
                )
            continue
        return Outcome(True, attempt)
    raise AssertionError("unreachable: attempts >= 1")
