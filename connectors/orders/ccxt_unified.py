"""Tapewire orders in ccxt's unified terms, and ccxt trades back as exact fill terms.

Pure functions, no exchange object: what :class:`tapewire.connectors.orders.ccxt_venue.CcxtVenue`
passes to ``create_order`` / ``edit_order`` and how it reads a ccxt trade structure.

ccxt's unified conventions (``createOrder`` params, the ``features`` of each exchange):

* a stop (trigger) order is a ``market`` or ``limit`` order with ``params["triggerPrice"]``;
  ccxt turns it into the exchange's type (Binance spot: ``STOP_LOSS`` /
  ``STOP_LOSS_LIMIT`` with ``stopPrice``). Tapewire's STOP triggers a buy at or above and a
  sell at or below the stop, which is ccxt's ``triggerPrice`` / ``stopLossPrice`` side (not
  ``takeProfitPrice``);
* a native trailing stop is a ``market`` order with ``params["trailingAmount"]`` (offset in
  price) or ``params["trailingPercent"]`` (basis points / 100);
* ``editOrder`` reads the trigger as ``stopPrice``: the alias every ccxt exchange accepts
  (``safe_string_2(params, "triggerPrice", "stopPrice")``), and the one Binance's
  ``editSpotOrder`` removes from the request (it forwards ``triggerPrice`` to the exchange
  as an unknown parameter, which Binance refuses with -1104).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tapewire.core.exact import BPS, ZERO, add, to_decimal, wide
from tapewire.core.records import Record
from tapewire.streams.execution.emulation import triggered_type


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@wide
def create_args(
    request: Record, venue_type: str, venue_tif: str
) -> tuple[str, str | None, dict[str, Any]]:
    """``(ccxt type, price text, params)`` for ``create_order`` of a NEW ``request`` sent
    as ``venue_type`` (the plan's native type: MARKET, LIMIT, STOP, STOP_LIMIT or
    TRAILING_STOP; a triggered emulated stop is sent as MARKET or LIMIT)."""
    params: dict[str, Any] = {"clientOrderId": request["client_order_id"]}
    kind = triggered_type(venue_type).lower()
    if kind == "limit":
        params["timeInForce"] = venue_tif
    if venue_type in ("STOP", "STOP_LIMIT"):
        params["triggerPrice"] = str(request["stop_price"])
    elif venue_type == "TRAILING_STOP":
        offset: Decimal = request["trailing_offset"]
        if request.get("trailing_offset_type") == "BASIS_POINTS":
            params["trailingPercent"] = str((offset * 100 / BPS).normalize())
        else:
            params["trailingAmount"] = str(offset)
    if request.get("post_only"):
        params["postOnly"] = True
    if request.get("reduce_only"):
        params["reduceOnly"] = True
    price = _text(request.get("limit_price")) if kind == "limit" else None
    return kind, price, params


def edit_args(
    request: Record, venue_type: str, venue_tif: str
) -> tuple[str, str | None, dict[str, Any]]:
    """``(ccxt type, price text, params)`` for ``edit_order`` to ``request``'s terms: the
    new client order id as ``clientOrderId``, the trigger as ``stopPrice`` (module
    docstring)."""
    kind, price, params = create_args(request, venue_type, venue_tif)
    if "triggerPrice" in params:
        params["stopPrice"] = params.pop("triggerPrice")
    return kind, price, params


@dataclass(frozen=True, slots=True)
class TradeTerms:
    """One execution as ccxt's trade structure gives it, in exact decimals."""

    trade_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str | None
    liquidity: str
    ts_ns: int | None


def trade_terms(trade: Mapping[str, Any]) -> TradeTerms:
    """Read a ccxt trade (``fetch_my_trades`` row, or an order's ``trades`` entry).

    The fee is the trade's own ``fee`` (else the sum of ``fees`` in the first currency):
    never ccxt's per-order accumulation, which adds floats. A float ccxt parsed from the
    exchange's text goes through ``repr`` (``to_decimal``), exact for every value of at most
    15 significant digits. ``takerOrMaker`` gives MAKER/TAKER, else UNKNOWN.
    """
    fees = [trade["fee"]] if trade.get("fee") else list(trade.get("fees") or [])
    fees = [f for f in fees if f and f.get("cost") is not None]
    currency = fees[0].get("currency") if fees else None
    cost = ZERO
    for fee in fees:
        if fee.get("currency") == currency:
            cost = add(cost, to_decimal(fee["cost"]))
    role = str(trade.get("takerOrMaker") or "").upper()
    ts = trade.get("timestamp")
    return TradeTerms(
        trade_id=str(trade.get("id")),
        quantity=to_decimal(trade["amount"]),
        price=to_decimal(trade["price"]),
        fee=cost,
        fee_currency=None if currency is None else str(currency),
        liquidity=role if role in ("MAKER", "TAKER") else "UNKNOWN",
        ts_ns=int(ts) * 1_000_000 if ts else None,
    )
