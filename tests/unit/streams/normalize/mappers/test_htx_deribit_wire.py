"""HTX and Deribit typed fast paths (``map_bytes``; ``htx_wire``, ``deribit_wire``) against
the generic path (the mapper's ``decode`` then ``map``), as ``test_krakenfutures_gemini_wire``
checks Kraken Futures' and Gemini's.

On every documented frame of the two venues, on the fuzz test's mutations of them and on
edge cases aimed at the typed decode (HTX: of the inflated JSON, gzipped again, and of the
gzip bytes themselves): ``map_bytes`` gives None or exactly what the generic path gives
(the same events, or the same exception), and it takes every well-formed hot frame. The
whole normalizer gives the same records, coverage events and dead letters with the fast
path on and off. HTX's one-call inflate gives :func:`gzip.decompress`'s bytes and errors
(truncated, not gzip, several members, trailing bytes, header flags zlib checks and
:mod:`gzip` does not); Deribit's msgspec-first decode gives the standard decoder's values.
"""

from __future__ import annotations

import gzip
import json
import random
import zlib
from pathlib import Path

import pytest

from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers import MapError
from tapewire.streams.normalize.mappers.base import Mapper
from tapewire.streams.normalize.mappers.deribit import DeribitMapper
from tapewire.streams.normalize.mappers.htx import HtxMapper, gunzip
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.fast_path_checks import (
    MUTANTS,
    assert_same_outputs,
    edge_cases,
    generic,
    outcome,
    same_or_none,
)
from tests.unit.streams.normalize.mappers.helpers import outputs_per_frame
from tests.unit.streams.normalize.mappers.mutations import mutate
from tests.unit.streams.normalize.mappers.test_differential import markets

DATA = Path(__file__).resolve().parents[4] / "data"
FILES = [
    ("htx", DATA / "frames" / "htx" / "frames.jsonl"),
    ("deribit", DATA / "frames" / "deribit" / "frames.jsonl"),
]
"""The files with frames of the fast-path channels (``deribit/derivatives.jsonl`` has
``ticker`` frames only, which the generic path maps)."""
IDS = [f"{venue}/{path.name}" for venue, path in FILES]
HTX_TRADE = (
    b'{"ch":"market.btcusdt.trade.detail","ts":1630000000003,"tick":{"id":1,"ts":1630000000003,'
    b'"data":[{"id":7,"ts":1630000000001,"tradeId":102090727790,"amount":0.003893,'
    b'"price":9150.01,"direction":"buy"}]}}'
)


def _gz(text: bytes) -> bytes:
    return gzip.compress(text, mtime=0)


def _json(venue: str, payload: bytes) -> bytes | None:
    """The frame's JSON text (HTX: inflated), None when it is none."""
    if venue == "htx":
        try:
            return gzip.decompress(payload)
        except (OSError, EOFError, zlib.error):
            return None
    return payload


def _hot(venue: str, payload: bytes) -> bool:
    """A frame of a fast-path channel: HTX ``trade.detail``, ``mbp`` delta, ``bbo``; Deribit
    ``trades``, ``book``, ``quote``."""
    text = _json(venue, payload)
    try:
        message = json.loads(text) if text is not None else None
    except ValueError:
        return False
    if not isinstance(message, dict):
        return False
    if venue == "htx":
        ch = str(message.get("ch"))
        return ch.endswith((".trade.detail", ".bbo")) or ".mbp." in ch
    channel = str((message.get("params") or {}).get("channel"))
    return channel.split(".")[0] in ("trades", "book", "quote")


def _normalizer(venue: str, fast: bool) -> Normalizer:
    """A normalizer with HTX's markets (Deribit's come from a file's REST frames);
    ``fast=False``: the fast paths switched off."""
    return Normalizer(clock=lambda: 1, markets=markets(venue), fast_paths=fast)


def _loaded(venue: str, path: Path) -> tuple[Mapper, list[bytes]]:
    """The file's mapper (markets loaded) and its websocket payloads."""
    frames = read_frames(path, venue)
    norm = _normalizer(venue, fast=True)
    norm.process_batch(frames)
    assert norm.native[venue]._map_bytes is not None
    mapper = norm.native[venue].mapper
    assert isinstance(mapper, HtxMapper | DeribitMapper)
    return mapper, [f["payload"] for f in frames if f["transport"] == "WEBSOCKET"]


def _header_crc(payload: bytes, crc: bytes) -> bytes:
    """``payload`` with its FHCRC flag set and ``crc`` after the 10-byte header."""
    return payload[:3] + bytes([payload[3] | 0x02]) + payload[4:10] + crc + payload[10:]


def _gzip_cases(payload: bytes) -> list[bytes]:
    """A gzip frame broken or reshaped where zlib and :mod:`gzip` may disagree."""
    reserved = bytearray(payload)
    reserved[3] |= 0x20  # a reserved flag bit: gzip ignores it, zlib refuses
    crc = bytearray(payload)
    crc[-8] ^= 0xFF
    size = bytearray(payload)
    size[-1] ^= 0x01
    method = bytearray(payload)
    method[2] = 7
    half = len(payload) // 2
    return [
        payload[:-1],
        payload[:-9],
        payload[:half],
        payload[:10],
        payload[:3],
        payload[:2],
        b"\x1f",
        b"\x1f\x8b" + b"garbage, not a gzip stream",
        b"not gzip, not json",
        payload + b"\x00\x00\x00",
        payload + b"\x00",
        payload + b"xyz",
        payload + b"\x1f",
        payload + payload,  # two members: gzip inflates both
        payload + b"\x00\x00" + payload,
        _header_crc(payload, b"\x00\x00"),  # a wrong header CRC: gzip skips it, zlib refuses
        _header_crc(payload, b""),  # the flag without the CRC
        bytes(reserved),
        bytes(crc),
        bytes(size),
        bytes(method),
    ]


def _mutants(venue: str, rng: random.Random, payloads: list[bytes], n: int) -> list[bytes]:
    """``n`` mutated frames; HTX: half of the inflated JSON (gzipped again), half of the
    gzip bytes."""
    out = []
    for i in range(n):
        payload = rng.choice(payloads)
        text = _json(venue, payload)
        if venue == "htx" and text is not None and i % 2 == 0:
            out.append(_gz(mutate(rng, text)))
        else:
            out.append(mutate(rng, payload))
    return out


def _seeds(texts: list[bytes]) -> list[bytes]:
    """Up to two well-formed frames of each shape (channel kind and keys)."""
    by_shape: dict[str, list[bytes]] = {}
    for text in texts:
        try:
            message = json.loads(text)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        params = message.get("params")
        channel = str(
            message.get("ch") or (params.get("channel") if isinstance(params, dict) else "")
        )
        kind = channel.split(".")[2:3] if channel.startswith("market.") else channel.split(".")[:1]
        by_shape.setdefault(str(sorted(message)) + str(kind), []).append(text)
    return [t for found in by_shape.values() for t in found[:2]]


def _edges(venue: str, rng: random.Random, payloads: list[bytes]) -> list[bytes]:
    texts = [t for p in payloads if (t := _json(venue, p)) is not None]
    edges = [e for t in _seeds(texts) for e in edge_cases(rng, t)]
    if venue != "htx":
        return edges
    gzip_cases = [c for p in payloads if _hot(venue, p) for c in _gzip_cases(p)]
    return [_gz(e) for e in edges] + gzip_cases + texts  # texts: HTX frames not gzipped


@pytest.mark.parametrize(("venue", "path"), FILES, ids=IDS)
def test_fast_path_takes_every_hot_frame_and_equals_the_generic_path(
    venue: str, path: Path
) -> None:
    mapper, payloads = _loaded(venue, path)
    hot = 0
    for payload in payloads:
        took = same_or_none(mapper, payload)
        expected = generic(mapper, payload)
        if expected[0] == "events" and expected[1] and _hot(venue, payload):
            hot += 1
            assert took, payload[:200]
    assert hot > 3


@pytest.mark.parametrize(("venue", "path"), FILES, ids=IDS)
def test_fast_path_on_mutated_and_edge_frames_is_the_generic_path_or_none(
    venue: str, path: Path
) -> None:
    mapper, payloads = _loaded(venue, path)
    rng = random.Random(f"htxderi-wire-{path.relative_to(DATA)}")
    mutants = _mutants(venue, rng, payloads, MUTANTS)
    edges = _edges(venue, rng, payloads)
    took = sum(same_or_none(mapper, p) for p in mutants)
    took_edges = sum(same_or_none(mapper, p) for p in edges)
    # the fast path took (and agreed on) a real share of them
    assert took > MUTANTS // 40
    assert took_edges > len(edges) // 40


def test_htx_inflate_gives_gzips_bytes_and_errors() -> None:
    _, payloads = _loaded("htx", FILES[0][1])
    cases = [c for p in payloads for c in _gzip_cases(p)] + payloads
    outcomes = [(outcome(gunzip, c), outcome(gzip.decompress, c)) for c in cases]
    for case, (ours, theirs) in zip(cases, outcomes, strict=True):
        assert ours == theirs, case[:40]
    kinds = {o[0][0] if o[0][0] == "events" else o[0][1] for o in outcomes}
    assert kinds >= {"events", EOFError, gzip.BadGzipFile}


def test_htx_bad_gzip_dead_letters_as_before() -> None:
    """A truncated frame, a non-gzip one after the magic bytes, a bad CRC: the dead letter
    names ``gzip.decompress``'s error, with the fast path on and off; two members and a
    header CRC zlib refuses still map (the generic path inflates them)."""
    frames = read_frames(FILES[0][1], "htx")
    trade = next(f for f in frames if b"trade" in gzip.decompress(f["payload"]))
    good = _gz(HTX_TRADE)
    crc = bytearray(good)
    crc[-8] ^= 0xFF
    bad = [good[:-5], b"\x1f\x8bnot gzip", bytes(crc)]
    texts = [HTX_TRADE.replace(b"102090727790", b"%d" % i) for i in (1, 2, 3)]
    fine = [
        _gz(texts[0]) + b"\x00\x00",
        _gz(texts[1][:40]) + _gz(texts[1][40:]),
        _header_crc(_gz(texts[2]), b"\x00\x00"),
    ]
    sequence = [dict(trade, payload=p, sequence=100 + i) for i, p in enumerate(bad + fine)]
    on = outputs_per_frame(_normalizer("htx", fast=True), sequence)
    assert on == outputs_per_frame(_normalizer("htx", fast=False), sequence)
    for payload, (records, _) in zip(bad, on[: len(bad)], strict=True):
        try:
            gzip.decompress(payload)
        except Exception as exc:
            reason = f"undecodable payload: {exc}"
        (letter,) = records["dlq.normalize"]
        assert (letter["error_type"], letter["reason"]) == ("DecodeError", reason)
    mapper, _ = _loaded("htx", FILES[0][1])
    for i, (payload, (records, _)) in enumerate(zip(fine, on[len(bad) :], strict=True)):
        assert mapper.map_bytes(payload) is None  # the generic path takes it
        assert [r["trade_id"] for r in records["md.trades"]] == [str(i + 1)]


def test_htx_frames_with_a_minus_take_the_generic_path() -> None:
    """``-0`` is ``0`` to msgspec and ``"-0"`` to the generic path: a frame with a ``-``
    is not decoded by the fast path (HTX sends none)."""
    mapper, _ = _loaded("htx", FILES[0][1])
    for text in (HTX_TRADE.replace(b"0.003893", b"-0"), HTX_TRADE.replace(b"9150.01", b"-0")):
        payload = _gz(text)
        assert mapper.map_bytes(payload) is None
        assert generic(mapper, payload)[0] == "events"
    assert mapper.map_bytes(_gz(HTX_TRADE)) == mapper.map(mapper.decode(_gz(HTX_TRADE)))


def test_deribit_decode_gives_the_standard_decoders_values() -> None:
    mapper, payloads = _loaded("deribit", FILES[1][1])
    rng = random.Random("htxderi-deribit-decode")
    cases = (
        payloads + _mutants("deribit", rng, payloads, MUTANTS) + _edges("deribit", rng, payloads)
    )
    for payload in cases:
        ours = outcome(mapper.decode, payload)
        theirs = outcome(lambda p: json.loads(p, parse_float=str), payload)
        assert ours == theirs, payload[:200]


@pytest.mark.parametrize(
    ("venue", "payload"),
    [
        ("htx", _gz(HTX_TRADE.replace(b"btcusdt", b"nopeusdt"))),
        (
            "htx",
            _gz(
                b'{"ch":"market.nopeusdt.mbp.150","ts":1630000000005,"tick":{"seqNum":101,'
                b'"prevSeqNum":100,"bids":[[9150.01,2.1]],"asks":[]}}'
            ),
        ),
        (
            "htx",
            _gz(
                b'{"ch":"market.nopeusdt.bbo","ts":1,"tick":{"seqId":1,"ask":2,"askSize":1,'
                b'"bid":1,"bidSize":1,"quoteTime":1,"symbol":"nopeusdt"}}'
            ),
        ),
        (
            "deribit",
            b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.NOPE.100ms",'
            b'"data":[{"trade_id":"1","timestamp":1,"price":1,"instrument_name":"NOPE",'
            b'"direction":"buy","amount":2.0}]}}',
        ),
        (
            "deribit",
            b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.NOPE.100ms",'
            b'"data":{"type":"change","timestamp":1,"prev_change_id":1,'
            b'"instrument_name":"NOPE","change_id":2,"bids":[],"asks":[]}}}',
        ),
        (
            "deribit",
            b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"quote.NOPE",'
            b'"data":{"timestamp":1,"instrument_name":"NOPE","best_bid_price":null}}}',
        ),
    ],
)
def test_unknown_instrument_raises_the_generic_paths_error(venue: str, payload: bytes) -> None:
    path = next(p for v, p in FILES if v == venue)
    mapper, _ = _loaded(venue, path)
    with pytest.raises(MapError) as fast:
        mapper.map_bytes(payload)
    with pytest.raises(MapError) as generic:
        mapper.map(mapper.decode(payload))
    assert fast.value.field == "market"
    assert str(fast.value) == str(generic.value)


@pytest.mark.parametrize(("venue", "path"), FILES, ids=IDS)
def test_normalizer_outputs_identical_with_the_fast_path_on_and_off(venue: str, path: Path) -> None:
    frames = read_frames(path, venue)
    rng = random.Random(f"htxderi-wire-normalizer-{path.relative_to(DATA)}")
    seeds = [f for f in frames if f["transport"] == "WEBSOCKET"]
    payloads = [f["payload"] for f in seeds]
    fuzzed = [dict(rng.choice(seeds), payload=p) for p in _mutants(venue, rng, payloads, MUTANTS)]
    edges = [dict(rng.choice(seeds), payload=p) for p in _edges(venue, rng, payloads)]
    # the file as recorded, then the fuzz and edge cases on the same (now synced) state,
    # then the file again
    sequence = frames + fuzzed + edges + frames
    on, off = _normalizer(venue, fast=True), _normalizer(venue, fast=False)
    assert_same_outputs(sequence, on, off)
    assert on.native[venue]._map_bytes is not None
    assert off.native[venue]._map_bytes is None
