"""Parameter sweeps: ``--sweep key=v1,v2`` options -> one deployment document per grid point.

A key is a dotted path into the deployment document
(``trading.strategies.0.params.threshold_bps``, ``trading.paper.binance.taker_bps``); a
bare name (``threshold_bps``) means that parameter of the only strategy. Values are
integers when they look like one (``3``, ``-1``), ``true``/``false`` booleans, else text
(a decimal stays exact: ``"0.25"``). The grid is the product of every key's values, in
the order given; grid point ``i`` is run ``<run id>-<i:03d>``.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from tapewire.core.errors import ConfigError

_INT = re.compile(r"^-?\d+$")
_OPTION = "--sweep"


@dataclass(frozen=True)
class Axis:
    """One ``--sweep`` option: a key path and its values."""

    key: str
    path: tuple[str, ...]
    values: tuple[str, ...]


@dataclass(frozen=True)
class GridPoint:
    """One run of a sweep: its index, the values it sets (key -> text) and its document."""

    index: int
    params: dict[str, str]
    document: dict[str, Any]


def _value(text: str) -> Any:
    if _INT.match(text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    return text


def parse_axis(option: str, document: Mapping[str, Any]) -> Axis:
    """``key=v1,v2,...`` -> :class:`Axis`; :class:`ConfigError` naming the option."""
    key, sep, values = option.partition("=")
    key = key.strip()
    items = tuple(v.strip() for v in values.split(",") if v.strip())
    if not sep or not key or not items:
        raise ConfigError(
            f"{_OPTION} {option!r} is not key=value[,value...]",
            field=_OPTION,
            value=option,
            hint="e.g. --sweep threshold_bps=0.2,0.5 or "
            "--sweep trading.strategies.0.params.quantity=0.01,0.02",
        )
    if "." in key:
        return Axis(key, tuple(key.split(".")), items)
    strategies = (document.get("trading") or {}).get("strategies") or []
    if len(strategies) != 1:
        raise ConfigError(
            f"{_OPTION} {key}: a bare name needs exactly one [[trading.strategies]] "
            f"(found {len(strategies)})",
            field=_OPTION,
            value=option,
            hint=f"name the strategy: --sweep trading.strategies.0.params.{key}=...",
        )
    return Axis(key, ("trading", "strategies", "0", "params", key), items)


def _set(document: dict[str, Any], axis: Axis, value: Any) -> None:
    node: Any = document
    for i, part in enumerate(axis.path[:-1]):
        where = ".".join(axis.path[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(
                    f"{_OPTION} {axis.key}: {where} is not an index of a list of {len(node)}",
                    field=_OPTION,
                    value=axis.key,
                    hint="count from 0: trading.strategies.0 is the first strategy",
                )
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.setdefault(part, {})
        else:
            raise ConfigError(
                f"{_OPTION} {axis.key}: {where} is a value, not a table",
                field=_OPTION,
                value=axis.key,
                hint="the key path must lead through tables to a key",
            )
    if not isinstance(node, dict):
        raise ConfigError(
            f"{_OPTION} {axis.key}: the parent of the key is not a table",
            field=_OPTION,
            value=axis.key,
            hint="the key path must lead through tables to a key",
        )
    node[axis.path[-1]] = value


def grid(document: Mapping[str, Any], options: Sequence[str]) -> list[GridPoint]:
    """Every grid point (one without options: the document itself)."""
    axes = [parse_axis(o, document) for o in options]
    points: list[GridPoint] = []
    for index, combo in enumerate(itertools.product(*(a.values for a in axes))):
        doc = copy.deepcopy(dict(document))
        for axis, value in zip(axes, combo, strict=True):
            _set(doc, axis, _value(value))
        points.append(GridPoint(index, {a.key: v for a, v in zip(axes, combo, strict=True)}, doc))
    return points


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The document as sorted, compact JSON (TOML dates and the like as text)."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS, default=str)


def config_hash(document: Mapping[str, Any]) -> str:
    """sha256 of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(document)).hexdigest()
