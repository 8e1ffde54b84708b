"""OKX's typed fast path (:meth:`OkxMapper.map_bytes`, structs of ``okx_wire``) against the
generic path (``orjson.loads`` then :meth:`OkxMapper.map`).

On every recorded and documented OKX frame, on the fuzz test's mutations of them and on
targeted odd values (integers beyond int64, ``1e400``, NaN, duplicate keys, escapes, lone
surrogates, invalid UTF-8, extra fields): ``map_bytes`` gives None or exactly what the
generic path gives (the same events, or the same exception), and it really runs on every
well-formed hot-channel frame. The whole normalizer gives the same records, coverage events
and dead letters with the fast path on and off.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.mappers.okx import OkxMapper
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.fast_path_checks import generic, same_or_none
from tests.unit.streams.normalize.mappers.mutations import mutate

DATA = Path(__file__).resolve().parents[4] / "data"
FILES = [
    p
    for kind in ("frames", "real")
    for p in sorted((DATA / kind / "okx").glob("*.jsonl"))
    if p.name != "instruments.jsonl"  # market REST responses only
]
SWAPS_ONLY = {"okx": {"fetchMarkets": {"types": ["swap"]}}}
HOT = {"trades", "trades-all", "tickers", "bbo-tbt", "books", "books-l2-tbt", "books50-l2-tbt"}
ODD = [
    b"null",
    b"true",
    b"0",
    b"-1",
    b"1.0",
    b"1e2",
    b"1e400",
    b"1" + b"0" * 400,
    b"9223372036854775807",
    b"9223372036854775808",
    b"18446744073709551615",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"NaN",
    b"-Infinity",
    b'""',
    b'"x"',
    b'"12 "',
    b'"\\u0031\\u0032"',
    b'"\\u00b2"',
    b'"\\ud800"',
    b'"\\ud800\\udc00"',
    b'"\xff"',
    b'"\xed\xa0\x80"',
    b'"sell"',
    b'"update"',
    b'"NOPE-USDT"',
    b'"books5"',
    b"[]",
    b"{}",
    b'[["1","2"]]',
    b'[["1","2","0",4]]',
    b'[["1","2","0","4","5"]]',
    b"[1e400]",
    b'{"a":1e400}',
]
"""Raw JSON tokens put in place of a value (or as a duplicate key's first value)."""
NO_HOT_CHANNEL = {"derivatives.jsonl"}
"""Files of ``mark-price`` / ``funding-rate`` frames only (the generic path maps them)."""


def _options(path: Path) -> dict[str, Any] | None:
    return SWAPS_ONLY if path.name in ("swap.jsonl", "derivatives.jsonl") else None


def _normalizer(path: Path, fast: bool) -> Normalizer:
    return Normalizer(clock=lambda: 1, options=_options(path), fast_paths=fast)


def _loaded(path: Path) -> tuple[OkxMapper, list[bytes]]:
    """The file's mapper (markets loaded from its REST frames) and websocket payloads."""
    frames = read_frames(path, "okx")
    norm = _normalizer(path, fast=True)
    norm.process_batch(frames)
    mapper = norm.native["okx"].mapper
    assert isinstance(mapper, OkxMapper)
    return mapper, [f["payload"] for f in frames if f["transport"] != "REST"]


def _channel(payload: bytes) -> str | None:
    try:
        message = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(message, dict) or "data" not in message or "event" in message:
        return None
    return str(message["arg"]["channel"])


def _odd_variants(rng: random.Random, payload: bytes, paths: int) -> list[bytes]:
    """``payload`` with a value replaced by each odd token, preceded by a duplicate key
    with it, followed by an extra field, or removed, at ``paths`` random places."""
    message = json.loads(payload)
    places: list[tuple[Any, ...]] = []

    def walk(value: Any, prefix: tuple[Any, ...]) -> None:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            places.append((*prefix, key))
            if isinstance(item, dict | list):
                walk(item, (*prefix, key))

    walk(message, ())
    out: list[bytes] = []
    for place in rng.sample(places, min(paths, len(places))):
        copy = json.loads(payload)
        parent = copy
        for step in place[:-1]:
            parent = parent[step]
        original = json.dumps(parent[place[-1]], separators=(",", ":")).encode()
        parent[place[-1]] = "@@ODD@@"
        text = json.dumps(copy, separators=(",", ":")).encode()
        out += [text.replace(b'"@@ODD@@"', token) for token in ODD]
        if isinstance(parent, dict):
            at = json.dumps(place[-1]).encode() + b":"
            for token in ODD:  # a duplicate key: the odd value first, the original last
                out.append(text.replace(at + b'"@@ODD@@"', at + token + b"," + at + original))
            out.append(text.replace(b'"@@ODD@@"', original + b',"zz":1e400'))  # extra field
        del parent[place[-1]]
        out.append(json.dumps(copy, separators=(",", ":")).encode())
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_fast_path_runs_on_every_hot_frame_and_equals_the_generic_path(path: Path) -> None:
    mapper, payloads = _loaded(path)
    hot = 0
    for payload in payloads:
        took = same_or_none(mapper, payload)
        if _channel(payload) in HOT and generic(mapper, payload)[0] == "events":  # well-formed
            hot += 1
            assert took, payload[:200]
    assert hot or path.name in NO_HOT_CHANNEL


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_fast_path_on_mutated_and_odd_frames_is_the_generic_path_or_none(path: Path) -> None:
    mapper, payloads = _loaded(path)
    rng = random.Random(f"okx-fast-{path.name}")
    mutated = [mutate(rng, rng.choice(payloads)) for _ in range(1500)]
    seeds = {p[:40]: p for p in payloads if _channel(p) in HOT}  # one frame per channel
    odd = [v for p in seeds.values() for v in _odd_variants(rng, p, 12)]
    took = sum(same_or_none(mapper, p) for p in mutated + odd)
    # the fast path took (and agreed on) a real share of them
    assert took > 50 or path.name in NO_HOT_CHANNEL


def _corrupt_level(payload: bytes, price: str) -> bytes:
    """A book update whose bid level at ``price`` (the best bid) has a size it never sent
    (the frame's checksum kept)."""
    message = json.loads(payload)
    message["data"][0]["bids"].insert(0, [price, "123.456", "0", "1"])
    return json.dumps(message, separators=(",", ":")).encode()


def _run(path: Path, frames: list[dict[str, Any]], fast: bool) -> NormalizeResult:
    norm = _normalizer(path, fast)
    total = NormalizeResult()
    for frame in frames:
        total.extend(norm.process(frame))
    return total


def test_checksum_still_verified_on_the_fast_path() -> None:
    path = DATA / "real" / "okx" / "frames.jsonl"
    frames = read_frames(path, "okx")
    snapshot = next(f for f in frames if b'"action":"snapshot"' in f["payload"])
    best_bid = json.loads(snapshot["payload"])["data"][0]["bids"][0][0]
    at = next(i for i, f in enumerate(frames) if b'"action":"update"' in f["payload"])
    frames[at] = dict(frames[at], payload=_corrupt_level(frames[at]["payload"], best_bid))
    mapper, _ = _loaded(path)
    assert mapper.map_bytes(frames[at]["payload"]) is not None
    fast = _run(path, frames, fast=True)
    assert fast.records == _run(path, frames, fast=False).records
    # the snapshot, then the corrupted delta fails its checksum: GAP, no more book records
    assert len(fast["md.book"]) == 1
    assert [(c["event"], c["reason"]) for c in fast["md.coverage"]] == [("GAP", "checksum")]


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_normalizer_outputs_identical_with_the_fast_path_on_and_off(path: Path) -> None:
    frames = read_frames(path, "okx")
    rng = random.Random(f"okx-fast-normalizer-{path.name}")
    seeds = [f for f in frames if f["transport"] != "REST"]
    fuzzed = [dict(f, payload=mutate(rng, f["payload"])) for f in rng.choices(seeds, k=1500)]
    # the file as recorded, then the fuzz cases on the same (now synced) state
    fast = _run(path, frames + fuzzed, fast=True)
    generic = _run(path, frames + fuzzed, fast=False)
    assert fast.records == generic.records
    assert fast.duplicates == generic.duplicates
    assert sum(map(len, fast.records.values())) > len(fuzzed) // 10
