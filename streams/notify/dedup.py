"""De-duplication: one notification per alert key per window of event time.

The key of an alert is stable across repeats of the same condition: its source, code,
severity and labels (not its id or message, which carry a sequence number or the numbers
of the moment; a condition that escalates to another severity is news). An alert whose
key was sent less than ``window_ns`` before, in event time, is suppressed; so is a
redelivered alert (same key, same or earlier time). Event time makes the decision the
same live and in a replay. Memory is bounded: keys older than the window are forgotten,
and at most ``max_keys`` are kept (the oldest go first).
"""

from __future__ import annotations

from tapewire.records.risk import Alert


def alert_key(alert: Alert) -> str:
    """``source|code|severity|k=v,...`` with the labels sorted: a condition's identity."""
    labels = ",".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
    return f"{alert.source}|{alert.code}|{alert.severity}|{labels}"


class Deduplicator:
    """Admits the first alert of a key per window (see the module doc)."""

    def __init__(self, window_ns: int, *, max_keys: int = 100_000) -> None:
        if window_ns < 0 or max_keys < 1:
            raise ValueError("window_ns must be >= 0 and max_keys >= 1")
        self.window_ns = window_ns
        self.max_keys = max_keys
        self._sent: dict[str, int] = {}  # key -> event time it was last admitted
        self._latest = 0

    def admit(self, key: str, ts_ns: int) -> bool:
        """True if an alert with ``key`` at ``ts_ns`` should be sent (and remember it)."""
        last = self._sent.get(key)
        if last is not None and ts_ns - last < self.window_ns:
            return False
        self._sent.pop(key, None)  # re-insert: dict order is admission order
        self._sent[key] = ts_ns
        if ts_ns > self._latest:
            self._latest = ts_ns
        self._evict()
        return True

    def __len__(self) -> int:
        return len(self._sent)

    def _evict(self) -> None:
        horizon = self._latest - self.window_ns
        while self._sent:
            key, ts = next(iter(self._sent.items()))
            if ts > horizon and len(self._sent) <= self.max_keys:
                return
            del self._sent[key]
