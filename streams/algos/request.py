"""What a strategy asks the execution algos for: an :class:`AlgoRequest`, validated.

One request = one algo order: who (``account``, ``strategy_id``), where (``venue``,
``instrument``), what (``side``, ``quantity``, optional ``limit_price``) and how: the
``params`` of one algo, whose ``kind`` tag names it (:class:`AlgoKind`):

========  ==================  ====================================================
kind      params              what it does
========  ==================  ====================================================
TWAP      :class:`TwapParams`     ``slices`` equal slices between ``start_ns`` and
                                  ``end_ns``, optional time/size randomisation
VWAP      :class:`VwapParams`     one slice per ``profile`` weight (historical volume
                                  share), same window and randomisation as TWAP
POV       :class:`PovParams`      ``rate`` of the observed ``md.trades`` volume
ICEBERG   :class:`IcebergParams`  one resting LIMIT of ``display_qty`` at a time,
                                  refreshed when it fills
OCO       :class:`OcoParams`      two linked orders; a fill of one cancels the other
BRACKET   :class:`BracketParams`  an entry; each entry fill opens a take-profit LIMIT
                                  and a stop-loss STOP, linked as OCO
========  ==================  ====================================================

Requests and params are ``msgspec`` structs, so a request travels as JSON
(:func:`decode_request`, :func:`encode_request`) and is journaled inside ``AlgoNew``.
:meth:`AlgoRequest.check` raises :class:`AlgoRequestError` naming the first bad field
(dotted: ``params.slices``), its value and what to do. Trailing stops and GTD orders are
venue order types (``OrderType.TRAILING_STOP``, ``TimeInForce.GTD``), not algos.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec

from tapewire.core.exact import BPS, ZERO, fits_decimal_38_18
from tapewire.core.instruments import Instrument, InstrumentError
from tapewire.streams.algos.errors import AlgoRequestError
from tapewire.streams.oms.enums import OrderType, Side, TimeInForce
from tapewire.streams.oms.request import MAX_ID_CHARS

MAX_SLICES = 10_000
"""Most slices a TWAP or VWAP may have."""
MAX_ALGO_ID_CHARS = 40
"""Longest algo id: child ids append ``:<leg>:c<n>`` (and stay within 64 characters)."""


class AlgoKind(StrEnum):
    """The execution algos (the ``kind`` tag of the params)."""

    TWAP = "TWAP"
    VWAP = "VWAP"
    POV = "POV"
    ICEBERG = "ICEBERG"
    OCO = "OCO"
    BRACKET = "BRACKET"


class _Params(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    pass


class TwapParams(_Params, frozen=True, kw_only=True, tag="TWAP"):
    """``slices`` slices over ``[start_ns, end_ns)``: slice ``k`` is due at
    ``start + k * interval`` plus up to ``time_jitter * interval`` (a fraction in
    ``[0, 1)``), and its size is ``quantity / slices`` times ``1 ± size_jitter``
    (``[0, 1)``). The randomisation is drawn from ``seed`` and the algo id."""

    start_ns: int
    end_ns: int
    slices: int
    time_jitter: Decimal = ZERO
    size_jitter: Decimal = ZERO
    seed: int = 0


class VwapParams(_Params, frozen=True, kw_only=True, tag="VWAP"):
    """As TWAP, with slice ``k`` sized by ``profile[k]`` (any non-negative weights, e.g.
    :func:`~tapewire.streams.algos.profile.volume_profile` of the instrument's bars)."""

    start_ns: int
    end_ns: int
    profile: tuple[Decimal, ...]
    time_jitter: Decimal = ZERO
    size_jitter: Decimal = ZERO
    seed: int = 0


class PovParams(_Params, frozen=True, kw_only=True, tag="POV"):
    """Keep the filled-or-working quantity at ``rate`` (``(0, 1]``) of the volume traded
    on the venue since the request; send a child only once it is at least ``min_slice``
    (or the rest of the order); stop at ``end_ns`` if set."""

    rate: Decimal
    min_slice: Decimal = ZERO
    end_ns: int | None = None


class IcebergParams(_Params, frozen=True, kw_only=True, tag="ICEBERG"):
    """Show ``display_qty`` (times ``1 ± size_jitter``, drawn from ``seed``) at the
    request's ``limit_price``; when the shown child fills, show the next one."""

    display_qty: Decimal
    size_jitter: Decimal = ZERO
    seed: int = 0


class OcoLeg(msgspec.Struct, frozen=True, kw_only=True):
    """One leg of an OCO: LIMIT (``limit_price``), STOP (``stop_price``) or STOP_LIMIT
    (both); side and quantity are the request's."""

    order_type: OrderType
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None


class OcoParams(_Params, frozen=True, kw_only=True, tag="OCO"):
    """Two orders at once; when one fills or part-fills, the other is canceled."""

    first: OcoLeg
    second: OcoLeg
    time_in_force: TimeInForce = TimeInForce.GTC


class BracketParams(_Params, frozen=True, kw_only=True, tag="BRACKET"):
    """An entry (LIMIT at the request's ``limit_price``, else MARKET); each entry fill
    opens, for its quantity and on the other side, a take-profit LIMIT at
    ``take_profit_price`` and a stop-loss STOP at ``stop_loss_price`` (STOP_LIMIT with
    ``stop_loss_limit_price``), linked as an OCO."""

    take_profit_price: Decimal
    stop_loss_price: Decimal
    stop_loss_limit_price: Decimal | None = None
    entry_time_in_force: TimeInForce = TimeInForce.GTC
    exit_time_in_force: TimeInForce = TimeInForce.GTC


AlgoParams = TwapParams | VwapParams | PovParams | IcebergParams | OcoParams | BracketParams


class AlgoRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One algo order; ``algo_id`` is its idempotency key (unique per account; child
    order ids derive from it)."""

    algo_id: str
    account: str
    venue: str
    instrument: str
    side: Side
    quantity: Decimal
    params: AlgoParams
    request_ts_ns: int
    limit_price: Decimal | None = None
    strategy_id: str | None = None
    max_slippage_bps: Decimal | None = None
    """TWAP, VWAP and POV: price each taking slice at most this far (basis points) past
    the touch of the book at the time (and within ``limit_price``); without it a slice is
    LIMIT at ``limit_price`` or MARKET."""

    @property
    def kind(self) -> AlgoKind:
        """Which algo (the params' ``kind`` tag)."""
        return _KINDS[type(self.params)]

    def check(self) -> None:
        """Raise :class:`AlgoRequestError` naming the first bad field."""
        for name in ("algo_id", "account", "venue"):
            value = getattr(self, name)
            if not value.strip() or value != value.strip():
                raise _bad(name, value, "must be non-empty without spaces around")
            limit = MAX_ALGO_ID_CHARS if name == "algo_id" else MAX_ID_CHARS
            if len(value) > limit:
                raise _bad(name, value, f"is longer than {limit} characters")
        try:
            canonical = Instrument.parse(self.instrument).id
        except InstrumentError as exc:
            raise _bad("instrument", self.instrument, exc.message) from None
        if canonical != self.instrument:
            raise _bad("instrument", self.instrument, f"is not canonical ({canonical})")
        _positive("quantity", self.quantity)
        _positive("limit_price", self.limit_price)
        if self.request_ts_ns < 0:
            raise _bad("request_ts_ns", self.request_ts_ns, "must be >= 0 (UTC ns)")
        slippage = self.max_slippage_bps
        if slippage is not None:
            _positive("max_slippage_bps", slippage)
            if slippage >= BPS:
                raise _bad("max_slippage_bps", slippage, "is 100% or more: use < 10000")
            if self.kind not in _TAKING:
                raise _bad("max_slippage_bps", slippage, f"is not used by {self.kind}")
        _CHECKS[type(self.params)](self)


def encode_request(request: AlgoRequest) -> bytes:
    """The request as JSON (decimals as strings, exact)."""
    return msgspec.json.encode(request)


_DECODER = msgspec.json.Decoder(AlgoRequest)


def decode_request(data: bytes | str) -> AlgoRequest:
    """A checked request from JSON; :class:`AlgoRequestError` names a bad or missing
    field (``params.kind`` must be one of :class:`AlgoKind`)."""
    try:
        request = _DECODER.decode(data)
    except msgspec.ValidationError as exc:
        text = str(exc)
        _, _, path = text.partition(" - at `$.")
        field = path.rstrip("`") or "request"
        raise AlgoRequestError(
            f"algo order {field}: {text}", field=field, value=None, hint=f"fix {field}"
        ) from None
    except msgspec.DecodeError as exc:
        raise AlgoRequestError(
            f"algo order is not JSON: {exc}", field="request", value=None, hint="send JSON"
        ) from None
    request.check()
    return request


# --- per-algo checks -------------------------------------------------------------------


def _window(request: AlgoRequest, params: TwapParams | VwapParams, slices: int) -> None:
    if params.start_ns < 0:
        raise _bad("params.start_ns", params.start_ns, "must be >= 0 (UTC ns)")
    if params.end_ns <= params.start_ns:
        raise _bad("params.end_ns", params.end_ns, f"must be after start_ns {params.start_ns}")
    if params.end_ns - params.start_ns < slices:
        raise _bad("params.end_ns", params.end_ns, f"leaves less than 1 ns per slice ({slices})")
    _fraction("params.time_jitter", params.time_jitter)
    _fraction("params.size_jitter", params.size_jitter)
    if params.seed < 0:
        raise _bad("params.seed", params.seed, "must be >= 0")


def _check_twap(request: AlgoRequest) -> None:
    params = request.params
    assert isinstance(params, TwapParams)
    if not 1 <= params.slices <= MAX_SLICES:
        raise _bad("params.slices", params.slices, f"must be between 1 and {MAX_SLICES}")
    _window(request, params, params.slices)


def _check_vwap(request: AlgoRequest) -> None:
    params = request.params
    assert isinstance(params, VwapParams)
    if not 1 <= len(params.profile) <= MAX_SLICES:
        raise _bad("params.profile", len(params.profile), f"needs 1 to {MAX_SLICES} weights")
    for k, weight in enumerate(params.profile):
        if not fits_decimal_38_18(weight) or weight < 0:
            raise _bad(f"params.profile[{k}]", weight, "must be a decimal >= 0")
    if not any(weight > 0 for weight in params.profile):
        raise _bad("params.profile", params.profile, "has no volume: use TWAP or more history")
    _window(request, params, len(params.profile))


def _check_pov(request: AlgoRequest) -> None:
    params = request.params
    assert isinstance(params, PovParams)
    _positive("params.rate", params.rate)
    if params.rate > 1:
        raise _bad("params.rate", params.rate, "is a fraction of the volume: at most 1")
    if not fits_decimal_38_18(params.min_slice) or params.min_slice < 0:
        raise _bad("params.min_slice", params.min_slice, "must be a decimal >= 0")
    if params.end_ns is not None and params.end_ns <= request.request_ts_ns:
        raise _bad("params.end_ns", params.end_ns, "must be after request_ts_ns")


def _check_iceberg(request: AlgoRequest) -> None:
    params = request.params
    assert isinstance(params, IcebergParams)
    if request.limit_price is None:
        raise _bad("limit_price", None, "is required for ICEBERG (its children rest at it)")
    _positive("params.display_qty", params.display_qty)
    if params.display_qty > request.quantity:
        raise _bad("params.display_qty", params.display_qty, "is more than the quantity")
    _fraction("params.size_jitter", params.size_jitter)
    if params.seed < 0:
        raise _bad("params.seed", params.seed, "must be >= 0")


_RESTING = (TimeInForce.GTC, TimeInForce.DAY)
_TAKING = (AlgoKind.TWAP, AlgoKind.VWAP, AlgoKind.POV)


def _check_oco(request: AlgoRequest) -> None:
    params = request.params
    assert isinstance(params, OcoParams)
    if request.limit_price is not None:
        raise _bad("limit_price", request.limit_price, "is not used by OCO: price the legs")
    for name in ("first", "second"):
        leg: OcoLeg = getattr(params, name)
        kind = leg.order_type
        if kind not in (OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT):
            raise _bad(f"params.{name}.order_type", kind, "must be LIMIT, STOP or STOP_LIMIT")
        _positive(f"params.{name}.limit_price", leg.limit_price)
        _positive(f"params.{name}.stop_price", leg.stop_price)
        priced = kind in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        if priced != (leg.limit_price is not None):
            need = "needs" if priced else "must not have"
            raise _bad(f"params.{name}.limit_price", leg.limit_price, f"{kind} {need} one")
        triggered = kind in (OrderType.STOP, OrderType.STOP_LIMIT)
        if triggered != (leg.stop_price is not None):
            need = "needs" if triggered else "must not have"
            raise _bad(f"params.{name}.stop_price", leg.stop_price, f"{kind} {need} one")
    if params.time_in_force not in _RESTING:
        raise _bad("params.time_in_force", params.time_in_force, "must be GTC or DAY")


def _check_bracket(request: AlgoRequest) -> None:
    params = request.params
    assert isinstance(params, BracketParams)
    _positive("params.take_profit_price", params.take_profit_price)
    _positive("params.stop_loss_price", params.stop_loss_price)
    _positive("params.stop_loss_limit_price", params.stop_loss_limit_price)
    tp, sl = params.take_profit_price, params.stop_loss_price
    buy = request.side is Side.BUY
    if (sl >= tp) if buy else (sl <= tp):
        where = "below" if buy else "above"
        raise _bad("params.stop_loss_price", sl, f"must be {where} take_profit_price {tp}")
    entry = request.limit_price
    if entry is not None and not ((sl < entry < tp) if buy else (tp < entry < sl)):
        raise _bad("limit_price", entry, f"must lie between stop loss {sl} and take profit {tp}")
    allowed = (TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.DAY)
    if params.entry_time_in_force not in allowed:
        raise _bad("params.entry_time_in_force", params.entry_time_in_force, "GTC/IOC/FOK/DAY")
    if params.exit_time_in_force not in _RESTING:
        raise _bad("params.exit_time_in_force", params.exit_time_in_force, "must be GTC or DAY")


_CHECKS = {
    TwapParams: _check_twap,
    VwapParams: _check_vwap,
    PovParams: _check_pov,
    IcebergParams: _check_iceberg,
    OcoParams: _check_oco,
    BracketParams: _check_bracket,
}
_KINDS = {
    TwapParams: AlgoKind.TWAP,
    VwapParams: AlgoKind.VWAP,
    PovParams: AlgoKind.POV,
    IcebergParams: AlgoKind.ICEBERG,
    OcoParams: AlgoKind.OCO,
    BracketParams: AlgoKind.BRACKET,
}


def _positive(name: str, value: Decimal | None) -> None:
    if value is not None and (not fits_decimal_38_18(value) or value <= 0):
        raise _bad(name, value, "must be a positive decimal(38,18)")


def _fraction(name: str, value: Decimal) -> None:
    if not fits_decimal_38_18(value) or not ZERO <= value < 1:
        raise _bad(name, value, "must be a fraction in [0, 1)")


def _bad(field: str, value: object, message: str) -> AlgoRequestError:
    return AlgoRequestError(f"algo order {field}={value!r}: {message}", field=field, value=value)
