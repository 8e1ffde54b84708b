"""Kraken's and Bitfinex's msgspec-first decoders and the Kraken checksum's fast formatting
against the code they replace (the standard decoder; per-level ``format(d, "f")``).

On every documented frame of the two venues, on the fuzz test's mutations of them and on
each value replaced by odd JSON tokens (``-0``, huge integers, ``NaN``, invalid bytes...):
the new decode gives the same value (types included: ``repr``) or raises the same error.
"""

from __future__ import annotations

import json
import random
import re
import zlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize.mappers import bitfinex, common
from tapewire.streams.normalize.mappers.common import kraken_crc32
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.fast_path_checks import EDGE_VALUES, MUTANTS
from tests.unit.streams.normalize.mappers.mutations import mutate

DATA = Path(__file__).resolve().parents[4] / "data" / "frames"
FILES = [
    ("kraken", DATA / "kraken" / "frames.jsonl"),
    ("kraken", DATA / "kraken" / "v1.jsonl"),
    ("kraken", DATA / "kraken" / "v2.jsonl"),
    ("bitfinex", DATA / "bitfinex" / "frames.jsonl"),
]
IDS = [f"{venue}/{path.name}" for venue, path in FILES]
DECODERS: dict[str, tuple[Callable[[bytes], Any], Callable[[bytes], Any]]] = {
    "kraken": (common.decode_numbers_as_text, common.decode_numbers_as_text_fast),
    "bitfinex": (bitfinex.decode_numbers_as_text, bitfinex.decode_numbers_as_text_fast),
}
"""venue -> (the standard decoder, the msgspec-first one)."""
EXTRA_VALUES = [b"-0e1", b"-0E+1", b"-00", b"-01", b'"-0"', b'"a-0"', b"[-0,-0.5]", b"[[1,-2]]"]
_VALUE = re.compile(rb'"(?:[^"\\]|\\.)*"(?!:)|-?[0-9][0-9.eE+-]*|true|false|null')


def _outcome(decode: Callable[[bytes], Any], payload: bytes) -> tuple[Any, ...]:
    try:
        return ("value", repr(decode(payload)))
    except Exception as exc:
        return ("raised", type(exc), str(exc))


def _cases(rng: random.Random, payloads: list[bytes]) -> list[bytes]:
    cases = list(payloads)
    cases += [mutate(rng, rng.choice(payloads)) for _ in range(MUTANTS)]
    for payload in rng.sample(payloads, min(20, len(payloads))):
        values = list(_VALUE.finditer(payload))
        for value in rng.sample(values, min(6, len(values))):
            a, b = value.span()
            cases += [payload[:a] + edge + payload[b:] for edge in EDGE_VALUES + EXTRA_VALUES]
        cases += [b" " + payload + b"\n", payload + b"x", payload[:-1], b"\xef\xbb\xbf" + payload]
    return cases


@pytest.mark.parametrize(("venue", "path"), FILES, ids=IDS)
def test_msgspec_first_decode_equals_the_standard_decoder(venue: str, path: Path) -> None:
    payloads = [f["payload"] for f in read_frames(path, venue) if f["transport"] == "WEBSOCKET"]
    assert payloads
    old, new = DECODERS[venue]
    rng = random.Random(path.name)
    cases = _cases(rng, payloads)
    for payload in cases:
        assert _outcome(new, payload) == _outcome(old, payload), payload[:300]
    decoded = sum(_outcome(old, p)[0] == "value" for p in cases)
    assert decoded > len(payloads)  # mutants and edge cases that decode were compared too


@pytest.mark.parametrize(
    "payload",
    [b"[1,-0]", b'{"a":-0}', b"[1,[0,-0,2]]", b"-0", b"[-0 ]", b"[-0.0,-0e2,-0]"],
)
def test_bitfinex_negative_zero_keeps_its_text(payload: bytes) -> None:
    fast = bitfinex.decode_numbers_as_text_fast(payload)
    assert repr(fast) == repr(json.loads(payload, parse_float=str, parse_int=str))
    assert "-0" in repr(fast)


def _crc_text_reference(value: Any) -> str:
    shown = format(value, "f") if isinstance(value, Decimal) else str(value)
    return shown.replace(".", "").lstrip("0")


def _kraken_crc32_reference(asks: Any, bids: Any, depth: int = 10) -> int:
    """The per-level formatting that :func:`kraken_crc32` replaced."""
    text = "".join(_crc_text_reference(p) + _crc_text_reference(s) for p, s in asks[:depth])
    text += "".join(_crc_text_reference(p) + _crc_text_reference(s) for p, s in bids[:depth])
    return zlib.crc32(text.encode()) & 0xFFFFFFFF


_DECIMAL_TEXTS = [
    "0", "0.0", "0.00000", "-0", "-0.5", "1", "10", "100.00", "0.05005", "0.00000001",
    "0.0000001", "1e-7", "1E+3", "1.5e2", "123456789.123456789", "00012.50", ".5", "5.",
    "Infinity", "-Infinity", "NaN", "1" + "0" * 30, "0." + "0" * 20 + "1",
]  # fmt: skip


def test_kraken_checksum_equals_the_per_level_formatting() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        sides: list[list[tuple[Any, Any]]] = []
        for _side in range(2):
            levels: list[tuple[Any, Any]] = []
            for _level in range(rng.randrange(0, 14)):
                price: Any = Decimal(rng.choice(_DECIMAL_TEXTS))
                size = Decimal(rng.choice(_DECIMAL_TEXTS))
                if rng.random() < 0.02:
                    price = rng.choice(_DECIMAL_TEXTS)  # text levels take the slow path
                levels.append((price, size))
            sides.append(levels)
        asks, bids = sides
        assert kraken_crc32(asks, bids) == _kraken_crc32_reference(asks, bids), (asks, bids)
    # Kraken's documented example: the fast path gives the documented checksum
    texts = [("0.05005", "0.00000500"), ("0.05010", "0.00000500")]
    decimals = [(Decimal(p), Decimal(s)) for p, s in texts]
    assert kraken_crc32(decimals, []) == _kraken_crc32_reference(texts, [])
