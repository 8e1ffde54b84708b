"""Bounds and conventions of the TCA core (what its state may hold, which tags name a parent)."""

from __future__ import annotations

from dataclasses import dataclass

from tapewire.core.errors import ConfigError

PARENT_TAGS = ("sor.parent", "algo.parent")
"""Request tags that name an order's parent (the SOR's children carry ``sor.parent``)."""
QTY_SUFFIX = "_qty"
"""``<parent tag>_qty`` (``sor.parent_qty``) on a child: the parent's quantity, for its fill
ratio and shortfall; without it a parent's figures cover the filled quantity only."""


@dataclass(frozen=True)
class TcaConfig:
    """What the TCA state keeps; every collection is bounded (``docs/tca.md``, "Bounds").

    ``max_open_orders``: orders followed at once; beyond it the oldest is reported as it
    stands (``note`` says evicted). ``max_parents``: parents whose running totals are kept
    for later children; the oldest is forgotten. ``max_finished``: ids of reported orders
    remembered so late records for them are ignored, not reported again.
    ``mid_history``: NBBO mids per instrument and quotes per venue kept to look up the
    mid at or before a time. ``trade_history``: recent trades per instrument, so an order
    whose approval is read after some of its interval's trades still counts them.
    """

    max_open_orders: int = 100_000
    max_parents: int = 10_000
    max_finished: int = 100_000
    mid_history: int = 256
    trade_history: int = 1_000
    parent_tags: tuple[str, ...] = PARENT_TAGS

    def __post_init__(self) -> None:
        for name in ("max_open_orders", "max_parents", "max_finished", "mid_history"):
            value = getattr(self, name)
            if value < 1:
                raise ConfigError(f"tca.{name} must be >= 1", field=name, value=value)
        if self.trade_history < 0:
            raise ConfigError(
                "tca.trade_history must be >= 0", field="trade_history", value=self.trade_history
            )
