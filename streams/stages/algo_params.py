"""A ``ParentRequest`` record (``oms.parent_requests``) as an execution algo's
:class:`~tapewire.streams.algos.AlgoRequest`: :func:`algo_request`.

The record's ``algo`` names the algo (``TWAP``, ``VWAP``, ``POV``, ``ICEBERG``, ``OCO``,
``BRACKET``), its one ``venues`` entry the venue, and its ``params`` text map the algo's
params (``docs/algos.md``), each value as text:

* numbers and decimals as text (``slices=5``, ``rate=0.1``), enums by name
  (``first.order_type=STOP``); nested OCO legs with a dot (``first.limit_price=70000``);
* ``duration`` (``90``, ``90s``, ``500ms``, ``5m``, ``1h``): ``end_ns`` = start + it;
  ``start_ns`` defaults to the time the stage takes the parent (TWAP, VWAP; POV's
  ``duration`` counts from the request time);
* VWAP ``profile`` as comma-separated weights; without it, ``slices=N`` gives a
  **uniform** profile (no ClickHouse history loader in the stage: compute a profile with
  ``sinks.clickhouse.volume_history.vwap_profile`` and pass it);
* ``max_slippage_bps`` (TWAP, VWAP, POV) goes to the request itself.

Anything wrong raises :class:`~tapewire.streams.algos.AlgoRequestError` naming the field
(``params.slices``, ``venues``) and the value; the algos core checks the rest.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from tapewire.records.orders import ParentRequest as ParentRequestRecord
from tapewire.streams.algos import (
    AlgoKind,
    AlgoRequest,
    AlgoRequestError,
    BracketParams,
    IcebergParams,
    OcoParams,
    PovParams,
    TwapParams,
    VwapParams,
)
from tapewire.streams.oms.enums import Side

PARAMS: dict[AlgoKind, type[msgspec.Struct]] = {
    AlgoKind.TWAP: TwapParams,
    AlgoKind.VWAP: VwapParams,
    AlgoKind.POV: PovParams,
    AlgoKind.ICEBERG: IcebergParams,
    AlgoKind.OCO: OcoParams,
    AlgoKind.BRACKET: BracketParams,
}
_WINDOWED = (AlgoKind.TWAP, AlgoKind.VWAP)
_UNITS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3_600 * 10**9}
_MISSING = re.compile(r"missing required field `([^`]+)`")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)?$")


def algo_request(record: ParentRequestRecord, now_ns: int) -> AlgoRequest:
    """The checked algo request of a NEW parent ``record`` taken at ``now_ns``."""
    kind = AlgoKind(record.algo)
    if len(record.venues) != 1:
        raise _bad("venues", list(record.venues), f"{kind} trades on exactly one venue: name it")
    try:
        side = Side(record.side)
    except ValueError:
        raise _bad("side", record.side, "must be BUY or SELL") from None
    raw = dict(record.params)
    slippage = raw.pop("max_slippage_bps", None)
    params = _params(kind, raw, now_ns, record.request_ts_ns)
    request = AlgoRequest(
        algo_id=record.parent_id,
        account=record.account,
        venue=record.venues[0],
        instrument=record.instrument,
        side=side,
        quantity=record.quantity,
        params=params,
        request_ts_ns=record.request_ts_ns,
        limit_price=record.limit_price,
        strategy_id=record.strategy_id,
        max_slippage_bps=_decimal("max_slippage_bps", slippage) if slippage else None,
    )
    request.check()
    return request


def duration_ns(field: str, text: str) -> int:
    """``90``, ``90s``, ``1.5m``, ``500ms``, ``1h`` in ns (no unit: seconds)."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise _bad(field, text, "is not a duration: use e.g. 90s, 500ms, 5m or 1h")
    number, unit = match.groups()
    return int(Decimal(number) * _UNITS[unit or "s"])


def _params(kind: AlgoKind, raw: dict[str, str], now_ns: int, request_ts_ns: int) -> Any:
    cls = PARAMS[kind]
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        head, dot, rest = key.partition(".")
        if dot:
            fields.setdefault(head, {})[rest] = value
        else:
            fields[key] = value
    duration = fields.pop("duration", None)
    if kind in _WINDOWED:
        start = _int("params.start_ns", fields.setdefault("start_ns", str(now_ns)))
        if duration is not None:
            fields["end_ns"] = start + duration_ns("params.duration", duration)
    elif kind is AlgoKind.POV and duration is not None:
        fields["end_ns"] = request_ts_ns + duration_ns("params.duration", duration)
    elif duration is not None:
        raise _bad("params.duration", duration, f"is not used by {kind}")
    if kind is AlgoKind.VWAP:
        slices = fields.pop("slices", None)
        if "profile" in fields:
            fields["profile"] = [w.strip() for w in str(fields["profile"]).split(",")]
        elif slices is not None:
            fields["profile"] = ["1"] * _int("params.slices", slices)  # uniform fallback
    known = set(cls.__struct_fields__)
    for name in sorted(set(fields) - known):
        raise _bad(f"params.{name}", raw.get(name), f"is not a {kind} param: use {sorted(known)}")
    try:
        return msgspec.convert(fields, cls, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        path = text.partition(" - at `$.")[2].rstrip("`")
        missing = _MISSING.search(text)
        if missing is not None:  # the missing field is in the message, not the path
            path = ".".join(p for p in (path, missing.group(1)) if p)
        field = f"params.{path}" if path else "params"
        hint = f"give {field}" + (" (or params.duration)" if path == "end_ns" else "")
        raise AlgoRequestError(
            f"algo order {field}: {text}", field=field, value=None, hint=hint
        ) from None


def _int(field: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _bad(field, text, "must be a whole number") from None


def _decimal(field: str, text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise _bad(field, text, "must be a decimal") from None


def _bad(field: str, value: object, message: str) -> AlgoRequestError:
    return AlgoRequestError(f"algo order {field}={value!r}: {message}", field=field, value=value)
