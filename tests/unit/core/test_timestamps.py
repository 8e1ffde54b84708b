"""ISO-8601 / integer ns <-> UTC ns, exact to the nanosecond."""

from __future__ import annotations

import pytest

from tapewire.core.errors import ConfigError
from tapewire.core.timestamps import format_ns, parse_timestamp_ns


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("1633998520000000000", 1_633_998_520_000_000_000),
        ("2021-10-12T00:28:40Z", 1_633_998_520_000_000_000),
        ("2021-10-12T00:28:40", 1_633_998_520_000_000_000),
        ("2021-10-12 00:28:40.000000001Z", 1_633_998_520_000_000_001),
        ("2021-10-12T00:28:40.123456789+00:00", 1_633_998_520_123_456_789),
        ("2021-10-12T02:28:40.5+02:00", 1_633_998_520_500_000_000),
        ("2021-10-12T00:28:40.5-0100", 1_634_002_120_500_000_000),
        ("2021-10-12", 1_633_996_800_000_000_000),
        ("2021-10-12T00:28", 1_633_998_480_000_000_000),
    ],
)
def test_parse(text: str, ns: int) -> None:
    assert parse_timestamp_ns(text) == ns


@pytest.mark.parametrize("text", ["yesterday", "2021-13-01", "2021-10-12T00:28:40.1234567891Z", ""])
def test_parse_rejects_with_the_field_name(text: str) -> None:
    with pytest.raises(ConfigError, match="--from") as err:
        parse_timestamp_ns(text, field="--from")
    assert err.value.field == "--from"


def test_format_round_trips() -> None:
    ns = 1_633_998_520_123_456_789
    assert format_ns(ns) == "2021-10-12T00:28:40.123456789Z"
    assert parse_timestamp_ns(format_ns(ns)) == ns
