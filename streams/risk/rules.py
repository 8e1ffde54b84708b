"""The pre-trade rules. Each returns None to pass or a reason (with the numbers) to deny."""

from __future__ import annotations

import string
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from tapewire.core.exact import BPS, WIDE, ZERO, add, div18, mul, sub
from tapewire.streams.oms import (
    OrderAction,
    OrderRequest,
    Side,
    TrailingOffsetType,
    validate_request,
)
from tapewire.streams.risk.config import AccountLimits, InstrumentLimits, TradingState
from tapewire.streams.risk.context import RiskContext

NS_PER_MS = 1_000_000
CLIENT_ORDER_ID_CHARS = frozenset(string.ascii_letters + string.digits + "._:/~-")
"""The characters of a client order id (FIX ClOrdID, kept to what venues accept: Binance's
``[.A-Za-z0-9:/_-]``, plus ``~`` of :func:`tapewire.streams.oms.request.derived_id`)."""


@dataclass(frozen=True, slots=True)
class Check:
    """One request under evaluation with everything the rules read."""

    request: OrderRequest
    ctx: RiskContext
    state: TradingState
    account: AccountLimits | None
    seen: AbstractSet[str]
    """The account's used client order ids (the gate's own set, read only: copying it per
    request cost time growing with the day's orders)."""
    rate_count: int

    @property
    def limits(self) -> InstrumentLimits | None:
        """The instrument's limits for the account; None when it may not trade it."""
        if self.account is None:
            return None
        return self.account.instruments.get(self.request.instrument)

    def same_side_open(self) -> Decimal:
        """Open quantity on the request's side and instrument (the replaced order excluded)."""
        r = self.request
        total = ZERO
        for o in self.ctx.open_orders:
            if (
                o.instrument == r.instrument
                and o.side is r.side
                and o.client_order_id != r.orig_client_order_id
            ):
                total = add(total, o.leaves_qty)
        return total

    def projected(self) -> Decimal:
        """Position if every same-side open order and this one filled."""
        exposure = add(self.same_side_open(), self.request.quantity)
        return add(self.ctx.position, exposure if self.request.side is Side.BUY else -exposure)

    def reducing(self) -> bool:
        """True when the request (with same-side open orders) only shrinks the position."""
        pos = self.ctx.position
        against = (pos > 0 and self.request.side is Side.SELL) or (
            pos < 0 and self.request.side is Side.BUY
        )
        return against and add(self.same_side_open(), self.request.quantity) <= abs(pos)

    def notional_price(self) -> Decimal:
        """Limit price if any, else the worse of stop price and the touch."""
        r = self.request
        if r.limit_price is not None:
            return r.limit_price
        quote = self.ctx.quote
        touch = quote.touch(r.side) if quote else None
        return max(r.stop_price or ZERO, touch or ZERO)

    def mid(self) -> Decimal | None:
        """NBBO mid of the request's instrument."""
        return self.ctx.quote.mid if self.ctx.quote else None


Rule = Callable[[Check], str | None]


def request_valid(c: Check) -> str | None:
    """The request is well formed (every field problem listed)."""
    problems = validate_request(c.request)
    return "; ".join(str(p) for p in problems) if problems else None


def client_order_id_format(c: Check) -> str | None:
    """Client order ids (own and the one acted on) use only :data:`CLIENT_ORDER_ID_CHARS`
    (the length, at most 64, is ``request_valid``'s)."""
    for name in ("client_order_id", "orig_client_order_id"):
        value: str | None = getattr(c.request, name)
        bad = sorted({ch for ch in value or "" if ch not in CLIENT_ORDER_ID_CHARS})
        if bad:
            return (
                f"{name} {value!r} has characters {''.join(bad)!r} outside A-Z a-z 0-9 "
                ". _ : / ~ - (venues refuse them)"
            )
    return None


def _off_grid(name: str, value: Decimal, step: Decimal, what: str) -> str | None:
    if WIDE.remainder(value, step) == 0:
        return None
    below = WIDE.multiply(WIDE.divide(value, step).to_integral_value(ROUND_FLOOR), step)
    return (
        f"{name} {value} is not a multiple of the {what} {step} "
        f"(nearest below: {below.normalize():f}, above: {(below + step).normalize():f})"
    )


def quantity_increment(c: Check) -> str | None:
    """The quantity is a multiple of the instrument's ``qty_increment`` (when set)."""
    assert c.limits is not None
    step = c.limits.qty_increment
    return None if step is None else _off_grid("quantity", c.request.quantity, step, "lot")


def price_increment(c: Check) -> str | None:
    """Limit and stop prices, and a trailing offset in price, are multiples of the
    instrument's ``price_increment`` (when set)."""
    assert c.limits is not None
    step = c.limits.price_increment
    if step is None:
        return None
    r = c.request
    prices = [("limit_price", r.limit_price), ("stop_price", r.stop_price)]
    if r.trailing_offset_type is TrailingOffsetType.PRICE:
        prices.append(("trailing_offset", r.trailing_offset))
    for name, value in prices:
        if value is not None and (problem := _off_grid(name, value, step, "tick")):
            return problem
    return None


def account_known(c: Check) -> str | None:
    """The account is configured (unknown accounts are denied: fail closed)."""
    return None if c.account else f"account {c.request.account!r} has no risk limits"


def trading_state(c: Check) -> str | None:
    """HALTED (or UNKNOWN) allows only cancels; REDUCING only position-reducing orders."""
    if c.request.action in (OrderAction.CANCEL, OrderAction.CANCEL_ALL):
        return None
    if c.state.severity >= 2:
        return f"trading state {c.state}: only cancels are accepted"
    if c.state is TradingState.REDUCING and not c.reducing():
        return (
            f"trading state REDUCING: {c.request.side} {c.request.quantity} "
            f"(+{c.same_side_open()} open same side) does not reduce position {c.ctx.position}"
        )
    return None


def duplicate_client_order_id(c: Check) -> str | None:
    """The client order id was never seen for this account (idempotency key)."""
    cid = c.request.client_order_id
    known = cid in c.seen or any(o.client_order_id == cid for o in c.ctx.open_orders)
    return f"client order id {cid!r} is already known for this account" if known else None


def unknown_order(c: Check) -> str | None:
    """CANCEL/REPLACE act on one of the account's open orders."""
    orig = c.request.orig_client_order_id
    if any(o.client_order_id == orig for o in c.ctx.open_orders):
        return None
    return f"no open order {orig!r} to {c.request.action.lower()}"


def unknown_instrument(c: Check) -> str | None:
    """The account may trade the instrument (has limits for it)."""
    if c.limits is None:
        return f"instrument {c.request.instrument!r} is not configured for this account"
    return None


def missing_reference_price(c: Check) -> str | None:
    """A two-sided, uncrossed NBBO exists for the instrument."""
    q = c.ctx.quote
    if q is None:
        return f"no NBBO for {c.request.instrument}"
    if q.mid is None or q.ts_ns is None:
        return f"NBBO for {c.request.instrument} unusable: bid {q.bid}, ask {q.ask}"
    return None


def stale_market_data(c: Check) -> str | None:
    """The NBBO's older side is at most ``stale_quote_ms`` old."""
    quote_ts = c.ctx.quote.ts_ns if c.ctx.quote else None
    if c.account is None or quote_ts is None:
        return "no reference quote timestamp"
    age = c.ctx.now_ns - quote_ts
    limit = c.account.stale_quote_ms * NS_PER_MS
    if age > limit:
        return f"reference quote is {age} ns old > {limit} ns ({c.account.stale_quote_ms} ms)"
    return None


def max_order_qty(c: Check) -> str | None:
    """Quantity at most ``max_order_qty``."""
    assert c.limits is not None
    if c.request.quantity > c.limits.max_order_qty:
        return f"quantity {c.request.quantity} > max {c.limits.max_order_qty}"
    return None


def max_notional(c: Check) -> str | None:
    """Quantity x price (limit, else worse of stop and touch) at most ``max_order_notional``."""
    assert c.limits is not None
    price = c.notional_price()
    notional = mul(c.request.quantity, price)
    if notional > c.limits.max_order_notional:
        return (
            f"notional {notional} ({c.request.quantity} x {price}) > max "
            f"{c.limits.max_order_notional}"
        )
    return None


def price_band(c: Check) -> str | None:
    """Limit and stop prices within ``price_band_bps`` of the NBBO mid (fat finger)."""
    assert c.limits is not None
    mid = c.mid()
    assert mid is not None
    band = c.limits.price_band_bps
    for name in ("limit_price", "stop_price"):
        price: Decimal | None = getattr(c.request, name)
        if price is None:
            continue
        distance = mul(abs(sub(price, mid)), BPS)
        if distance > mul(band, mid):
            bps = div18(distance, mid).quantize(Decimal("0.01"))
            return f"{name} {price} is {bps} bps from NBBO mid {mid} > band {band} bps"
    return None


def reduce_only(c: Check) -> str | None:
    """A reduce-only request reduces the position."""
    if c.request.reduce_only and not c.reducing():
        return (
            f"reduce-only {c.request.side} {c.request.quantity} does not reduce position "
            f"{c.ctx.position} (+{c.same_side_open()} open same side)"
        )
    return None


def position_limit(c: Check) -> str | None:
    """|position + same-side open + this order| at most ``max_position`` unless reducing."""
    assert c.limits is not None
    projected = c.projected()
    if abs(projected) > c.limits.max_position and not c.reducing():
        return (
            f"projected position {projected} (position {c.ctx.position}, open same side "
            f"{c.same_side_open()}, order {c.request.side} {c.request.quantity}) exceeds "
            f"max {c.limits.max_position}"
        )
    return None


def daily_loss_limit(c: Check) -> str | None:
    """At a daily loss of ``daily_loss_limit`` or more, only reducing orders pass."""
    assert c.account is not None
    limit = c.account.daily_loss_limit
    if c.ctx.daily_pnl <= -limit and not c.reducing():
        return f"daily PnL {c.ctx.daily_pnl} reached loss limit -{limit}; only reducing orders"
    return None


def max_open_orders(c: Check) -> str | None:
    """Open orders of the account, with this one, at most ``max_open_orders``."""
    assert c.account is not None
    count = len(c.ctx.open_orders)
    if count + 1 > c.account.max_open_orders:
        return f"{count} open orders + 1 > max {c.account.max_open_orders}"
    return None


def order_rate(c: Check) -> str | None:
    """Approved NEW/REPLACE in the last ``rate_window_ms``, with this one, at most the max."""
    assert c.account is not None
    limit = c.account.max_orders_per_window
    if c.rate_count + 1 > limit:
        return f"{c.rate_count} orders in the last {c.account.rate_window_ms} ms + 1 > max {limit}"
    return None


CANCEL_ALL_RULES: tuple[Rule, ...] = (
    request_valid,
    client_order_id_format,
    account_known,
    duplicate_client_order_id,
)
CANCEL_RULES: tuple[Rule, ...] = (*CANCEL_ALL_RULES, unknown_order)
_ORDER_RULES: tuple[Rule, ...] = (
    unknown_instrument,
    quantity_increment,
    price_increment,
    missing_reference_price,
    stale_market_data,
    max_order_qty,
    max_notional,
    price_band,
    reduce_only,
    position_limit,
    daily_loss_limit,
)
NEW_RULES: tuple[Rule, ...] = (
    request_valid,
    client_order_id_format,
    account_known,
    trading_state,
    duplicate_client_order_id,
    *_ORDER_RULES,
    max_open_orders,
    order_rate,
)
REPLACE_RULES: tuple[Rule, ...] = (
    request_valid,
    client_order_id_format,
    account_known,
    trading_state,
    duplicate_client_order_id,
    unknown_order,
    *_ORDER_RULES,
    order_rate,
)
ALL_RULES = frozenset(rule.__name__ for rule in (*NEW_RULES, unknown_order))


def rules_for(action: OrderAction) -> tuple[Rule, ...]:
    """The rules evaluated, in order, for a request with ``action``."""
    return {
        OrderAction.NEW: NEW_RULES,
        OrderAction.REPLACE: REPLACE_RULES,
        OrderAction.CANCEL: CANCEL_RULES,
        OrderAction.CANCEL_ALL: CANCEL_ALL_RULES,
    }.get(action, (request_valid,))
