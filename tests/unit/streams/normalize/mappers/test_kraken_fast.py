"""Kraken's fast path (``KrakenMapper.map_bytes``, v1 and v2, :mod:`...kraken_wire`)
against the generic path (``decode`` then ``map``), with the shared harness
(``fast_path_checks``): on the documented frames, their fuzz mutations and edge values,
``map_bytes`` gives None or exactly what the generic path gives, and it takes every
well-formed trade / book / ticker frame (v1 and v2); the whole normalizer gives the same
records with it on and off. Also: the v1 time parser's edge cases, and the checksum's
per-level checksum texts against :func:`kraken_crc32` (a level re-sent with another spelling
included).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers import MapError
from tapewire.streams.normalize.mappers.common import (
    kraken_checksum_text,
    kraken_crc32,
    kraken_crc32_pieces,
)
from tapewire.streams.normalize.mappers.kraken import KrakenMapper, _seconds_to_ns
from tapewire.streams.normalize.mappers.kraken_wire import seconds_ns
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.fast_path_checks import (
    MUTANTS,
    assert_same_outputs,
    edge_cases,
    generic,
    outcome,
)
from tests.unit.streams.normalize.mappers.mutations import mutate

DIR = Path(__file__).resolve().parents[4] / "data" / "frames" / "kraken"
FILES = [DIR / "v1.jsonl", DIR / "v2.jsonl", DIR / "frames.jsonl"]
EXTRA = [
    b'[336,{"a":[["1.0","2","1696613755.440295"]],"as":[["1.0","2","1696613755.1"]]},'
    b'"book-10","XBT/USD"]',
    b'[336,{"a":[]},{"b":[],"c":"12"},{"c":"1"},"book-10","XBT/USD"]',
    b'[336,{"a":[["1.0","2","1696613755.440295"]]},"book-x","XBT/USD"]',
    b'[336,{"a":[["1.0","2","1696613755.440295"]],"c":"\xd9\xa1"},"book-10","XBT/USD"]',
    b'[336,{"a":[["1.0","2","169661375544029512345.1"]]},"book-10","XBT/USD"]',
    b'[336,{"a":[["1.0","2","1696613755.4402951234"]]},"book-10","XBT/USD"]',
    b'[337,[["1.0","2","1695628177.708706","x"]],"trade","XBT/USD"]',
    b'[337,[["1.0","2","1695628177.708706"]],"trade","XBT/USD"]',
    b'[337,[],"trade","XBT/USD"]',
    b'[337,[["1.0","2","\xd9\xa1.5","s","m",""]],"trade","XBT/USD"]',
    b'[337,[["1.0","2","1695628177.708706","s","m",""]],"trade","NOPE/USD"]',
    b'[338,{"a":["1",0,"2"],"b":["1",0,"2"]},"ticker","XBT/USD"]',
    b'[338,{"a":["1",0,"2"],"b":["1",0,2]},"ticker","XBT/USD"]',
    b'[338,{"a":["1",0,"2"],"b":["1",0,"2"],"z":1},"ticker","XBT/USD"]',
    b'[338,{"a":["1",0,"2"]},"ticker","XBT/USD"]',
    b'[337,[["1.0","2","1695628177.708706","s","m"]],"trade","XBT/USD"]',
    b'[337,[["1.0","2","1695628177.708706","s","m","",""]],"trade","XBT/USD"]',
    '[337,[["1.0","2","\u00b9695628177.708706","s","m",""]],"trade","XBT/USD"]'.encode(),
    '[337,[["1.0","2","1695628177.70870\u00b9","s","m",""]],"trade","XBT/USD"]'.encode(),
]
_ARABIC = str.maketrans(
    "0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
)
TAKEN = [
    # past the prepared "-<n>" suffixes: ids made in the loop
    (
        "[337,["
        + ",".join(f'["1.{n}","2","1695628177.708706","{"bs"[n % 2]}","m",""]' for n in range(70))
        + '],"trade","XBT/USD"]'
    ).encode(),
    # Kraken's shape in other Unicode decimal digits: read as the generic path's fallback reads them
    (
        '[337,[["1.0","2","'
        + "1695628177.708706".translate(_ARABIC)
        + '","s","m",""]],"trade","XBT/USD"]'
    ).encode(),
    # a second time within the frame
    b'[337,[["1.0","2","1695628177.708706","s","m",""],["1.1","3","1695628178.000001","b","l",""]],'
    b'"trade","XBT/USD"]',
]


def _normalizer(fast: bool) -> Normalizer:
    """Kraken's markets come from the REST frames at the top of each file."""
    return Normalizer(clock=lambda: 1, fast_paths=fast)


def _state(mapper: KrakenMapper) -> tuple[object, ...]:
    """The mapper's state as values: the books with a snapshot seen, the acked depths (the
    levels are the book synchroniser's)."""
    return (set(mapper._booked), dict(mapper._acked_depth))


def _same_or_none(mapper: KrakenMapper, payload: bytes) -> bool:
    """``fast_path_checks.same_or_none`` from the same state on both paths (a snapshot
    changes it), that state ending equal too; the mapper moves on by the generic path."""
    saved = (set(mapper._booked), dict(mapper._acked_depth))
    fast = outcome(mapper.map_bytes, payload)
    after = _state(mapper)
    mapper._booked, mapper._acked_depth = saved
    slow = generic(mapper, payload)
    if fast == ("events", None):
        return False
    assert fast == slow, payload[:300]
    assert after == _state(mapper), payload[:300]
    return True


def _loaded() -> tuple[KrakenMapper, list[bytes]]:
    norm = _normalizer(True)
    payloads: list[bytes] = []
    for path in FILES:
        frames = read_frames(path, "kraken")
        norm.process_batch(frames)
        payloads += [f["payload"] for f in frames if f["transport"] == "WEBSOCKET"]
    mapper = norm.native["kraken"].mapper
    assert isinstance(mapper, KrakenMapper)
    assert norm.native["kraken"]._map_bytes is not None
    return mapper, payloads


def test_fast_path_takes_every_hot_frame_and_equals_the_generic_path() -> None:
    mapper, payloads = _loaded()
    hot = 0
    for payload in payloads:
        took = _same_or_none(mapper, payload)
        slow = generic(mapper, payload)
        if slow[0] == "events" and slow[1]:
            if b'"spread"' in payload:
                assert not took  # spread: the generic path
                continue
            hot += 1
            assert took, payload[:200]
    assert hot >= 15


def test_fast_path_on_mutated_edge_and_odd_frames_is_the_generic_path_or_none() -> None:
    mapper, payloads = _loaded()
    rng = random.Random("kraken-fast")
    mutants = [mutate(rng, rng.choice(payloads)) for _ in range(MUTANTS)]
    edges = [e for p in payloads for e in edge_cases(rng, p)]
    took = sum(_same_or_none(mapper, p) for p in mutants)
    took_edges = sum(_same_or_none(mapper, p) for p in edges + EXTRA)
    assert took > MUTANTS // 40
    assert took_edges > len(edges) // 40


def test_fast_path_takes_long_trade_frames_and_other_unicode_digits() -> None:
    mapper, _ = _loaded()
    for payload in TAKEN:
        assert _same_or_none(mapper, payload), payload[:100]


def test_unknown_pair_and_bad_level_raise_the_generic_paths_error() -> None:
    mapper, _ = _loaded()
    payload = b'[337,[["1.0","2","1695628177.708706","s","m",""]],"trade","NOPE/USD"]'
    assert mapper.map_bytes(payload) is None
    with pytest.raises(MapError):
        mapper.map(mapper.decode(payload))
    # a bad decimal is found after the same checks on both paths (a book seen)
    bad = b'[336,{"a":[["x","2","1696613755.440295"]]},"book-10","XBT/USD"]'
    with pytest.raises(MapError) as fast:
        mapper.map_bytes(bad)
    with pytest.raises(MapError) as generic:
        mapper.map(mapper.decode(bad))
    assert str(fast.value) == str(generic.value)


def test_normalizer_outputs_identical_with_the_fast_path_on_and_off() -> None:
    frames = [f for path in FILES for f in read_frames(path, "kraken")]
    rng = random.Random("kraken-fast-normalizer")
    seeds = [f for f in frames if f["transport"] == "WEBSOCKET"]
    fuzzed = [dict(f, payload=mutate(rng, f["payload"])) for f in rng.choices(seeds, k=MUTANTS)]
    edges = [dict(f, payload=e) for f in seeds for e in edge_cases(rng, f["payload"])]
    odd = [dict(seeds[0], payload=p) for p in EXTRA + TAKEN]
    sequence = frames + fuzzed + edges + odd + frames
    assert_same_outputs(sequence, _normalizer(True), _normalizer(False))


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("1534614057.321597", 1534614057321597000),
        ("1534614057", 1534614057000000000),
        ("1534614057.", 1534614057000000000),
        ("0.000000001", 1),
        ("1534614057.123456789", 1534614057123456789),
        ("1534614057.1", 1534614057100000000),
        ("0001534614057.321597", 1534614057321597000),
        ("9999999999.999999", 9999999999999999000),
    ],
)
def test_seconds_ns_exact(text: str, ns: int) -> None:
    assert seconds_ns(text) == ns
    assert _seconds_to_ns(text, "time") == ns == _old(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        ".5",
        "1.2.3",
        "1534614057.1234567891",  # 10 decimals
        "-1534614057.321597",
        "+1534614057.321597",
        " 1534614057.321597",
        "1_534614057.321597",
        "153461405_.321597",  # 17 characters, the dot at 10, not digits
        "1534614057,321597",
        "1534614057.32159x",
        "\u0661534614057.321597",  # an Arabic-Indic digit: int() takes it, the wire does not
        "\u00b2",
        "1" * 25,
    ],
)
def test_seconds_ns_refuses_what_is_not_plain_ascii_seconds(text: str) -> None:
    assert seconds_ns(text) is None
    # the generic parser decides these as it did before the fast parser came first
    assert _outcome(lambda: _seconds_to_ns(text, "time")) == _outcome(lambda: _old(text))


def _old(value: str) -> int:
    """``_seconds_to_ns`` before :func:`seconds_ns` (the reference)."""
    whole, _, frac = value.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 9:
        raise MapError("time", value, "seconds as a decimal string")
    return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])


def _outcome(fn: Callable[[], int]) -> tuple[object, ...]:
    try:
        return ("ns", fn())
    except Exception as exc:
        return ("raised", type(exc), str(exc))


def test_checksum_from_level_pieces_equals_kraken_crc32() -> None:
    """The book's path (each level's text once, :func:`kraken_checksum_text`, joined by
    :func:`kraken_crc32_pieces`) against the checksum of the decimals."""
    rng = random.Random("kraken-crc")
    spec_pieces = KrakenMapper.spec.checksum_pieces
    assert spec_pieces is not None
    texts = ["45283.50000", "0.00100000", "1.2E-7", "0.0", "10", "5.", "0001.5", "1E+2"]
    texts += [f"{rng.randrange(10**6)}.{rng.randrange(10**8):08d}" for _ in range(200)]

    def pieces(levels: list[tuple[str, str]]) -> list[bytes]:
        return [
            kraken_checksum_text(p, Decimal(p)) + kraken_checksum_text(q, Decimal(q))
            for p, q in levels
        ]

    for _ in range(300):
        asks = [(rng.choice(texts), rng.choice(texts)) for _ in range(10)]
        bids = [(rng.choice(texts), rng.choice(texts)) for _ in range(10)]
        dec_asks = [(Decimal(p), Decimal(q)) for p, q in asks]
        dec_bids = [(Decimal(p), Decimal(q)) for p, q in bids]
        assert kraken_crc32_pieces(pieces(asks), pieces(bids)) == kraken_crc32(dec_asks, dec_bids)
        joined = b"".join(pieces(asks) + pieces(bids))  # what the book synchroniser gives it
        assert spec_pieces(joined) == kraken_crc32(dec_asks, dec_bids)
    # Kraken's documented example
    documented = [("0.05005", "0.00000500"), ("0.05010", "0.00000500")]
    assert kraken_crc32_pieces(pieces(documented), []) == zlib.crc32(b"50055005010500")


def test_checksum_through_the_book_with_a_respelled_level_is_unchanged() -> None:
    """A level re-sent with another spelling: the book keeps the first price Decimal, so the
    checksum verified is that of the first spelling and the latest size, as before."""
    frames = read_frames(DIR / "v1.jsonl", "kraken")
    snap_i = next(i for i, f in enumerate(frames) if b'"as"' in f["payload"])
    snap = frames[snap_i]
    asks = [("45285.20000", "0.00100000"), ("45286.40000", "1.54571953")]
    asks += [("45286.60000", "1.54571109")]
    bids = [("45283.50000", "0.10000000"), ("45283.40000", "1.54582015")]
    bids += [("45282.10000", "0.10000000")]
    # re-send the best ask as "45285.2" with a new size: the book keeps "45285.20000"
    asks[0] = ("45285.20000", "0.20000000")
    good = kraken_crc32(
        [(Decimal(p), Decimal(s)) for p, s in asks], [(Decimal(p), Decimal(s)) for p, s in bids]
    )
    respelled = list(asks)
    respelled[0] = ("45285.2", "0.20000000")
    bad = kraken_crc32(
        [(Decimal(p), Decimal(s)) for p, s in respelled],
        [(Decimal(p), Decimal(s)) for p, s in bids],
    )
    assert good != bad
    for checksum, verified in ((good, True), (bad, False)):
        payload = (
            b'[336,{"a":[["45285.2","0.20000000","1696613755.440295"]],"c":"%d"},'
            b'"book-10","XBT/USD"]' % checksum
        )
        for fast in (True, False):
            norm = Normalizer(clock=lambda: 1, fast_paths=fast)
            result = norm.process_batch([*frames[:snap_i], snap, dict(snap, payload=payload)])
            books = result.records.get("md.book", [])
            gaps = result.records.get("md.coverage", [])
            assert [b["kind"] for b in books] == (
                ["SNAPSHOT", "DELTA"] if verified else ["SNAPSHOT"]
            )
            assert bool(gaps) is not verified
