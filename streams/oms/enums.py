"""Order enums, one per Avro enum; ``.value`` is the Avro symbol."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """Order side (Avro ``Side``)."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    """Order type (Avro ``OrderType``); UNKNOWN is never accepted."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"
    TRAILING_STOP = "TRAILING_STOP"
    UNKNOWN = "UNKNOWN"


class TimeInForce(StrEnum):
    """Time in force (Avro ``TimeInForce``); UNKNOWN is never accepted."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    DAY = "DAY"
    GTD = "GTD"
    UNKNOWN = "UNKNOWN"


class OrdStatus(StrEnum):
    """FIX OrdStatus (Avro ``OrdStatus``)."""

    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    PENDING_REPLACE = "PENDING_REPLACE"
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        """True for FILLED, CANCELED, REJECTED and EXPIRED."""
        return self in TERMINAL


TERMINAL = frozenset({OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED})


class ExecType(StrEnum):
    """FIX ExecType (Avro ``ExecType``): why an execution report was sent."""

    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    TRADE = "TRADE"
    PENDING_CANCEL = "PENDING_CANCEL"
    CANCELED = "CANCELED"
    PENDING_REPLACE = "PENDING_REPLACE"
    REPLACED = "REPLACED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    RESTATED = "RESTATED"
    ORDER_STATUS = "ORDER_STATUS"
    CANCEL_REJECTED = "CANCEL_REJECTED"
    REPLACE_REJECTED = "REPLACE_REJECTED"
    UNKNOWN = "UNKNOWN"


class OrderAction(StrEnum):
    """What a request asks for (Avro ``OrderAction``)."""

    NEW = "NEW"
    CANCEL = "CANCEL"
    REPLACE = "REPLACE"
    CANCEL_ALL = "CANCEL_ALL"
    UNKNOWN = "UNKNOWN"


class TrailingOffsetType(StrEnum):
    """Unit of a trailing stop offset (Avro ``TrailingOffsetType``)."""

    PRICE = "PRICE"
    BASIS_POINTS = "BASIS_POINTS"
