"""Tick latency along the chain exchange → receive → normalize → strategy → risk → router.

Every stage that can see when its tick happened observes
``tapewire_stage_latency_seconds{stage, reference}`` (``reference`` = ``exchange`` or
``receive``: which timestamp of the tick the wall-clock time is measured from). The
strategy stage stamps the triggering tick's timestamps into the intents' tags
(:data:`TICK_RECEIVE_TAG`, :data:`TICK_EXCHANGE_TAG`), so the risk gate and the router,
in this process or another one (Faust agents, ``router_main``), measure from the same
tick; the router's venue submit also observes ``tapewire_tick_to_order_seconds{venue,
reference}`` with the client order id as exemplar. Labels stay bounded: stage, reference
and venue, never an instrument or order id. Clocks: one host's wall clock (UTC ns), so
across hosts the figures include their clock offset.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from prometheus_client import Histogram

from tapewire.core import metrics
from tapewire.core.records import Record

if TYPE_CHECKING:
    from tapewire.streams.normalize import Normalizer

TICK_RECEIVE_TAG = "tick_receive_ts_ns"
"""Request tag: local receive time (UTC ns) of the market tick that triggered the order."""
TICK_EXCHANGE_TAG = "tick_exchange_ts_ns"
"""Request tag: the exchange's timestamp (UTC ns) of that tick, when it has one."""

_REFERENCES = (("receive", TICK_RECEIVE_TAG), ("exchange", TICK_EXCHANGE_TAG))


class StageLatency:
    """The two histogram children (per reference) of one stage, looked up once."""

    def __init__(self, stage: str) -> None:
        self.receive = metrics.stage_latency_seconds.labels(stage, "receive")
        self.exchange = metrics.stage_latency_seconds.labels(stage, "exchange")

    def observe(self, receive_ns: int | None, exchange_ns: int | None, now_ns: int) -> None:
        """Observe ``now - receive`` and ``now - exchange`` (a missing timestamp: skipped)."""
        if receive_ns:
            self.receive.observe((now_ns - receive_ns) / 1e9)
        if exchange_ns:
            self.exchange.observe((now_ns - exchange_ns) / 1e9)


RECEIVE_FROM_EXCHANGE = metrics.stage_latency_seconds.labels("receive", "exchange")
"""Stage ``receive``: the venue's timestamp to our receive timestamp (feed latency)."""


def tick_times(record: Record) -> tuple[int | None, int | None]:
    """(receive, exchange) UTC ns of a market record: a trade, quote or book update has
    both; an NBBO only its sides' receive times (the newest of them is its tick)."""
    receive = record.get("receive_ts_ns")
    if receive is None:
        sides = [record.get("bid_receive_ts_ns"), record.get("ask_receive_ts_ns")]
        known = [t for t in sides if isinstance(t, int)]
        receive = max(known) if known else None
    exchange = record.get("exchange_ts_ns")
    return (
        receive if isinstance(receive, int) else None,
        exchange if isinstance(exchange, int) else None,
    )


def tick_tags(record: Record) -> dict[str, str]:
    """The tick-time tags for an intent made from market ``record`` (empty: no times)."""
    receive, exchange = tick_times(record)
    tags = {}
    if receive is not None:
        tags[TICK_RECEIVE_TAG] = str(receive)
    if exchange is not None:
        tags[TICK_EXCHANGE_TAG] = str(exchange)
    return tags


def tagged_times(tags: Mapping[str, str]) -> tuple[int | None, int | None]:
    """(receive, exchange) from a request's tags; a missing or garbled tag is None."""
    return _int(tags.get(TICK_RECEIVE_TAG)), _int(tags.get(TICK_EXCHANGE_TAG))


def _int(text: str | None) -> int | None:
    if text is None or not text.isdigit():
        return None
    return int(text)


class TickToOrder:
    """The router's venue-submit observation: stage ``router`` and tick-to-order by venue."""

    def __init__(self) -> None:
        self.stage = StageLatency("router")
        self._venues: dict[str, tuple[Histogram, Histogram]] = {}

    def observe(self, venue: str, client_order_id: str, tags: Mapping[str, str]) -> None:
        """At the venue submit of the order whose request carries ``tags``."""
        receive, exchange = tagged_times(tags)
        if receive is None and exchange is None:
            return  # not made from a tick (an operator's order, a kill switch)
        now = time.time_ns()
        self.stage.observe(receive, exchange, now)
        children = self._venues.get(venue)
        if children is None:
            children = self._venues[venue] = (
                metrics.tick_to_order_seconds.labels(venue, "receive"),
                metrics.tick_to_order_seconds.labels(venue, "exchange"),
            )
        exemplar = {"client_order_id": client_order_id[:64]}
        if receive is not None:
            children[0].observe((now - receive) / 1e9, exemplar)
        if exchange is not None:
            children[1].observe((now - exchange) / 1e9, exemplar)


class FeedHealth:
    """What the normalize stage reports per batch: feed freshness per venue, coverage
    gaps per venue, and the ``receive`` and ``normalize`` latencies of its newest record."""

    def __init__(self) -> None:
        self.stage = StageLatency("normalize")
        self._newest: dict[str, int] = {}

    def frame(self, venue: str, receive_ns: int) -> None:
        """A frame of ``venue`` received at ``receive_ns`` went into the normalizer."""
        if receive_ns > self._newest.get(venue, 0):
            self._newest[venue] = receive_ns

    def frames(self, newest: Mapping[str, int]) -> None:
        """:meth:`frame` for a batch: venue -> its newest receive time in the batch."""
        known = self._newest
        for venue, receive_ns in newest.items():
            if receive_ns > known.get(venue, 0):
                known[venue] = receive_ns

    def outputs(self, by_topic: Mapping[str, Sequence[Record]]) -> None:
        """The normalizer's outputs of one call (``md.quotes``, ``md.trades``, ``md.book``,
        ``md.coverage``): one latency observation from the newest market record."""
        for gap in by_topic.get("md.coverage", ()):
            if gap.get("kind", "GAP") == "GAP":
                metrics.coverage_gaps.labels(str(gap.get("venue"))).inc()
        for topic in ("md.quotes", "md.trades", "md.book"):
            records = by_topic.get(topic)
            if records:
                receive, exchange = tick_times(records[-1])
                self.stage.observe(receive, exchange, time.time_ns())
                if receive is not None and exchange is not None:
                    RECEIVE_FROM_EXCHANGE.observe((receive - exchange) / 1e9)
                return

    def publish(self, normalizers: Iterable[Normalizer] = ()) -> None:
        """Set the per-venue last-frame gauges and add the frames ``normalizers``' typed
        fast paths handed to the generic path (once per batch)."""
        for venue, receive_ns in self._newest.items():
            metrics.feed_last_frame_timestamp_seconds.labels(venue).set(receive_ns / 1e9)
        self._newest.clear()
        for norm in normalizers:
            for venue, native in norm.native.items():
                generic = native.generic_frames
                if generic:
                    metrics.normalize_generic_frames.labels(venue).inc(generic)
                    native.generic_frames = 0
