"""cryptofeed's raw data collection (``FeedHandler(raw_data_collection=AsyncFileCallback(dir))``)
-> a Tapewire capture file.

File names: ``<FEED>.<part>`` (the feed's ``configuration:`` line and its synchronous REST
responses) and ``<FEED>.<ws|http>.<k>.<part>`` (connection ``<FEED>.<ws|http>.<k>``;
``part`` counts rotated files, optionally ``.gz``). Line forms (``cryptofeed/
raw_data_collection.py``, permissive-licence releases)::

    <ts>: <payload>                            websocket frame received
    <url> -> <ts>: <payload>[ header: <json>]  REST response (no status is recorded)
    <url> <- <ts>: <payload>                   sent (subscriptions), not imported
    <url> <-> <ts>                             websocket connect, not imported
    configuration: <json>                      the feed's subscription, not imported

``<ts>`` is ``time.time()`` printed as decimal seconds; it becomes UTC integer ns exactly
(never through a float). A payload printed as a Python bytes literal (``b'...'``: binary
frames) is imported as those bytes with ``binary`` set. A line matching no form continues
the previous record's payload (cryptofeed writes multi-line payloads as they are).
"""

from __future__ import annotations

import ast
import gzip
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from tapewire.connectors.capture.importers.common import (
    Frame,
    ImportFileError,
    ImportStats,
    write_capture,
)
from tapewire.connectors.live.tap import stream_hint

CRYPTOFEED_VENUES: dict[str, str] = {
    "BEQUANT": "bequant",
    "BINANCE": "binance",
    "BINANCE_DELIVERY": "binancecoinm",
    "BINANCE_FUTURES": "binanceusdm",
    "BINANCE_US": "binanceus",
    "BITFINEX": "bitfinex",
    "BITFLYER": "bitflyer",
    "BITGET": "bitget",
    "BITHUMB": "bithumb",
    "BITSTAMP": "bitstamp",
    "BLOCKCHAIN": "blockchaincom",
    "BYBIT": "bybit",
    "COINBASE": "coinbaseexchange",  # cryptofeed's COINBASE feed: Coinbase Pro / Exchange
    "CRYPTO.COM": "cryptocom",
    "DELTA": "delta",
    "DERIBIT": "deribit",
    "DYDX": "dydx",
    "FMFW": "fmfwio",
    "GATEIO": "gate",
    "GATEIO_FUTURES": "gate",
    "GEMINI": "gemini",
    "HITBTC": "hitbtc",
    "HUOBI": "htx",
    "HUOBI_DM": "htx",
    "HUOBI_SWAP": "htx",
    "INDEPENDENT_RESERVE": "independentreserve",
    "KRAKEN": "kraken",
    "KRAKEN_FUTURES": "krakenfutures",
    "KUCOIN": "kucoin",
    "OKX": "okx",
    "PHEMEX": "phemex",
    "POLONIEX": "poloniex",
    "UPBIT": "upbit",
}
"""cryptofeed exchange name -> ccxt id (only ids ccxt still has; others need ``venue=``)."""

_NAME = re.compile(r"^(?P<feed>.+?)(?:\.(?P<kind>ws|http)\.(?P<conn>\d+))?\.(?P<part>\d+)$")
_TS = r"(?P<ts>\d+(?:\.\d+)?)"
_RECV = re.compile(rf"^{_TS}: ")
_REST = re.compile(rf"^(?P<url>\S+) -> {_TS}: ")
_SEND = re.compile(rf"^(?P<url>\S+) <- {_TS}: ")
_CONNECT = re.compile(rf"^(?P<url>\S+) <-> {_TS}$")
_CONFIG = "configuration: "
_HEADER = " header: "
_HINT = "expected cryptofeed AsyncFileCallback files (BINANCE.0, BINANCE.ws.1.0, ...)"


@dataclass(frozen=True, slots=True)
class Entry:
    """One record of a cryptofeed file: ``kind`` is recv, rest, send, connect or config."""

    line: int
    kind: str
    seconds: str | None
    url: str | None
    payload: str


def seconds_to_ns(seconds: str) -> int:
    """``"1633998512.0633569"`` -> 1633998512063356900, exactly (no float)."""
    value = Decimal(seconds) * 1_000_000_000
    if value != value.to_integral_value():
        raise ValueError(f"sub-nanosecond receive time {seconds}")
    return int(value)


def _entry(number: int, line: str) -> Entry | None:
    if line.startswith(_CONFIG):
        return Entry(number, "config", None, None, line[len(_CONFIG) :])
    if match := _RECV.match(line):
        return Entry(number, "recv", match["ts"], None, line[match.end() :])
    for kind, pattern in (("rest", _REST), ("send", _SEND)):
        if match := pattern.match(line):
            return Entry(number, kind, match["ts"], match["url"], line[match.end() :])
    if match := _CONNECT.match(line):
        return Entry(number, "connect", match["ts"], match["url"], "")
    return None


def _finish(entry: Entry) -> Entry:
    """Drop the ``header: {...}`` cryptofeed appends to a REST response read with headers."""
    if entry.kind == "rest":
        body, sep, header = entry.payload.rpartition(_HEADER)
        if sep and header.startswith("{"):
            try:
                if isinstance(json.loads(header), dict):
                    return replace(entry, payload=body)
            except ValueError:
                pass
    return entry


class BadLineError(ValueError):
    """A line of no known form where no payload can continue."""

    def __init__(self, line: int) -> None:
        super().__init__(f"line {line}: not a cryptofeed raw-data record")
        self.line = line


def parse_lines(lines: Iterable[str]) -> Iterator[Entry]:
    """Records of a cryptofeed file's lines (without their newline); blank lines are
    skipped. A line of no known form continues the previous payload (else :class:`BadLineError`)."""
    pending: Entry | None = None
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        entry = _entry(number, line)
        if entry is None:
            if pending is None or pending.kind in ("connect", "config"):
                raise BadLineError(number)
            pending = replace(pending, payload=f"{pending.payload}\n{line}")
            continue
        if pending is not None:
            yield _finish(pending)
        pending = entry
    if pending is not None:
        yield _finish(pending)


def v1_records(text: str) -> Iterator[tuple[int, str, str, str | None, str]]:
    """``(line_no, kind, seconds, url, payload)`` of the received websocket frames
    (``recv``) and REST responses (``http``) of a cryptofeed file's text."""
    for entry in parse_lines(text.split("\n")):
        if entry.kind in ("recv", "rest") and entry.seconds is not None:
            kind = "http" if entry.kind == "rest" else "recv"
            yield entry.line, kind, entry.seconds, entry.url, entry.payload


def _payload(text: str) -> tuple[bytes, bool]:
    """The frame's bytes and whether it was binary (printed as a bytes literal)."""
    if text[:2] in ("b'", 'b"'):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, bytes):
            return value, True
    return text.encode("utf-8"), False


@dataclass(frozen=True)
class _Source:
    """One connection's files (rotated parts in order)."""

    feed: str
    kind: str  # "" (the feed's own file), "http" or "ws"
    number: int
    parts: tuple[tuple[int, Path], ...]

    @property
    def connection_id(self) -> str:
        if not self.kind:  # the feed's synchronous REST requests
            return f"{self.feed}.http.sync"
        return f"{self.feed}.{self.kind}.{self.number}"

    def order(self) -> tuple[str, int, int]:
        return (self.feed, ("", "http", "ws").index(self.kind), self.number)


def _sources(paths: Iterable[Path]) -> list[_Source]:
    groups: dict[tuple[str, str, int], list[tuple[int, Path]]] = {}
    for path in paths:
        if not path.is_file():
            raise ImportFileError("no such file", path=path, hint=_HINT)
        name = path.name.removesuffix(".gz")
        match = _NAME.match(name)
        if match is None:
            raise ImportFileError(
                "not a cryptofeed raw-data file name (<FEED>.<n> or <FEED>.<ws|http>.<k>.<n>)",
                path=path,
                hint=_HINT + "; keep cryptofeed's file names",
            )
        key = (match["feed"], match["kind"] or "", int(match["conn"] or 0))
        groups.setdefault(key, []).append((int(match["part"]), path))
    sources = [_Source(f, k, n, tuple(sorted(parts))) for (f, k, n), parts in groups.items()]
    return sorted(sources, key=_Source.order)


def _lines(file: Iterable[bytes], path: Path) -> Iterator[str]:
    for number, raw in enumerate(file, start=1):
        try:
            yield raw.decode("utf-8").removesuffix("\n")
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"not UTF-8 text ({exc.reason})", path=path, line=number, hint=_HINT
            ) from None


def _frames(source: _Source, venue: str, stats: ImportStats) -> Iterator[Frame]:
    """The RawFrames of one connection, in file order, ``sequence`` counted across parts."""
    sequence = itertools.count()
    conn = source.connection_id
    for _part, path in source.parts:
        stats.files += 1
        try:
            with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as file:
                for entry in parse_lines(_lines(file, path)):
                    if entry.kind not in ("recv", "rest") or entry.seconds is None:
                        stats.skipped[entry.kind] += 1
                        continue
                    try:
                        received = seconds_to_ns(entry.seconds)
                    except ValueError as exc:
                        raise ImportFileError(
                            str(exc), path=path, line=entry.line, hint=_HINT
                        ) from None
                    yield _frame(venue, conn, next(sequence), entry, received)
        except BadLineError as exc:
            raise ImportFileError(
                "not a cryptofeed raw-data record", path=path, line=exc.line, hint=_HINT
            ) from None
        except (OSError, EOFError) as exc:
            raise ImportFileError(f"cannot read: {exc}", path=path, hint=_HINT) from None


def _frame(venue: str, conn: str, sequence: int, entry: Entry, received: int) -> Frame:
    rest = entry.kind == "rest"
    payload, binary = (entry.payload.encode("utf-8"), False) if rest else _payload(entry.payload)
    return {
        "venue": venue,
        "connection_id": conn,
        "sequence": sequence,
        "transport": "REST" if rest else "WEBSOCKET",
        "origin": "REPLAY",
        "channel": "rest" if rest else (None if binary else stream_hint(payload)),
        "symbol": None,
        "payload": payload,
        "binary": binary,
        "receive_ts_ns": received,
        "request_ts_ns": None,
        "rest_url": entry.url if rest else None,
        "rest_status": None,
    }


def import_cryptofeed(paths: Iterable[Path], out: Path, *, venue: str | None = None) -> ImportStats:
    """Convert cryptofeed raw-data files into the capture file ``out``: every received
    websocket frame and REST response, merged by receive time. ``venue`` overrides the
    ccxt id taken from each file's feed name (:data:`CRYPTOFEED_VENUES`)."""
    sources = _sources(paths)
    stats = ImportStats(out=out)
    streams = []
    for source in sources:
        ccxt_id = venue or CRYPTOFEED_VENUES.get(source.feed)
        if ccxt_id is None:
            raise ImportFileError(
                f"cryptofeed feed {source.feed!r} has no known ccxt id",
                path=source.parts[0][1],
                hint="pass --venue <ccxt id>, e.g. --venue binance",
            )
        streams.append(_frames(source, ccxt_id, stats))
    names = ",".join(p.name for s in sources for _n, p in s.parts)
    return write_capture(streams, out, source=f"import:cryptofeed:{names}", stats=stats)
