"""The time helpers' fast paths (``iso_to_ns``: the seconds of a ``YYYY-MM-DDTHH:MM:SS``
prefix from a cache; Gate's ``ms_fraction_to_ns``) against the full parses they replaced
(copied here as the reference): the same value, or the same exception, for every shape,
with the cache cold, warm, and filled by other texts of the same prefix first."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest

from tapewire.streams.normalize.mappers import common
from tapewire.streams.normalize.mappers.base import MS
from tapewire.streams.normalize.mappers.common import iso_to_ns
from tapewire.streams.normalize.mappers.events import MapError
from tapewire.streams.normalize.mappers.gate import ms_fraction_to_ns


def reference_iso_to_ns(text: str) -> int | None:
    """``iso_to_ns`` as it was: every text through ``datetime.fromisoformat``."""
    try:
        main, _, frac = text.rstrip("Z").partition(".")
        seconds = int(datetime.fromisoformat(main).replace(tzinfo=UTC).timestamp())
        digits = (frac + "000000000")[:9] if frac.isdigit() or not frac else None
    except ValueError:
        return None
    return None if digits is None else seconds * 1_000_000_000 + int(digits)


def reference_ms_fraction_to_ns(value: Any, key: str) -> int:
    """``ms_fraction_to_ns`` as it was."""
    if value.__class__ is not str:
        raise MapError(key, value, "milliseconds as decimal text")
    whole, _, frac = value.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise MapError(key, value, "milliseconds as decimal text")
    return int(whole) * MS + int((frac + "000000")[:6])


def _outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        return ("value", fn())
    except Exception as exc:
        return ("raised", type(exc), str(exc))


PREFIXES = [
    "2023-02-09T20:32:50",
    "1970-01-01T00:00:00",
    "1969-12-31T23:59:59",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59",
    "2024-02-29T12:00:00",  # a leap day
    "2023-02-29T12:00:00",  # not one
    "2023-13-01T00:00:00",
    "2023-02-09T24:00:00",
    "2023-02-09T20:60:00",
    "2023-02-09 20:32:50",  # a space: fromisoformat takes it
    "2023-02-09t20:32:50",
    "20230209T203250+0000",
    "2023-02-09T20:32:5Z",
    "2023-02-09T20:32:5.",
    "\uff12\uff10\uff12\uff13-02-09T20:32:50",  # fullwidth digits
    "2023-02-09T20:32",
    "2023-02-09",
    "",
]
TAILS = [
    "",
    "Z",
    "ZZ",
    ".",
    ".Z",
    ".5",
    ".5Z",
    ".5ZZ",
    ".123Z",
    ".123456Z",
    ".123456789Z",
    ".1234567891Z",
    ".000000000000000001Z",
    ".123+01:00",
    "+01:00",
    "-05:00",
    ".5Z0",
    ".5 ",
    " .5",
    ".5.5Z",
    ".-5Z",
    ".+5Z",
    ".1_0Z",
    ". 5Z",
    ".\u0663Z",  # an Arabic-Indic digit: int() reads it
    ".²Z",  # a superscript: isdigit() but not int() (the reference raises)
    ".\uff15Z",  # a fullwidth digit
    "Z.5",
    "z",
    "\x00",
]


def _shapes() -> list[str]:
    out = [p + t for p, t in itertools.product(PREFIXES, TAILS)]
    rng = random.Random("iso-to-ns")
    base = "2023-02-09T20:32:50.714964855Z"
    alphabet = "0123456789-:.TZ +٣²"
    for _ in range(3_000):
        chars = list(base)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(chars))
            choice = rng.random()
            if choice < 0.6:
                chars[i] = rng.choice(alphabet)
            elif choice < 0.8:
                del chars[i]
            else:
                chars.insert(i, rng.choice(alphabet))
        out.append("".join(chars)[: rng.randint(15, 40)])
    return out


SHAPES = _shapes()


@pytest.mark.parametrize("order", ["as listed", "reversed", "shuffled"])
def test_iso_to_ns_equals_the_full_parse_cold_and_warm(order: str) -> None:
    shapes = list(SHAPES)
    if order == "reversed":
        shapes.reverse()
    elif order == "shuffled":
        random.Random("iso-order").shuffle(shapes)
    common._ISO_SECONDS.clear()
    for _ in range(2):  # the cache cold (filled on the way), then warm
        for text in shapes:
            new = _outcome(partial(iso_to_ns, text))
            assert new == _outcome(partial(reference_iso_to_ns, text)), text
    assert common._ISO_SECONDS  # the common shapes' prefixes were cached


def test_iso_to_ns_cache_is_bounded_and_stays_exact() -> None:
    common._ISO_SECONDS.clear()
    start = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
    texts = [
        datetime.fromtimestamp(start + 7 * i, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{i}Z"
        for i in range(3 * common._ISO_SECONDS_CAP)
    ]
    for text in texts + texts[::-1]:
        assert iso_to_ns(text) == reference_iso_to_ns(text), text
        assert len(common._ISO_SECONDS) <= common._ISO_SECONDS_CAP


def test_iso_to_ns_keeps_every_fraction_digit() -> None:
    assert iso_to_ns("2023-02-09T20:32:50.714964855Z") == 1_675_974_770_714_964_855
    assert iso_to_ns("2023-02-09T20:32:50.714964855Z") == 1_675_974_770_714_964_855
    assert iso_to_ns("2023-02-09T20:32:50Z") == 1_675_974_770_000_000_000
    assert iso_to_ns("2023-02-09T20:32:50.7Z") == 1_675_974_770_700_000_000
    assert iso_to_ns("2023-02-09T20:32:50.x") is None


MS_VALUES: list[Any] = [
    "1606292218213.4578",
    "1606292218213",
    "1606292218213.",
    "1606292218213.4",
    "1606292218213.123456",
    "1606292218213.1234567",
    "1606292218213.000000001",
    "0",
    "0.0",
    ".5",
    "",
    ".",
    "1..2",
    "1.2.3",
    "-1606292218213.5",
    "+1606292218213.5",
    " 1606292218213.5",
    "1606292218213.5 ",
    "1_606.5",
    "1606292218213.4_5",
    "1606292218213e3",
    "\u0661\u0666\u0660\u0666.\u0665",  # Arabic-Indic digits: isdigit() and int() take them
    "\u0661\u0666\u0660\u0666.5",
    "²",  # isdigit() but not int(): the reference raises ValueError
    "1.²",
    "1" * 5000,  # beyond int()'s digit limit
    "1." + "1" * 5000,
    "9" * 30 + ".9",
    None,
    1606292218213,
    1606292218213.5,
    True,
    ["1"],
]


def test_ms_fraction_to_ns_equals_the_reference() -> None:
    for value in MS_VALUES:
        new = _outcome(partial(ms_fraction_to_ns, value, "create_time_ms"))
        assert new == _outcome(partial(reference_ms_fraction_to_ns, value, "create_time_ms"))
    assert ms_fraction_to_ns("1606292218213.4578", "k") == 1_606_292_218_213_457_800
