"""Shared helpers: input validation, rejected-record reasons, checkpoint text.

Exact decimal arithmetic is :mod:`tapewire.core.exact`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tapewire.core.records import Record

Clock = Callable[[], int]
"""Returns the processing time in UTC ns (``time.time_ns`` live; a fixed clock in tests)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input record a stage could not use, with a reason code and a readable detail.

    ``reason`` is one of ``late``, ``invalid``, ``no_snapshot``, ``stale_sequence``,
    ``out_of_order``; the agent turns it into a DeadLetter on ``dlq.aggregate``
    (``error_type`` = reason).
    """

    record: Record
    reason: str
    detail: str


class InvalidRecordError(ValueError):
    """A record field does not hold what its schema promises."""


def decimal_field(record: Record, name: str, *, positive: bool = True) -> Decimal:
    """A finite Decimal field (> 0 when ``positive``, else >= 0); never a float."""
    return checked_decimal(name, record.get(name), positive=positive)


def checked_decimal(name: str, value: object, *, positive: bool = True) -> Decimal:
    """``value`` of field ``name`` as :func:`decimal_field` checks it."""
    if not isinstance(value, Decimal):
        raise InvalidRecordError(f"{name}={value!r} is not a Decimal")
    if not value.is_finite():
        raise InvalidRecordError(f"{name}={value} is not finite")
    if value < 0 or (positive and value == 0):
        raise InvalidRecordError(f"{name}={value} must be {'> 0' if positive else '>= 0'}")
    return value


def optional_decimal(record: Record, name: str) -> Decimal | None:
    """A nullable positive Decimal field."""
    if record.get(name) is None:
        return None
    return decimal_field(record, name)


def int_field(record: Record, name: str) -> int:
    """An int field (ns timestamp); bool and float are refused."""
    return checked_int(name, record.get(name))


def checked_int(name: str, value: object) -> int:
    """``value`` of field ``name`` as :func:`int_field` checks it."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRecordError(f"{name}={value!r} is not an int")
    return value


def optional_int(record: Record, name: str) -> int | None:
    """A nullable int field."""
    if record.get(name) is None:
        return None
    return int_field(record, name)


def str_field(record: Record, name: str) -> str:
    """A non-empty string field."""
    return checked_str(name, record.get(name))


def checked_str(name: str, value: object) -> str:
    """``value`` of field ``name`` as :func:`str_field` checks it."""
    if not isinstance(value, str) or not value:
        raise InvalidRecordError(f"{name}={value!r} is not a non-empty string")
    return value


def event_ts(record: Record) -> int:
    """Event time of a record: ``exchange_ts_ns``, or ``receive_ts_ns`` when the venue sent none."""
    exchange = optional_int(record, "exchange_ts_ns")
    return exchange if exchange is not None else int_field(record, "receive_ts_ns")


def dec_to_str(value: Decimal | None) -> str | None:
    """Checkpoint form of a Decimal (exact string; never float)."""
    return None if value is None else str(value)


def str_to_dec(value: Any) -> Decimal | None:
    """Inverse of :func:`dec_to_str`."""
    return None if value is None else Decimal(str(value))
