"""Local emulation of what a venue lacks: stop / stop-limit / trailing-stop triggers, cancel-all.

Shared by every venue that emulates (the paper venue, the ccxt venue): the same watcher,
the same texts, the same order type once triggered.

A :class:`TriggerWatcher` holds untriggered stop orders and, fed the last trade (or quote)
price of an instrument, reports which of that instrument's stops trigger: a buy stop when
``price >= stop``, a sell stop when ``price <= stop`` (at or through the stop). A trailing
stop's trigger follows the best price seen since acceptance (sell: high-water mark minus
offset; buy: low-water mark plus offset), never loosening.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from tapewire.core.exact import BPS, wide
from tapewire.core.records import MutableRecord, Record

STOP_TYPES = frozenset({"STOP", "STOP_LIMIT", "TRAILING_STOP"})
"""Order types that wait for a trigger price."""


def triggered_type(order_type: str) -> str:
    """What an order works as once live (a stop: after its trigger): LIMIT for LIMIT and
    STOP_LIMIT, MARKET for the others."""
    return "LIMIT" if order_type in ("LIMIT", "STOP_LIMIT") else "MARKET"


def emulation_note(order_type: str) -> str:
    """Event text of an emulated order type, e.g. ``emulated trailing-stop``."""
    return "emulated " + order_type.lower().replace("_", "-")


def triggered_note(price: Decimal) -> str:
    """Event text (``RESTATED``) when an emulated stop triggers."""
    return f"triggered at {price}"


@dataclass(slots=True)
class Trigger:
    """One watched stop: ``stop`` is the current trigger price (None until known)."""

    key: str
    side: str
    stop: Decimal | None
    instrument: str = ""
    offset: Decimal | None = None  # trailing only
    offset_bps: bool = False
    extreme: Decimal | None = None  # trailing: best price seen (sell: max, buy: min)

    @wide
    def observe(self, price: Decimal) -> bool:
        """Update a trailing trigger with ``price``; True when ``price`` triggers the stop."""
        if self.offset is not None:
            better = self.extreme is None or (
                price > self.extreme if self.side == "SELL" else price < self.extreme
            )
            if better:
                self.extreme = price
                distance = price * self.offset / BPS if self.offset_bps else self.offset
                trail = price - distance if self.side == "SELL" else price + distance
                if self.stop is None:
                    self.stop = trail
                else:
                    self.stop = (
                        max(self.stop, trail) if self.side == "SELL" else min(self.stop, trail)
                    )
        if self.stop is None:
            return False
        return price >= self.stop if self.side == "BUY" else price <= self.stop


class TriggerWatcher:
    """Untriggered stops by key; :meth:`on_price` returns the keys that trigger, in order added."""

    def __init__(self) -> None:
        self._triggers: dict[str, Trigger] = {}

    def add_request(self, key: str, request: Record) -> Trigger:
        """Watch a STOP, STOP_LIMIT or TRAILING_STOP ``OrderRequest`` under ``key``."""
        kind = request["order_type"]
        if kind not in STOP_TYPES:
            raise ValueError(f"{kind} is not a stop order type")
        trailing = kind == "TRAILING_STOP"
        trigger = Trigger(
            key=key,
            side=request["side"],
            stop=request.get("stop_price"),
            instrument=request.get("instrument") or "",
            offset=request.get("trailing_offset") if trailing else None,
            offset_bps=trailing and request.get("trailing_offset_type") == "BASIS_POINTS",
        )
        if trailing and trigger.offset is None:
            raise ValueError("TRAILING_STOP needs trailing_offset")
        if not trailing and trigger.stop is None:
            raise ValueError(f"{kind} needs stop_price")
        self._triggers[key] = trigger
        return trigger

    def remove(self, key: str) -> Trigger | None:
        """Stop watching ``key`` (cancel, expiry, trigger)."""
        return self._triggers.pop(key, None)

    def watching(self, instrument: str) -> bool:
        """True when a stop of ``instrument`` is watched (a venue may skip the rest)."""
        return any(t.instrument == instrument for t in self._triggers.values())

    def get(self, key: str) -> Trigger | None:
        """The watched trigger for ``key``, if any."""
        return self._triggers.get(key)

    def on_price(self, price: Decimal, instrument: str | None = None) -> list[str]:
        """Feed the last trade (or quote) price of ``instrument`` (None: every watched
        stop); its triggered keys are removed and returned."""
        fired = [
            key
            for key, trig in self._triggers.items()
            if instrument in (None, trig.instrument) and trig.observe(price)
        ]
        for key in fired:
            del self._triggers[key]
        return fired

    def __len__(self) -> int:
        return len(self._triggers)


def local_cancel_all(open_orders: Iterable[Record], request: Record) -> list[MutableRecord]:
    """One CANCEL ``OrderRequest`` per open order matching a CANCEL_ALL ``request``.

    For venues with no native cancel-all. ``open_orders`` are records with at least
    ``client_order_id``, ``account``, ``venue``, ``instrument``, ``side``, ``order_type``,
    ``time_in_force`` and ``quantity``; an empty ``venue``/``instrument`` in the request
    means all. Cancel ids are ``<cancel-all id>:<n>`` (deterministic).
    """
    out: list[MutableRecord] = []
    for order in open_orders:
        if request["venue"] and order["venue"] != request["venue"]:
            continue
        if request["instrument"] and order["instrument"] != request["instrument"]:
            continue
        if order["account"] != request["account"]:
            continue
        out.append(
            {
                "client_order_id": f"{request['client_order_id']}:{len(out)}",
                "account": order["account"],
                "venue": order["venue"],
                "instrument": order["instrument"],
                "action": "CANCEL",
                "orig_client_order_id": order["client_order_id"],
                "side": order["side"],
                "order_type": order["order_type"],
                "time_in_force": order["time_in_force"],
                "quantity": order["quantity"],
                "requested_by": request.get("requested_by", "cancel-all"),
                "request_ts_ns": request["request_ts_ns"],
                "strategy_id": request.get("strategy_id"),
                "tags": {**dict(request.get("tags") or {}), "emulated": "cancel-all"},
            }
        )
    return out
