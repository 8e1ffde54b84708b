"""Seeded mutations of real frames for the mapper fuzz test: truncation, wrong types,
missing fields, huge numbers, NaN/Infinity, duplicate keys, invalid UTF-8, byte flips."""

from __future__ import annotations

import json
import random
from typing import Any

ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    1.5,
    -1,
    0,
    10**40,
    "1e400",
    "NaN",
    "Infinity",
    "-0.0001",
    "9" * 60,
    "0." + "1" * 30,
    "",
    "abc",
    [],
    {},
    [[]],
    [["1", "2", "3"]],
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.extend(_paths(item, (*prefix, index)))
    return out


def _structural(rng: random.Random, message: Any) -> bytes | None:
    paths = _paths(message)
    if not paths:
        return None
    path = rng.choice(paths)
    parent = message
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if rng.random() < 0.3:
        del parent[last]
    else:
        parent[last] = rng.choice(ODD_VALUES)
    return json.dumps(message, separators=(",", ":")).encode()


def mutate(rng: random.Random, payload: bytes) -> bytes:
    """One mutated copy of a JSON frame payload."""
    kind = rng.randrange(7)
    if kind == 0:  # truncation
        return payload[: rng.randrange(len(payload))]
    if kind == 1:  # invalid UTF-8
        at = rng.randrange(len(payload) + 1)
        return payload[:at] + b"\xff\xfe" + payload[at:]
    if kind == 2:  # a flipped byte
        at = rng.randrange(len(payload))
        return payload[:at] + bytes([payload[at] ^ (1 << rng.randrange(8))]) + payload[at + 1 :]
    if kind == 3:  # bare NaN / Infinity tokens where a string value was
        text = payload.decode("utf-8", "replace")
        starts = [i for i, ch in enumerate(text) if ch == ":" and i + 1 < len(text)]
        if starts:
            at = rng.choice(starts) + 1
            end = at
            while end < len(text) and text[end] not in ",}]":
                end += 1
            return (text[:at] + rng.choice(["NaN", "Infinity", "-Infinity"]) + text[end:]).encode()
        return payload
    if kind == 4:  # a duplicated key with another value
        text = payload.decode("utf-8", "replace")
        if text.startswith("{") and len(text) > 2:
            return (
                '{"' + rng.choice(["e", "s", "p", "data", "type", "channel"]) + '":1,' + text[1:]
            ).encode()
        return payload
    try:
        message = json.loads(payload)
    except ValueError:
        return payload[: len(payload) // 2]
    mutated = _structural(rng, message)
    return mutated if mutated is not None else payload[:-1]
