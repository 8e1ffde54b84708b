"""What an offline run produced, per venue and channel (the ``summary.json`` document).

A frame's channel is its RawFrame ``channel`` (the connector's hint: a Binance stream name,
``rest``, ...), else its transport in lower case. Records, dead letters (by ``error_type``)
and duplicates are counted against the frame that produced them. Books: every book the
normalizer tracks, with its final state (``SYNCING``, ``LIVE``, ``RESYNCING``) and the
book rebuilt from the published ``md.book`` records alone (what a consumer holds).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tapewire.core.records import TypedRecord
from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.normalizer import BOOK, COVERAGE, DLQ, TOPICS

Frame = dict[str, Any]


def _topics() -> dict[str, int]:
    return dict.fromkeys(TOPICS, 0)


@dataclass
class _Counts:
    frames: int = 0
    records: dict[str, int] = field(default_factory=_topics)
    dead_letters: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0

    def add(self, result: NormalizeResult) -> None:
        self.frames += 1
        for topic, recs in result.records.items():
            self.records[topic] += len(recs)
        for letter in result.records[DLQ]:
            self.dead_letters[str(letter["error_type"])] += 1
        self.duplicates += result.duplicates

    def as_json(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "records": dict(self.records),
            "dead_letters": dict(sorted(self.dead_letters.items())),
            "duplicates": self.duplicates,
        }


@dataclass
class _Book:
    """A book rebuilt from published md.book records."""

    snapshots: int = 0
    deltas: int = 0
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)
    last_sequence: int | None = None
    last_receive_ts_ns: int | None = None

    def apply(self, record: TypedRecord) -> None:
        if record["kind"] == "SNAPSHOT":
            self.snapshots += 1
            self.bids, self.asks = {}, {}
        else:
            self.deltas += 1
        for side, levels in ((self.bids, record["bids"]), (self.asks, record["asks"])):
            for level in levels:
                if level["size"] == 0:
                    side.pop(level["price"], None)
                else:
                    side[level["price"]] = level["size"]
        self.last_sequence = record["last_sequence"]
        self.last_receive_ts_ns = record["receive_ts_ns"]

    def as_json(self, state: str | None) -> dict[str, Any]:
        best_bid = max(self.bids, default=None)
        best_ask = min(self.asks, default=None)
        return {
            "state": state,
            "snapshots": self.snapshots,
            "deltas": self.deltas,
            "bid_levels": len(self.bids),
            "ask_levels": len(self.asks),
            "best_bid": None if best_bid is None else format(best_bid, "f"),
            "best_ask": None if best_ask is None else format(best_ask, "f"),
            "last_sequence": self.last_sequence,
            "last_receive_ts_ns": self.last_receive_ts_ns,
        }


class RunSummary:
    """Accumulates frame results; :meth:`as_json` is the summary document."""

    def __init__(self) -> None:
        self.total = _Counts()
        self.venues: dict[str, _Counts] = {}
        self.channels: dict[str, dict[str, _Counts]] = {}
        self.books: dict[tuple[str, str], _Book] = {}
        self.coverage: dict[str, list[dict[str, Any]]] = {}
        self.files: list[dict[str, Any]] = []

    def add(self, frame: Frame, result: NormalizeResult) -> None:
        """Count one frame and what normalizing it produced."""
        venue = str(frame.get("venue"))
        channel = frame.get("channel") or str(frame.get("transport") or "unknown").lower()
        self.total.add(result)
        counts = self.venues.get(venue)
        if counts is None:
            counts = self.venues[venue] = _Counts()
            self.channels[venue] = {}
        counts.add(result)
        per_channel = self.channels[venue].get(channel)
        if per_channel is None:
            per_channel = self.channels[venue][channel] = _Counts()
        per_channel.add(result)
        for record in result.records[BOOK]:
            key = (str(record["venue"]), str(record["instrument"]))
            book = self.books.get(key)
            if book is None:
                book = self.books[key] = _Book()
            book.apply(record)
        for event in result.records[COVERAGE]:
            self.coverage.setdefault(str(event["venue"]), []).append(
                {
                    "instrument": event["instrument"],
                    "channel": event["channel"],
                    "event": event["event"],
                    "reason": event["reason"],
                    "from_ns": event["from_ns"],
                    "to_ns": event["to_ns"],
                }
            )

    def as_json(self, normalizer: Normalizer) -> dict[str, Any]:
        """The summary document; book states are ``normalizer``'s at the end of the run."""
        keys = sorted(set(normalizer.books) | set(self.books))
        venues: dict[str, Any] = {}
        for venue in sorted(set(self.venues) | {v for v, _ in keys}):
            counts = self.venues.get(venue, _Counts())
            books = {
                inst: self.books.get((v, inst), _Book()).as_json(
                    _state(normalizer.book_state(v, inst))
                )
                for v, inst in keys
                if v == venue
            }
            events = self.coverage.get(venue, [])
            venues[venue] = {
                **counts.as_json(),
                "channels": {
                    name: c.as_json() for name, c in sorted(self.channels.get(venue, {}).items())
                },
                "books": books,
                "book_states": dict(sorted(Counter(b["state"] for b in books.values()).items())),
                "coverage": {
                    "events": events,
                    "counts": dict(
                        sorted(Counter(f"{e['event']}:{e['reason']}" for e in events).items())
                    ),
                },
            }
        return {"files": self.files, **self.total.as_json(), "venues": venues}


def _state(state: Any) -> str | None:
    return None if state is None else str(state)
