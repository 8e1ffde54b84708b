"""Alerts the notifier derives from other topics: fills, feed health and daily PnL.

* ``oms.fills`` → ``FILL`` (INFO), one per fill;
* ``md.coverage`` → ``FEED_GAP`` (WARNING) when a venue's data becomes incomplete,
  ``FEED_RESYNC`` (INFO) when it is whole again, with the length of the gap;
* ``positions`` → ``DAILY_PNL`` per account and UTC day (INFO, WARNING for a loss), sent
  with the account's first position record of the next day (the day is closed then),
  computed by the risk gate's own :class:`~tapewire.streams.risk.DailyPnl`.

Derived alerts have deterministic ids and the record's event time, so a replay derives
the same alerts and de-duplication recognises them.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from tapewire.records.market import CoverageEvent
from tapewire.records.orders import Fill
from tapewire.records.positions import Position
from tapewire.records.risk import Alert
from tapewire.streams.notify.render import utc_text
from tapewire.streams.risk.pnl import NS_PER_DAY, DailyPnl, utc_day


class AlertDeriver:
    """Turns fills, coverage events and positions into alerts (``kinds`` chooses which)."""

    def __init__(self, kinds: Collection[str] = ("fills", "feed_health", "daily_pnl")) -> None:
        self.kinds = frozenset(kinds)
        self._pnl = DailyPnl()
        self._day: dict[str, int] = {}

    def on_fill(self, fill: Fill) -> list[Alert]:
        """A ``FILL`` alert (if ``fills`` is derived)."""
        if "fills" not in self.kinds:
            return []
        return [
            Alert(
                alert_id=f"oms:fill:{fill.fill_id}",
                severity="INFO",
                source="oms",
                code="FILL",
                message=(
                    f"{fill.side} {fill.quantity} {fill.instrument} @ {fill.price} on "
                    f"{fill.venue} (account {fill.account}, order {fill.client_order_id})"
                ),
                labels={
                    "account": fill.account,
                    "venue": fill.venue,
                    "instrument": fill.instrument,
                    "side": fill.side,
                    "fill_id": fill.fill_id,
                },
                event_ts_ns=fill.receive_ts_ns,
            )
        ]

    def on_coverage(self, event: CoverageEvent) -> list[Alert]:
        """``FEED_GAP`` for a GAP, ``FEED_RESYNC`` for a RESYNC (if ``feed_health``)."""
        if "feed_health" not in self.kinds or event.event not in ("GAP", "RESYNC"):
            return []
        where = f"{event.venue} {event.instrument} {event.channel}"
        if event.event == "GAP":
            severity, code = "WARNING", "FEED_GAP"
            message = f"{where}: data incomplete since {utc_text(event.from_ns)} ({event.reason})"
        else:
            severity, code = "INFO", "FEED_RESYNC"
            length = ""
            if event.to_ns is not None:
                length = f" after {seconds(event.to_ns - event.from_ns)} s"
            message = f"{where}: whole again{length} ({event.reason})"
        return [
            Alert(
                alert_id=f"feed:{event.venue}:{event.instrument}:{event.channel}:"
                f"{event.event}:{event.from_ns}",
                severity=severity,
                source=f"feed:{event.venue}",
                code=code,
                message=message,
                labels={
                    "venue": event.venue,
                    "instrument": event.instrument,
                    "channel": event.channel,
                },
                event_ts_ns=event.process_ts_ns,
            )
        ]

    def on_position(self, position: Position) -> list[Alert]:
        """``DAILY_PNL`` of the account's previous day when its first record of a later
        UTC day arrives (if ``daily_pnl``); the record is applied either way."""
        out: list[Alert] = []
        account, day = position.account, utc_day(position.update_ts_ns)
        last = self._day.get(account)
        if "daily_pnl" in self.kinds and last is not None and day > last:
            pnl = self._pnl.pnl(account, last * NS_PER_DAY)
            date = datetime.fromtimestamp(last * 86_400, UTC).date().isoformat()
            out.append(
                Alert(
                    alert_id=f"positions:daily_pnl:{account}:{date}",
                    severity="WARNING" if pnl < 0 else "INFO",
                    source="positions",
                    code="DAILY_PNL",
                    message=f"account {account} PnL on {date} (UTC): {pnl} "
                    f"(realized + unrealized - fees)",
                    labels={"account": account, "date": date},
                    event_ts_ns=position.update_ts_ns,
                )
            )
        self._pnl.on_position(position)
        if last is None or day > last:
            self._day[account] = day
        return out


def seconds(ns: int) -> str:
    """Exact seconds from integer nanoseconds: ``1.5`` for 1_500_000_000, ``60`` for 60 s."""
    whole, fraction = divmod(ns, 1_000_000_000)
    return f"{whole}.{fraction:09d}".rstrip("0").rstrip(".")
