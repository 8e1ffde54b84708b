"""Wire helpers shared by native mappers and the ccxt adapters (``venues/``): ISO time to
ns, JSON numbers decoded as text, documented-value lookups, and venue checksums over exact
decimals (Kraken; OKX, whose algorithm Bitget uses too)."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from itertools import chain
from operator import itemgetter
from typing import Any

import msgspec

from tapewire.streams.normalize.mappers.events import MapError


def iso_to_ns(text: str) -> int | None:
    """``2023-02-09T20:32:50.714964855Z`` -> UTC ns, keeping every fractional digit."""
    # the common shape, ``YYYY-MM-DDTHH:MM:SS.fffZ``: its seconds from a bounded cache of
    # that prefix (timestamps of a stream share it for a second), only the fraction parsed;
    # anything else, and a prefix not cached yet, the full parse
    seconds = _ISO_SECONDS.get(text[:19])
    if seconds is not None:
        frac = text[20:-1]
        # ``.`` 1-9 ASCII digits ``Z`` (text[19] is read only when the fraction is digits)
        if (
            len(frac) <= 9
            and frac.isdigit()
            and frac.isascii()
            and text[19] == "."
            and text[-1] == "Z"
        ):
            return seconds * 1_000_000_000 + int(frac) * _FRACTION_NS[len(frac)]
    return _iso_to_ns_parsed(text)


_FRACTION_NS = (0, 100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1)
"""ns per unit of a fraction of a second of 1-9 digits."""
_ISO_SECONDS: dict[str, int] = {}
"""``YYYY-MM-DDTHH:MM:SS`` (ASCII digits, a valid date and time) -> its UTC epoch seconds."""
_ISO_SECONDS_CAP = 4_096
_ISO_PREFIX = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")


def _iso_seconds(main: str) -> int:
    return int(datetime.fromisoformat(main).replace(tzinfo=UTC).timestamp())


def _iso_to_ns_parsed(text: str) -> int | None:
    """:func:`iso_to_ns` by a full parse; caches the seconds of a common-shape prefix."""
    try:
        main, _, frac = text.rstrip("Z").partition(".")
        seconds = _iso_seconds(main)
        digits = (frac + "000000000")[:9] if frac.isdigit() or not frac else None
    except ValueError:
        return None
    if len(main) == 19 and _ISO_PREFIX.fullmatch(main):
        # ``main`` is ``text[:19]`` here (it holds no ``.`` and does not end in ``Z``)
        if len(_ISO_SECONDS) >= _ISO_SECONDS_CAP:
            _ISO_SECONDS.clear()
        _ISO_SECONDS[main] = seconds
    return None if digits is None else seconds * 1_000_000_000 + int(digits)


def iso_ns(message: Any, key: str) -> int:
    """A required ISO-8601 UTC timestamp field -> ns; :class:`MapError` when it is not one."""
    value = message[key]
    ns = iso_to_ns(value) if value.__class__ is str else None
    if ns is None:
        raise MapError(key, value, "an ISO-8601 UTC timestamp")
    return ns


def decode_numbers_as_text(payload: bytes) -> Any:
    """JSON with every non-integer number kept as its wire text (``0.00100000`` ->
    ``"0.00100000"``); integers stay ``int``. For venues that send prices as JSON numbers."""
    return json.loads(payload, parse_float=str)


_DECODE_FLOATS_AS_TEXT = msgspec.json.Decoder(float_hook=str).decode


def decode_numbers_as_text_fast(payload: bytes) -> Any:
    """:func:`decode_numbers_as_text`, by msgspec where it accepts the frame (the same
    values: ``float_hook`` hands over the literal's text); what it refuses (``NaN``,
    ``Infinity``, a BOM, lone surrogates, malformed input) is decoded, or rejected with the
    same error, by the standard decoder."""
    try:
        return _DECODE_FLOATS_AS_TEXT(payload)
    except Exception:
        return decode_numbers_as_text(payload)


def number_text(message: Any, key: str) -> str:
    """A price or size that the venue sends as a JSON number (decoded by
    :func:`decode_numbers_as_text`) or a string: its wire text. Never a float."""
    value = message[key]
    kind = value.__class__
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return str(value)
    raise MapError(key, value, "a decimal number")


def side_changes(changes: Any, key: str = "changes") -> tuple[list[Any], list[Any]]:
    """``[[side, price, size], ...]`` (side ``buy``/``sell``, prices and sizes as strings;
    Coinbase Exchange ``l2update``, Gemini ``l2_updates``) -> (bids, asks) as (price, size)."""
    if changes.__class__ is not list:
        raise MapError(key, changes, "a list of [side, price, size]")
    bids: list[Any] = []
    asks: list[Any] = []
    for change in changes:
        if change.__class__ is not list or len(change) != 3:
            raise MapError(key, change, "[side, price, size]")
        side, price, size = change
        if price.__class__ is not str or size.__class__ is not str:
            raise MapError(key, change, "price and size as strings")
        if side == "buy":
            bids.append((price, size))
        elif side == "sell":
            asks.append((price, size))
        else:
            raise MapError("side", side, "'buy' or 'sell'")
    return bids, asks


_DECIMAL = frozenset((Decimal,))
_flat = chain.from_iterable
_pair = itemgetter(0, 1)


def _crc_text(value: Any) -> str:
    shown = format(value, "f") if isinstance(value, Decimal) else str(value)
    return shown.replace(".", "").lstrip("0")


_LEADING_ZEROS = re.compile(r"\|0+")


def kraken_crc32(
    asks: Sequence[Sequence[Any]], bids: Sequence[Sequence[Any]], depth: int = 10
) -> int:
    """Kraken's book checksum (spot websocket v1 and v2): CRC32 of the top ``depth`` asks
    then the top ``depth`` bids, each price and size as exact text with ``.`` removed and
    leading zeros stripped."""
    values = list(_flat(map(_pair, _flat((asks[:depth], bids[:depth])))))
    if set(map(type, values)) <= _DECIMAL:
        # str(d) is format(d, "f") unless it uses exponent notation (then: the slow way);
        # "|" marks each value's start, so one regex strips every value's leading zeros
        joined = "|" + "|".join(map(str, values))
        if "E" not in joined:
            payload = _LEADING_ZEROS.sub("|", joined.replace(".", "")).replace("|", "")
            return zlib.crc32(payload.encode()) & 0xFFFFFFFF
    payload = "".join(_crc_text(level[0]) + _crc_text(level[1]) for level in asks[:depth])
    payload += "".join(_crc_text(level[0]) + _crc_text(level[1]) for level in bids[:depth])
    return zlib.crc32(payload.encode()) & 0xFFFFFFFF


def kraken_checksum_text(value: Any, number: Decimal) -> bytes:
    """A book value's text in Kraken's checksum: :func:`_crc_text` of ``number``, the exact
    decimal of the wire text ``value`` (a function of that text, spelling included: the
    book may remember it per text), as the bytes the CRC32 reads."""
    return _crc_text(number).encode()


def kraken_crc32_pieces(asks: list[bytes], bids: list[bytes]) -> int:
    """:func:`kraken_crc32` from each level's checksum text already joined (price's then
    size's, :func:`kraken_checksum_text`): the top asks then the top bids, best first."""
    return zlib.crc32(b"".join(asks + bids))  # (unsigned already)


def lookup(message: Any, key: str, table: dict[str, Any], expected: str) -> Any:
    """``table[message[key]]`` for a string the venue documents (sides, types); a
    :class:`MapError` naming the field for anything else (never a TypeError)."""
    value = message[key]
    found = table.get(value) if value.__class__ is str else None
    if found is None:
        raise MapError(key, value, expected)
    return found


OKX_CHECKSUM_DEPTH = 25


def okx_checksum(bids: Sequence[Any], asks: Sequence[Any]) -> int:
    """OKX book checksum over exact levels (wire text via ``format(d, 'f')``): CRC32 of
    ``bid:size:ask:size:...`` over the top 25 levels, then the longer side's rest; as a
    signed int32."""
    top_bids = list(map(_pair, bids[:OKX_CHECKSUM_DEPTH]))  # (price, size) of longer levels
    top_asks = list(map(_pair, asks[:OKX_CHECKSUM_DEPTH]))
    shorter = min(len(top_bids), len(top_asks))
    rest = (top_bids if len(top_bids) > shorter else top_asks)[shorter:]
    # bid, ask, bid, ask ... then the longer side's rest, flattened to price, size, ... (in C)
    values = list(_flat(_flat((_flat(zip(top_bids, top_asks, strict=False)), rest))))
    joined = None
    if set(map(type, values)) <= _DECIMAL:
        # str(d) is format(d, "f") unless it uses exponent notation (then: the slow way)
        joined = ":".join(map(str, values))
        if "E" in joined:
            joined = None
    if joined is None:
        joined = ":".join(format(v, "f") if isinstance(v, Decimal) else str(v) for v in values)
    crc = zlib.crc32(joined.encode()) & 0xFFFFFFFF
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def okx_checksum_text(bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]]) -> int:
    """:func:`okx_checksum` from the levels as sent (``(price text, size text)``, best
    first): the text is joined as it is, no decimal formatting."""
    top_bids, top_asks = bids[:OKX_CHECKSUM_DEPTH], asks[:OKX_CHECKSUM_DEPTH]
    shorter = min(len(top_bids), len(top_asks))
    rest = (top_bids if len(top_bids) > shorter else top_asks)[shorter:]
    values = list(_flat(_flat(zip(top_bids, top_asks, strict=False))))
    values += _flat(rest)
    crc = zlib.crc32(":".join(values).encode()) & 0xFFFFFFFF
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def okx_checksum_joined(bids: Sequence[str], asks: Sequence[str]) -> int:
    """:func:`okx_checksum_text` from each level's text already joined as ``price:size``
    (the top 25 levels per side, best first, as a book keeps them): the same int, with no
    tuple to flatten."""
    nb, na = len(bids), len(asks)
    if nb > OKX_CHECKSUM_DEPTH or na > OKX_CHECKSUM_DEPTH:
        bids, asks = bids[:OKX_CHECKSUM_DEPTH], asks[:OKX_CHECKSUM_DEPTH]
        nb, na = len(bids), len(asks)
    n = nb if nb < na else na
    values = [""] * (2 * n)  # bid, ask, bid, ask ... then the longer side's rest
    values[0::2] = bids[:n] if nb > n else bids
    values[1::2] = asks[:n] if na > n else asks
    if nb > n:
        values += bids[n:]
    elif na > n:
        values += asks[n:]
    crc = zlib.crc32(":".join(values).encode()) & 0xFFFFFFFF
    return crc - (1 << 32) if crc >= 1 << 31 else crc


_crc32 = zlib.crc32
_colon_join = ":".join


def okx_checksum_book(bids: list[str], asks: list[str]) -> int:
    """:func:`okx_checksum_joined` from a joined book's whole sides as it keeps them (each
    level ``price:size``; bids ascending, i.e. best last; asks best first): the top 25
    levels per side interleaved with no slice taken for the reversal (the per-update path)."""
    nb, na = len(bids), len(asks)
    if nb > OKX_CHECKSUM_DEPTH:
        bids, nb = bids[-OKX_CHECKSUM_DEPTH:], OKX_CHECKSUM_DEPTH
    if na > OKX_CHECKSUM_DEPTH:
        asks, na = asks[:OKX_CHECKSUM_DEPTH], OKX_CHECKSUM_DEPTH
    if nb == na:
        values = [""] * (nb + na)
        values[-2::-2] = bids  # best bid (the last) first: positions 2n-2, ..., 0
        values[1::2] = asks
    elif nb > na:
        values = [""] * (2 * na)
        values[-2::-2] = bids[nb - na :]
        values[1::2] = asks
        values += bids[nb - na - 1 :: -1]  # then the lower bids, best first
    else:
        values = [""] * (2 * nb)
        values[-2::-2] = bids
        values[1::2] = asks[:nb]
        values += asks[nb:]
    crc = _crc32(_colon_join(values).encode())
    return crc - 0x1_0000_0000 if crc >= 0x8000_0000 else crc
