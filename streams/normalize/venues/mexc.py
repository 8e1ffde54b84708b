"""MEXC spot: ccxt.pro decodes the protobuf pushes itself (``decode_proto_msg``: the
``protobuf`` package and ccxt's bundled ``ccxt/protobuf/mexc`` definitions; without the
package every push is a ``DecodeError`` dead letter) and parses aggregated deals, depth
deltas and book tickers; this adds:

* the frame decoder: JSON text (acks, ``PONG``) as JSON, protobuf through ccxt's own
  ``decode_proto_msg`` (once, so the book checks below read the same message ccxt parses);
* book priming and the REST-snapshot sync (the connector captures ``GET /api/v3/depth``),
  done as MEXC's documentation says, not by ccxt's ``get_cache_index``, which skips a
  buffered delta whose ``fromVersion`` is below ``lastUpdateId`` even when it bridges it;
* the gap check ccxt lacks (``fromVersion`` must be the book's ``toVersion + 1``: otherwise
  the book resyncs on the next snapshot), stale deltas dropped, and the book's nonce set to
  ``toVersion`` (ccxt keeps ``fromVersion``);
* exact levels: ccxt reads depth levels with ``safe_float_2`` (floats), which the
  offline core does not replace: the instance gets an exact one;
* trade ids: MEXC's deals have none and ccxt leaves ``id`` empty; they get the native
  mapper's ``<time>-<n>`` (the deal's ms time, its index in the frame).
"""

from __future__ import annotations

import functools
import json
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import ccxt.pro as ccxtpro
import orjson
from ccxt.base.errors import InvalidNonce

from tapewire.streams.normalize.ccxt_offline import (
    Decoder,
    FrameResult,
    OfflineVenue,
    RecordingOrderBook,
    exact_safe_float,
)
from tapewire.streams.normalize.mappers.mexc import DEFAULT_LIMIT, DEPTH_PATH
from tapewire.streams.normalize.venues.base import MS, BookMeta, VenueAdapter, int_or_none


class ProtoPush(dict[str, Any]):
    """A protobuf push as ccxt decodes it (``MessageToDict`` of ``PushDataV3ApiWrapper``)."""


@functools.cache
def _ccxt_decoder() -> Any:
    return ccxtpro.mexc({"enableRateLimit": False})


def decode_frame(raw: bytes) -> Any:
    """JSON text -> dict; protobuf -> :class:`ProtoPush` by ccxt's ``decode_proto_msg``."""
    if raw[:1] == b"{":
        return orjson.loads(raw)
    return ProtoPush(_ccxt_decoder().decode_proto_msg(raw))


def _depth(message: Any) -> tuple[str, dict[str, Any]] | None:
    """``(native symbol, publicAggreDepths)`` of a depth push."""
    if isinstance(message, ProtoPush):
        data = message.get("publicAggreDepths")
        if isinstance(data, dict):
            return str(message.get("symbol")), data
    return None


def exact_safe_float_2(dictionary: Any, key1: Any, key2: Any, default_value: Any = None) -> Any:
    """ccxt's ``safe_float_2`` (which MEXC's book handler calls) returning exact decimals."""
    value = exact_safe_float(dictionary, key1)
    return value if value is not None else exact_safe_float(dictionary, key2, default_value)


class MexcVenue(OfflineVenue):
    """ccxt's MEXC object fed with decoded pushes, with the book checks ccxt lacks."""

    def __init__(self, exchange: Any, *args: Any) -> None:
        super().__init__(exchange, *args)
        exchange.safe_float_2 = exact_safe_float_2  # levels are read with safe_float_2

    def handle(self, message: Any) -> FrameResult:
        """Pushes to ccxt's ``handle_protobuf_message`` (after the book checks); JSON to
        ccxt's ``handle_message``; trade ids added."""
        if not isinstance(message, ProtoPush):
            return super().handle(message)
        depth = _depth(message)
        if depth is not None:
            early = self._check_delta(depth[0], depth[1], message)
            if early is not None:
                return early
        try:
            self.ex.handle_protobuf_message(self.client, message)
        except Exception as exc:
            res = self.collect()
            res.error = exc
            return res
        res = self.collect()
        if depth is not None:
            self._after_delta(depth[0], depth[1], message)
        for n, trade in enumerate(res.trades):
            if trade.get("id") is None and isinstance(trade.get("timestamp"), int):
                trade["id"] = f"{trade['timestamp']}-{n}"
        return res

    def _check_delta(self, native: str, data: dict[str, Any], push: Any) -> FrameResult | None:
        symbol = self.ex.safe_symbol(native, None, None, "spot")
        book = self.ex.orderbooks.get(symbol)
        nonce = book.get("nonce") if book is not None else None
        first, last = int_or_none(data.get("fromVersion")), int_or_none(data.get("toVersion"))
        if book is None or first is None or last is None:
            return None
        if nonce is None:  # ccxt buffers it in ``book.cache``; keep its push time
            times = getattr(book, "cache_times", None)
            if times is None:
                times = book.cache_times = {}
            times[last] = int_or_none(push.get("sendTime"))
            return None
        if last <= nonce:
            return self.collect()  # already in the book
        if first != nonce + 1:
            self.client.reject(InvalidNonce(f"mexc gap {nonce} -> {first}"), symbol)
            return self.collect()
        return None

    def _after_delta(self, native: str, data: dict[str, Any], push: Any) -> None:
        book = self.ex.orderbooks.get(self.ex.safe_symbol(native, None, None, "spot"))
        last = int_or_none(data.get("toVersion"))
        if book is not None and book.get("nonce") is not None and last is not None:
            book["nonce"] = last  # ccxt's handle_book_delta keeps fromVersion


class MexcAdapter(VenueAdapter):
    """MEXC spot adapter."""

    venue: ClassVar[str] = "mexc"
    ws_url: ClassVar[str] = "wss://wbs-api.mexc.com/ws"
    options: ClassVar[dict[str, Any]] = {"watchOrderBook": {"snapshotDelay": 1 << 62}}
    decoder: ClassVar[Decoder] = staticmethod(decode_frame)
    binary_frames: ClassVar[bool] = True
    snapshot_path: ClassVar[str | None] = DEPTH_PATH
    venue_class: ClassVar[type[OfflineVenue]] = MexcVenue

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """Depth pushes."""
        depth = _depth(message)
        if depth is None:
            return []
        ms = int_or_none(message.get("sendTime"))
        return [
            BookMeta(
                symbol=self.symbol(venue, depth[0], "spot"),
                snapshot=False,
                first_sequence=int_or_none(depth[1].get("fromVersion")),
                last_sequence=int_or_none(depth[1].get("toVersion")),
                exchange_ts_ns=ms * MS if ms is not None else None,
            )
        ]

    def prime(self, venue: OfflineVenue, symbol: str) -> None:
        """Empty book with ``nonce=None``: ccxt buffers deltas in ``orderbook.cache``."""
        if symbol in venue.ex.orderbooks:
            return
        book = venue.ex.order_book({})
        book["nonce"] = None
        book["symbol"] = symbol
        book.cache = []
        book.cache_times = {}
        venue.ex.orderbooks[symbol] = book

    def rest_snapshot_symbol(self, venue: OfflineVenue, url: str) -> str | None:
        """Symbol from the ``symbol=`` query parameter."""
        native = (parse_qs(urlparse(url).query).get("symbol") or [""])[0]
        symbol = self.symbol(venue, native, "spot")
        return symbol if symbol in venue.ex.markets else None

    def rest_snapshot(
        self, venue: OfflineVenue, url: str, body: bytes
    ) -> tuple[str, FrameResult] | None:
        """MEXC's documented sync on the captured body: drop buffered deltas with
        ``toVersion <= lastUpdateId``; the first left must have ``fromVersion <=
        lastUpdateId + 1`` (else the snapshot is too old: refused, the book keeps
        waiting), each next one ``fromVersion == previous toVersion + 1``."""
        symbol = self.rest_snapshot_symbol(venue, url)
        if symbol is None:
            raise ValueError(f"REST depth snapshot for an unknown symbol: {url}")
        ex = venue.ex
        self.prime(venue, symbol)
        book = ex.orderbooks[symbol]
        data = json.loads(body)
        nonce = int_or_none(data.get("lastUpdateId"))
        if nonce is None:
            raise ValueError("REST depth snapshot has no integer lastUpdateId")
        snapshot = ex.parse_order_book(data, symbol, int_or_none(data.get("timestamp")))
        cache = [
            d for d in getattr(book, "cache", []) if (int_or_none(d.get("toVersion")) or 0) > nonce
        ]
        version = nonce
        for delta in cache:
            first = int_or_none(delta.get("fromVersion"))
            if first is None or first > version + 1 or (version != nonce and first != version + 1):
                return symbol, FrameResult()  # cannot be bridged: keep waiting
            version = int_or_none(delta.get("toVersion")) or version
        times = getattr(book, "cache_times", {})
        book.reset(snapshot)
        book["nonce"] = nonce
        for delta in cache:
            book["nonce"] = None  # ccxt skips a delta whose fromVersion is below the nonce
            ex.handle_book_delta(book, delta)
            last = int_or_none(delta.get("toVersion"))
            book["nonce"] = last
            sent = times.get(last)
            if isinstance(sent, int):
                book["timestamp"] = sent
        book.cache = []
        book.cache_times = {}
        query = parse_qs(urlparse(url).query)
        limit = (query.get("limit") or [str(DEFAULT_LIMIT)])[0]
        book.snapshot_limit = int(limit) if limit.isdigit() else None
        venue.client.resolve(book, "orderbook:" + symbol)
        return symbol, venue.collect()

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """The ``limit`` of the REST snapshot the book was last synced from."""
        limit = getattr(book, "snapshot_limit", None)
        return limit if isinstance(limit, int) else None
