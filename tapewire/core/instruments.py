"""Canonical instrument ids, mapped both ways to ccxt symbols (and, through ccxt markets,
to each exchange's native id).

Scheme (documented in ``docs/instruments.md``), upper case, ``-`` separated::

    BTC-USDT-SPOT                          spot
    BTC-USDT-PERP-USDT                     perpetual swap, settled in USDT (linear)
    BTC-USD-PERP-BTC                       perpetual swap, settled in BTC (inverse)
    BTC-USDT-FUT-USDT-20261225             dated future, expiry date (UTC)
    BTC-USD-OPT-BTC-20261225-100000-C      option: settle, expiry, strike, C or P

The id names no venue, so one instrument traded on several venues has one id (that is
what consolidated books and NBBO group by). A venue-qualified id is
``<venue>:<instrument>``, e.g. ``binance:BTC-USDT-SPOT``; it is the Kafka key of
market-data topics, so everything about one instrument on one venue stays ordered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from tapewire.core.errors import TapewireError


class InstrumentError(TapewireError):
    """An instrument id, ccxt symbol or market cannot be mapped."""

    def __init__(self, message: str, *, value: object, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.value = value


class MarketType(StrEnum):
    """Market types of the canonical scheme."""

    SPOT = "SPOT"
    PERP = "PERP"
    FUT = "FUT"
    OPT = "OPT"


_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.]*$")
_HINT = "expected e.g. BTC-USDT-SPOT, BTC-USDT-PERP-USDT, BTC-USDT-FUT-USDT-20261225"


def _code(value: str, what: str, raw: object) -> str:
    code = value.upper()
    if not _CODE.match(code):
        raise InstrumentError(
            f"{what} {value!r} in {raw!r} is not a currency code (letters, digits, _ or .)",
            value=raw,
            hint=_HINT,
        )
    return code


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable instrument, independent of venue."""

    base: str
    quote: str
    type: MarketType = MarketType.SPOT
    settle: str | None = None
    expiry: date | None = None
    strike: Decimal | None = None
    option_type: str | None = None  # "C" or "P"

    def __post_init__(self) -> None:
        needs_settle = self.type is not MarketType.SPOT
        if needs_settle != (self.settle is not None):
            raise InstrumentError(
                f"{self.type} instrument {self.base}/{self.quote}: settle currency "
                + ("missing" if needs_settle else "not allowed"),
                value=self,
            )
        needs_expiry = self.type in (MarketType.FUT, MarketType.OPT)
        if needs_expiry != (self.expiry is not None):
            raise InstrumentError(
                f"{self.type} instrument {self.base}/{self.quote}: expiry "
                + ("missing" if needs_expiry else "not allowed"),
                value=self,
            )
        is_option = self.type is MarketType.OPT
        if is_option != (self.strike is not None and self.option_type in ("C", "P")):
            raise InstrumentError(
                f"{self.type} instrument {self.base}/{self.quote}: strike and C/P "
                + ("required" if is_option else "not allowed"),
                value=self,
            )

    def __str__(self) -> str:
        parts = [self.base, self.quote, self.type.value]
        if self.settle:
            parts.append(self.settle)
        if self.expiry:
            parts.append(self.expiry.strftime("%Y%m%d"))
        if self.strike is not None and self.option_type:
            parts += [format(self.strike.normalize(), "f"), self.option_type]
        return "-".join(parts)

    @property
    def id(self) -> str:
        """The canonical id string."""
        return str(self)

    def on(self, venue: str) -> str:
        """The venue-qualified id ``<venue>:<id>`` (the Kafka key of market-data topics)."""
        return f"{venue}:{self}"

    @classmethod
    def parse(cls, text: str) -> Instrument:
        """Parse a canonical id such as ``BTC-USDT-PERP-USDT``."""
        parts = text.strip().split("-")
        if len(parts) < 3:
            raise InstrumentError(
                f"instrument id {text!r} has too few parts", value=text, hint=_HINT
            )
        base, quote = _code(parts[0], "base", text), _code(parts[1], "quote", text)
        try:
            kind = MarketType(parts[2].upper())
        except ValueError:
            raise InstrumentError(
                f"instrument id {text!r}: market type {parts[2]!r} is not one of "
                + ", ".join(t.value for t in MarketType),
                value=text,
                hint=_HINT,
            ) from None
        rest = parts[3:]
        expected = {MarketType.SPOT: 0, MarketType.PERP: 1, MarketType.FUT: 2, MarketType.OPT: 4}
        if len(rest) != expected[kind]:
            raise InstrumentError(
                f"instrument id {text!r}: a {kind} id has {3 + expected[kind]} parts",
                value=text,
                hint=_HINT,
            )
        settle = _code(rest[0], "settle", text) if rest else None
        expiry = _parse_date(rest[1], text) if len(rest) > 1 else None
        strike = _parse_strike(rest[2], text) if len(rest) > 2 else None
        option_type = rest[3].upper() if len(rest) > 3 else None
        return cls(base, quote, kind, settle, expiry, strike, option_type)

    @classmethod
    def from_ccxt_symbol(cls, symbol: str) -> Instrument:
        """Map a ccxt unified symbol (``BTC/USDT``, ``BTC/USDT:USDT``,
        ``BTC/USD:BTC-261225``, ``BTC/USD:BTC-261225-100000-C``)."""
        pair, _, derivative = symbol.partition(":")
        base, slash, quote = pair.partition("/")
        if not slash or not base or not quote:
            raise InstrumentError(
                f"ccxt symbol {symbol!r} is not BASE/QUOTE[:SETTLE[-YYMMDD[-STRIKE-C|P]]]",
                value=symbol,
            )
        base, quote = _code(base, "base", symbol), _code(quote, "quote", symbol)
        if not derivative:
            return cls(base, quote)
        fields = derivative.split("-")
        settle = _code(fields[0], "settle", symbol)
        if len(fields) == 1:
            return cls(base, quote, MarketType.PERP, settle)
        expiry = _parse_date("20" + fields[1], symbol)
        if len(fields) == 2:
            return cls(base, quote, MarketType.FUT, settle, expiry)
        if len(fields) == 4:
            strike = _parse_strike(fields[2], symbol)
            return cls(base, quote, MarketType.OPT, settle, expiry, strike, fields[3].upper())
        raise InstrumentError(
            f"ccxt symbol {symbol!r} has an unknown derivative part", value=symbol
        )

    def to_ccxt_symbol(self) -> str:
        """The ccxt unified symbol of this instrument."""
        symbol = f"{self.base}/{self.quote}"
        if self.settle:
            symbol += f":{self.settle}"
        if self.expiry:
            symbol += "-" + self.expiry.strftime("%y%m%d")
        if self.strike is not None and self.option_type:
            symbol += f"-{format(self.strike.normalize(), 'f')}-{self.option_type}"
        return symbol

    @classmethod
    def from_ccxt_market(cls, market: dict[str, Any]) -> Instrument:
        """Map a ccxt market (from ``load_markets``); its native id is ``market["id"]``."""
        symbol = market.get("symbol")
        if not isinstance(symbol, str):
            raise InstrumentError("ccxt market has no symbol", value=market.get("id"))
        return cls.from_ccxt_symbol(symbol)


def _parse_date(text: str, raw: object) -> date:
    if len(text) != 8 or not text.isdigit():
        raise InstrumentError(f"expiry {text!r} in {raw!r} is not YYYYMMDD", value=raw, hint=_HINT)
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise InstrumentError(f"expiry {text!r} in {raw!r} is not a date", value=raw) from None


def _parse_strike(text: str, raw: object) -> Decimal:
    try:
        strike = Decimal(text)
    except InvalidOperation:
        raise InstrumentError(f"strike {text!r} in {raw!r} is not a number", value=raw) from None
    if not strike.is_finite() or strike <= 0:
        raise InstrumentError(f"strike {text!r} in {raw!r} must be positive", value=raw)
    return strike
