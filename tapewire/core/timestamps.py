"""UTC timestamps as integer nanoseconds, parsed from and shown as ISO-8601, exactly.

:func:`datetime.fromisoformat` stops at microseconds; these keep all nine digits.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tapewire.core.errors import ConfigError

__all__ = ["format_ns", "parse_timestamp_ns"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:[.,](?P<frac>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def parse_timestamp_ns(text: str, *, field: str = "timestamp") -> int:
    """Integer ns since the epoch from ``text``: an integer (ns) or ISO-8601.

    ISO-8601 without an offset is UTC; an offset is applied exactly. Up to 9 fractional
    digits are kept. A bad value raises :class:`ConfigError` naming ``field``.
    """
    value = text.strip()
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    match = _ISO.match(value)
    if match is None:
        raise ConfigError(
            f"{field} {text!r} is neither integer nanoseconds nor ISO-8601",
            field=field,
            value=text,
            hint="e.g. 2021-10-12T00:28:40Z, 2021-10-12T00:28:40.123456789Z or 1633998520000000000",
        )
    tz = match.group("tz") or "+00:00"
    if tz.upper() == "Z":
        tz = "+00:00"
    elif ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    base = f"{match.group('date')}T{match.group('time') or '00:00:00'}{tz}"
    try:
        moment = datetime.fromisoformat(base)
    except ValueError as exc:
        raise ConfigError(
            f"{field} {text!r} is not a valid time: {exc}", field=field, value=text
        ) from None
    seconds = (moment - _EPOCH) // timedelta(seconds=1)
    frac = (match.group("frac") or "").ljust(9, "0")
    return seconds * 1_000_000_000 + int(frac or "0")


def format_ns(ns: int) -> str:
    """``ns`` as ISO-8601 UTC, nine fractional digits: ``2021-10-12T00:28:40.000000000Z``."""
    seconds, frac = divmod(ns, 1_000_000_000)
    moment = _EPOCH + timedelta(seconds=seconds)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{frac:09d}Z"
