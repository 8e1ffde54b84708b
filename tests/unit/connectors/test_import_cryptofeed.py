"""``tapewire import cryptofeed``: cryptofeed raw-data files -> a Tapewire capture.

The round trip runs on cryptofeed's real recorded Binance session (rebuilt byte-identical
from ``tests/data/real``, :mod:`tests.factories.cryptofeed_files`): imported, it gives the
frames of ``tests/data/real/binance/frames.jsonl``, which normalize offline to exactly the
records that fixture gives.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import ccxt
import pytest

from tapewire.connectors.capture import read_capture, read_header
from tapewire.connectors.capture.frame_lines import iter_frame_lines
from tapewire.connectors.capture.importers import (
    CRYPTOFEED_VENUES,
    ImportFileError,
    import_cryptofeed,
)
from tapewire.connectors.capture.importers.cryptofeed import Entry, parse_lines, seconds_to_ns
from tapewire.offline import normalize_files
from tapewire.streams.normalize import Normalizer
from tests.factories.cryptofeed_files import REAL, SHA256, write_binance


@pytest.fixture(scope="module")
def binance_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_binance(tmp_path_factory.mktemp("cryptofeed"))


def test_rebuilt_files_are_cryptofeeds_bytes(binance_files: list[Path]) -> None:
    for path in binance_files:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256[path.name], path.name


def test_seconds_text_to_ns_is_exact() -> None:
    assert seconds_to_ns("1633998512.0633569") == 1_633_998_512_063_356_900
    assert seconds_to_ns("1633998512.0") == 1_633_998_512_000_000_000
    assert seconds_to_ns("1652459236.3416445") == 1_652_459_236_341_644_500  # float: ...4499
    with pytest.raises(ValueError, match="sub-nanosecond"):
        seconds_to_ns("1.0000000001")


def test_line_forms() -> None:
    lines = [
        'configuration: {"trades":["BTC-USDT"]}',
        "wss://ws.okx.com:8443/ws/v5/public <-> 1652459224.5300605",
        'wss://ws.okx.com:8443/ws/v5/public <- 1652459225.2987883: {"op":"subscribe"}',
        '1652459225.5037491: {"event":"subscribe"}',
        "",
        'https://x.test/a?b=1 -> 1.5: {"a": 1} header: {"Content-Type": "json"}',
        "1.6: {",
        '  "multi": "line"',
        "}",
        "1.7: b'\\x00\\xffz'",
    ]
    entries = list(parse_lines(lines))
    assert [(e.line, e.kind, e.seconds, e.url) for e in entries] == [
        (1, "config", None, None),
        (2, "connect", "1652459224.5300605", "wss://ws.okx.com:8443/ws/v5/public"),
        (3, "send", "1652459225.2987883", "wss://ws.okx.com:8443/ws/v5/public"),
        (4, "recv", "1652459225.5037491", None),
        (6, "rest", "1.5", "https://x.test/a?b=1"),
        (7, "recv", "1.6", None),
        (10, "recv", "1.7", None),
    ]
    assert entries[4].payload == '{"a": 1}'  # the response headers are not the body
    assert entries[5] == Entry(7, "recv", "1.6", None, '{\n  "multi": "line"\n}')


def test_binance_round_trip_gives_the_real_fixture(
    binance_files: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "binance.jsonl.gz"
    stats = import_cryptofeed(reversed(binance_files), out)  # any order: sorted by name
    assert (stats.files, stats.frames) == (3, 270)
    assert dict(stats.transports) == {"REST": 5, "WEBSOCKET": 265}
    assert dict(stats.skipped) == {"config": 1, "connect": 1}
    assert (stats.first_ns, stats.last_ns) == (1_633_998_511_132_921_000, 1_633_998_542_077_861_800)
    assert read_header(out).source.startswith("import:cryptofeed:BINANCE.0,")
    fixture = REAL / "binance" / "frames.jsonl"
    with fixture.open("rb") as file:
        expected = list(iter_frame_lines(file, "binance"))
    got = list(read_capture(out))
    same: tuple[str, ...] = ("venue", "connection_id", "sequence", "transport", "channel")
    same += ("payload", "binary", "receive_ts_ns", "rest_url")
    assert [{k: f[k] for k in same} for f in got] == [{k: f[k] for k in same} for f in expected]
    assert {f["rest_status"] for f in got} == {None}  # cryptofeed records no status
    # normalized offline, the import and the fixture give the same records, byte for byte
    for name, source in (("import", out), ("fixture", fixture)):
        normalize_files([source], tmp_path / name, normalizer=Normalizer(clock=lambda: 42))
    for topic in ("md.trades", "md.book", "md.quotes", "md.coverage", "dlq.normalize"):
        imported = (tmp_path / "import" / f"{topic}.jsonl").read_bytes()
        assert imported == (tmp_path / "fixture" / f"{topic}.jsonl").read_bytes(), topic
    assert len((tmp_path / "import" / "md.book.jsonl").read_bytes().splitlines()) == 176


def test_rotated_and_gzipped_parts_continue_one_connection(tmp_path: Path) -> None:
    (tmp_path / "OKX.ws.3.0").write_text('1.1: {"a":1}\n1.2: {"a":2}\n')
    with gzip.open(tmp_path / "OKX.ws.3.1.gz", "wt") as file:
        file.write("1.3: b'\\x01'\n")
    (tmp_path / "OKX.ws.4.0").write_text('1.15: {"b":1}\n')
    out = tmp_path / "okx.jsonl.gz"
    import_cryptofeed(sorted(tmp_path.glob("OKX.*")), out)
    frames = [
        (f["connection_id"], f["sequence"], f["receive_ts_ns"], f["payload"], f["binary"])
        for f in read_capture(out)
    ]
    assert frames == [
        ("OKX.ws.3", 0, 1_100_000_000, b'{"a":1}', False),
        ("OKX.ws.4", 0, 1_150_000_000, b'{"b":1}', False),
        ("OKX.ws.3", 1, 1_200_000_000, b'{"a":2}', False),
        ("OKX.ws.3", 2, 1_300_000_000, b"\x01", True),
    ]
    assert {f["venue"] for f in read_capture(out)} == {"okx"}


def test_bad_input_names_the_file_and_line_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl.gz"
    with pytest.raises(ImportFileError, match="no such file"):
        import_cryptofeed([tmp_path / "BINANCE.0"], out)
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(ImportFileError, match="not a cryptofeed raw-data file name"):
        import_cryptofeed([tmp_path / "notes.txt"], out)
    (tmp_path / "FOO.ws.1.0").write_text("1.0: {}\n")
    with pytest.raises(ImportFileError, match=r"'FOO' has no known ccxt id.*--venue"):
        import_cryptofeed([tmp_path / "FOO.ws.1.0"], out)
    (tmp_path / "BINANCE.ws.1.0").write_text('1.0: {}\ngarbage\n2.0: {"x"}\n')
    (tmp_path / "BINANCE.ws.2.0").write_text("hello\n")
    with pytest.raises(ImportFileError, match=r"BINANCE\.ws\.2\.0:1: not a cryptofeed"):
        import_cryptofeed([tmp_path / "BINANCE.ws.2.0"], out)
    (tmp_path / "BINANCE.ws.2.0").write_bytes(b"1.0: \xff\n")
    with pytest.raises(ImportFileError, match=r"BINANCE\.ws\.2\.0:1: not UTF-8"):
        import_cryptofeed([tmp_path / "BINANCE.ws.2.0"], out)
    assert not out.exists()
    assert not list(tmp_path.glob("*.partial"))


def test_venue_map_names_ccxt_ids() -> None:
    assert set(CRYPTOFEED_VENUES.values()) <= set(ccxt.exchanges)
    assert CRYPTOFEED_VENUES["BINANCE_FUTURES"] == "binanceusdm"
