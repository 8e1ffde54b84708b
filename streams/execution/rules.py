"""Venue rules from a ccxt market, and ``adapt``: round a request to the rules or reject it.

Rounding never makes an order more aggressive than asked: a buy limit rounds *down* to the
tick, a sell limit *up*; a buy stop rounds *up* (triggers no earlier), a sell stop *down*;
a price trailing offset rounds *up* (wider); the quantity rounds *down* to the lot.
What the venue lacks is planned for local emulation (:class:`EmulationPlan`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from tapewire.core.exact import to_decimal, wide
from tapewire.core.records import Record
from tapewire.streams.execution.emulation import emulation_note, triggered_type

TICK_SIZE, DECIMAL_PLACES, SIGNIFICANT_DIGITS = 4, 2, 3  # ccxt precision modes
ORDER_TYPES = ("MARKET", "LIMIT", "STOP", "STOP_LIMIT", "TRAILING_STOP")
TIFS = ("GTC", "IOC", "FOK", "DAY", "GTD")


@dataclass(frozen=True, slots=True)
class Increment:
    """A price or amount grid: a fixed step, or N significant digits (ccxt mode 3)."""

    step: Decimal | None = None
    significant: int | None = None

    @classmethod
    def from_ccxt(cls, value: object, mode: int) -> Increment | None:
        """From ``market["precision"][...]`` under ccxt precision mode ``mode``."""
        if value is None:
            return None
        number = to_decimal(value)
        if mode == TICK_SIZE:
            return cls(step=number)
        if mode == DECIMAL_PLACES:
            return cls(step=Decimal(1).scaleb(-int(number)))
        if mode == SIGNIFICANT_DIGITS:
            return cls(significant=int(number))
        raise ValueError(f"unknown ccxt precision mode {mode}")

    def round(self, value: Decimal, *, up: bool) -> Decimal:
        """``value`` on the grid, rounded up (towards +inf) or down."""
        step = self.step
        if step is None:
            if not self.significant or value == 0:
                return value
            step = Decimal(1).scaleb(value.adjusted() - self.significant + 1)
        units = (value / step).to_integral_value(ROUND_CEILING if up else ROUND_FLOOR)
        return (units * step).normalize()

    def __str__(self) -> str:
        return f"step {self.step}" if self.step is not None else f"{self.significant} digits"


@dataclass(frozen=True, slots=True)
class VenueFeatures:
    """What a venue supports natively (from ccxt ``has`` / ``features``, or by hand)."""

    order_types: frozenset[str] = frozenset({"MARKET", "LIMIT"})
    time_in_force: frozenset[str] = frozenset({"GTC", "IOC", "FOK"})
    post_only: bool = True
    cancel_all: bool = True
    edit_order: bool = False  # native replace (ccxt ``has['editOrder']``); else cancel/new

    @classmethod
    def from_ccxt(
        cls, has: Mapping[str, Any], features: Mapping[str, Any] | None = None, kind: str = "spot"
    ) -> VenueFeatures:
        """From an exchange's ``has`` and ``features[kind]["createOrder"]``."""
        types = {"MARKET", "LIMIT"}
        create = ((features or {}).get(kind) or {}).get("createOrder") or {}
        if has.get("createStopMarketOrder") or (
            has.get("createStopOrder") and create.get("triggerPrice")
        ):
            types.add("STOP")
        if has.get("createStopLimitOrder"):
            types.add("STOP_LIMIT")
        if has.get("createTrailingAmountOrder") or create.get("trailing"):
            types.add("TRAILING_STOP")
        tif_flags = create.get("timeInForce") or {"GTC": True, "IOC": True, "FOK": True}
        tifs = {name for name in ("GTC", "IOC", "FOK", "GTD") if tif_flags.get(name)}
        return cls(
            order_types=frozenset(types),
            time_in_force=frozenset(tifs),
            post_only=bool(has.get("createPostOnlyOrder") or tif_flags.get("PO")),
            cancel_all=bool(has.get("cancelAllOrders")),
            edit_order=bool(has.get("editOrder")),
        )


_MARKET_TYPES = {  # Tapewire type -> the exchange's names (Binance spot, then futures)
    "STOP": ("STOP_LOSS", "STOP_MARKET"),
    "STOP_LIMIT": ("STOP_LOSS_LIMIT", "STOP"),
    "TRAILING_STOP": ("TRAILING_STOP_MARKET",),
}


def _market_features(market: Mapping[str, Any], features: VenueFeatures) -> VenueFeatures:
    """``features`` narrowed to the order types one market allows, where the exchange
    lists them per market (Binance's ``orderTypes`` in ``exchangeInfo``, which ccxt's
    ``create_order`` checks too: real Binance spot symbols list ``STOP_LOSS_LIMIT`` but not
    ``STOP_LOSS``, so a STOP there is emulated). Never adds a type."""
    listed = (market.get("info") or {}).get("orderTypes")
    if not isinstance(listed, list):
        return features
    allowed = {str(name) for name in listed}
    kept = {
        kind
        for kind in features.order_types
        if kind not in _MARKET_TYPES or allowed.intersection(_MARKET_TYPES[kind])
    }
    return replace(features, order_types=frozenset(kept))


@dataclass(frozen=True, slots=True)
class EmulationPlan:
    """How to send a request to a venue: native type/TIF plus what Tapewire does locally."""

    venue_order_type: str
    venue_time_in_force: str
    trigger: bool = False  # watch stop_price / trailing locally, then send venue_order_type
    cancel_leaves: bool = False  # IOC emulation: cancel what is left right after the ack
    check_depth: bool = False  # FOK emulation: send only if visible depth covers the quantity
    local_expiry: bool = False  # DAY/GTD emulation: cancel locally at the expiry time
    notes: tuple[str, ...] = ()

    @property
    def emulated(self) -> bool:
        """True when anything is emulated locally."""
        return bool(self.notes)

    @property
    def text(self) -> str | None:
        """Event text, e.g. ``"emulated stop; emulated IOC"``; None when native."""
        return "; ".join(self.notes) or None


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a request cannot go to the venue: the field, its value and the rule broken."""

    field: str
    value: object
    rule: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}={self.value}: {self.reason} ({self.rule})"


@dataclass(frozen=True, slots=True)
class Adapted:
    """A request rounded to the venue's rules, the changes made, and the emulation plan."""

    request: Record
    plan: EmulationPlan
    changes: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class VenueRules:
    """Trading rules of one instrument on one venue."""

    venue: str
    symbol: str
    price: Increment | None = None
    amount: Increment | None = None
    min_qty: Decimal | None = None
    max_qty: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_notional: Decimal | None = None
    max_notional: Decimal | None = None
    features: VenueFeatures = field(default_factory=VenueFeatures)

    @classmethod
    def from_ccxt_market(
        cls,
        market: Mapping[str, Any],
        *,
        venue: str,
        precision_mode: int = TICK_SIZE,
        features: VenueFeatures | None = None,
    ) -> VenueRules:
        """From a ccxt unified market dict (``precision`` + ``limits``); numbers may be
        float (ccxt's default mode), str or Decimal. ``precision_mode`` is the exchange's
        ``precisionMode`` (ccxt.TICK_SIZE = 4, DECIMAL_PLACES = 2, SIGNIFICANT_DIGITS = 3).
        """
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}

        def limit(group: str, bound: str) -> Decimal | None:
            value = (limits.get(group) or {}).get(bound)
            return None if value is None else to_decimal(value)

        feats = _market_features(market, features or VenueFeatures())
        return cls(
            venue=venue,
            symbol=str(market["symbol"]),
            price=Increment.from_ccxt(precision.get("price"), precision_mode),
            amount=Increment.from_ccxt(precision.get("amount"), precision_mode),
            min_qty=limit("amount", "min"),
            max_qty=limit("amount", "max"),
            min_price=limit("price", "min"),
            max_price=limit("price", "max"),
            min_notional=limit("cost", "min"),
            max_notional=limit("cost", "max"),
            features=feats,
        )

    def with_features(self, features: VenueFeatures) -> VenueRules:
        """A copy with other venue features."""
        return replace(self, features=features)

    @wide
    def adapt(
        self, request: Record, *, reference_price: Decimal | None = None
    ) -> Adapted | Rejection:
        """Round a NEW/REPLACE ``OrderRequest`` to the rules, or say why it cannot be sent.

        ``reference_price`` (e.g. the opposite best) is used for the notional of orders
        with no limit price; with a min notional set and no price at all, the request is
        rejected (fail closed).
        """
        out = dict(request)
        changes: list[str] = []
        side = request["side"]
        plan = self.plan(request)
        if isinstance(plan, Rejection):
            return plan
        quantity: Decimal = request["quantity"]
        if quantity <= 0:
            return Rejection("quantity", quantity, "quantity > 0", "quantity must be positive")
        for name, up in (("limit_price", side == "SELL"), ("stop_price", side == "BUY")):
            value = request.get(name)
            if value is None:
                continue
            if value <= 0:
                return Rejection(name, value, f"{name} > 0", f"{name} must be positive")
            rounded = self.price.round(value, up=up) if self.price else value
            if rounded != value:
                changes.append(f"{name} {value} -> {rounded} ({self.price})")
            if self.min_price is not None and rounded < self.min_price:
                return Rejection(name, value, f"min price {self.min_price}", "price below minimum")
            if self.max_price is not None and rounded > self.max_price:
                return Rejection(name, value, f"max price {self.max_price}", "price above maximum")
            out[name] = rounded
        offset = request.get("trailing_offset")
        if (
            offset is not None
            and request.get("trailing_offset_type") != "BASIS_POINTS"
            and self.price
        ):
            out["trailing_offset"] = self.price.round(offset, up=True)
            if out["trailing_offset"] != offset:
                changes.append(
                    f"trailing_offset {offset} -> {out['trailing_offset']} ({self.price})"
                )
        rounded_qty = self.amount.round(quantity, up=False) if self.amount else quantity
        if rounded_qty != quantity:
            changes.append(f"quantity {quantity} -> {rounded_qty} ({self.amount})")
        if rounded_qty <= 0:
            return Rejection(
                "quantity",
                quantity,
                f"lot {self.amount}",
                f"quantity rounds to 0 at lot {self.amount}",
            )
        if self.min_qty is not None and rounded_qty < self.min_qty:
            return Rejection(
                "quantity",
                quantity,
                f"min qty {self.min_qty}",
                f"quantity {rounded_qty} below minimum",
            )
        if self.max_qty is not None and rounded_qty > self.max_qty:
            return Rejection(
                "quantity", quantity, f"max qty {self.max_qty}", "quantity above maximum"
            )
        out["quantity"] = rounded_qty
        price = out.get("limit_price") or out.get("stop_price") or reference_price
        if self.min_notional is not None or self.max_notional is not None:
            if price is None:
                return Rejection(
                    "limit_price",
                    None,
                    f"min notional {self.min_notional}",
                    "no price to check the notional against (pass reference_price)",
                )
            notional = rounded_qty * price
            if self.min_notional is not None and notional < self.min_notional:
                return Rejection(
                    "quantity",
                    rounded_qty,
                    f"min notional {self.min_notional}",
                    f"notional {rounded_qty} x {price} = {notional} below minimum",
                )
            if self.max_notional is not None and notional > self.max_notional:
                return Rejection(
                    "quantity",
                    rounded_qty,
                    f"max notional {self.max_notional}",
                    f"notional {rounded_qty} x {price} = {notional} above maximum",
                )
        return Adapted(out, plan, tuple(changes))

    def plan(self, request: Record) -> EmulationPlan | Rejection:
        """What to send natively and what to emulate locally for ``request``."""
        feats = self.features
        kind, tif = request["order_type"], request["time_in_force"]
        if kind not in ORDER_TYPES:
            return Rejection("order_type", kind, f"one of {ORDER_TYPES}", "unsupported order type")
        if tif not in TIFS:
            return Rejection("time_in_force", tif, f"one of {TIFS}", "unsupported time in force")
        notes: list[str] = []
        venue_type, trigger = kind, False
        if kind not in feats.order_types:
            venue_type = triggered_type(kind)
            trigger = True
            notes.append(emulation_note(kind))
        if request.get("post_only") and not feats.post_only:
            return Rejection("post_only", True, f"{self.venue} features", "venue has no post-only")
        venue_tif, cancel_leaves, check_depth, local_expiry = tif, False, False, False
        if venue_type == "MARKET":
            venue_tif = "IOC" if "IOC" in feats.time_in_force else "GTC"
            if tif == "FOK" and "FOK" not in feats.time_in_force:
                venue_tif, check_depth = "IOC", True
                notes.append("emulated FOK")
            elif tif == "FOK":
                venue_tif = "FOK"
        elif tif not in feats.time_in_force:
            if tif == "IOC":
                venue_tif, cancel_leaves = "GTC", True
            elif tif == "FOK":
                check_depth = True
                venue_tif = "IOC" if "IOC" in feats.time_in_force else "GTC"
                cancel_leaves = venue_tif == "GTC"
            else:  # DAY / GTD
                venue_tif, local_expiry = "GTC", True
            notes.append(f"emulated {tif}")
        return EmulationPlan(
            venue_order_type=venue_type,
            venue_time_in_force=venue_tif,
            trigger=trigger,
            cancel_leaves=cancel_leaves,
            check_depth=check_depth,
            local_expiry=local_expiry,
            notes=tuple(notes),
        )
