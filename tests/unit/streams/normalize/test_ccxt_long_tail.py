"""Every ccxt.pro exchange id has a mapper: one documented trade frame per exchange.

Issue 9, acceptance item 2. For each of ccxt.pro's exchange ids, ``tests/data/ccxt_long_tail/
<id>.json`` holds 1-3 unified markets from ccxt's own static test data and the documented
websocket frame(s) of one trade (ccxt.pro's handler comments, or the venue's documentation;
provenance in that folder's ``README.md``). The frames go through the Normalizer with the
ccxt mapper (``native=False``: the generic ccxt adapter, or the venue's adapter where it has
one) and, for venues with a native mapper, with it too; each must give exactly the expected
trades, prices and sizes as the frame's own text. Exchanges this cannot be shown for are in
:data:`UNSHOWN` with the reason, and :func:`test_unshown_fail_as_stated` pins that reason.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import ccxt.pro as ccxtpro
import pytest

from tapewire.records.dead_letters import DeadLetter
from tapewire.records.market import BookUpdate, CoverageEvent, Trade
from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers import NATIVE_MAPPERS
from tapewire.streams.normalize.normalizer import NormalizeResult
from tapewire.streams.normalize.venues import ADAPTERS
from tapewire.testing.frames import raw_frame

DATA = Path(__file__).resolve().parents[4] / "tests" / "data" / "ccxt_long_tail"

_NO_CCXT_TRADES = (
    "ccxt.pro has no public trade stream for this exchange (has['watchTrades'] not true, no "
    "handle_trade* handler, handle_message routes no trade message): the ccxt mapper, which runs "
    "ccxt.pro's handlers, cannot produce a trade from any frame of it; tickers and books are what "
    "ccxt parses"
)
UNSHOWN: dict[str, str] = {
    "bitopro": "the venue's trade message carries no trade id; a Trade needs one "
    "(dead letter ParseError 'trade without id')",
    "bitrue": "ccxt's handler converts contract quantities with float arithmetic "
    "(convert_from_raw_quantity: rawQuantity * contractSize), which exact mode refuses "
    "(dead letter HandlerError TypeError)",
    "hollaex": "the venue's trade message carries no trade id; a Trade needs one "
    "(dead letter ParseError 'trade without id')",
    "independentreserve": "ccxt's handler parses the trade without its market "
    "(parse_ws_trade(data) reads the pair from the market argument, None): every trade has "
    "symbol None (dead letter UnknownInstrument)",
    "hashkey": "taker side unverified: ccxt reads the public trade's m as buyer-is-maker (sell) "
    "here and as buyer-is-taker (buy) on toobit, for the same BHEX-format message (Bybit's v3 spot "
    "docs, same format, say m=true is a taker buy); the venue's own docs were not checked",
    "toobit": "taker side unverified: ccxt reads the public trade's m as buyer-is-taker (buy) here "
    "and as buyer-is-maker (sell) on hashkey, for the same BHEX-format message; the venue's own "
    "docs were not checked",
    "luno": "the feed carries no market id: ccxt takes the symbol from the connection's one "
    "subscription (a socket per market), live state the offline mapper does not have; the "
    "documented sample has an empty trade_updates list",
    "woo": "the venue's public trade message (SPOT_..@trade: symbol, price, size, side, source) "
    "carries no trade id; a Trade needs one (dead letter ParseError 'trade without id')",
    "woofipro": "the venue's public trade message (PERP_..@trade: symbol, price, size, side; "
    "Orderly format) carries no trade id (dead letter ParseError 'trade without id')",
    "modetrade": "the venue's public trade message (PERP_..@trade: symbol, price, size, side; "
    "Orderly format) carries no trade id (dead letter ParseError 'trade without id')",
    "lbank": "the venue's trade message (volume, amount, price, direction, TS) carries no trade "
    "id; ccxt sets id None (dead letter ParseError 'trade without id')",
    "phemex": "the venue's trade rows are [timestamp, side, priceEp, qty] (four fields: ccxt "
    "reads an id only from rows of more than four) and carry no trade id (dead letter ParseError "
    "'trade without id')",
    "cex": "the history-update trade message carries no market id: ccxt takes the symbol from "
    "options['watchTrades'], set by the live watch_trades call; offline, handle_trades_inner "
    "returns before parsing, and the frame gives no trade and no dead letter (pinned)",
    "nado": "the venue's trade message (product_id, x18 price, taker_qty, maker_qty, "
    "is_taker_buyer) carries no trade id; ccxt sets id None (dead letter ParseError "
    "'trade without id')",
    "pacifica": "taker side unverified: ccxt maps the public trade's d (open_long, "
    "close_short, ...) to buy/sell, but Pacifica's docs do not say whose order d describes "
    "(taker or maker); instrument, id (h), price and size checked, the side pinned as ccxt "
    "gives it",
    "blofin": "taker side unverified: ccxt passes the public trade's side through (parse_trade), "
    "but BloFin's trades-channel docs (docs.blofin.com#ws-trades-channel, ccxt's @see) were not "
    "found in the searched corpora to say whose side it is (searched: docs and pages for BloFin "
    "trades channel, trades push, market/trades side); instrument, id, price and size checked, "
    "the side pinned as ccxt gives it",
    "bydfi": _NO_CCXT_TRADES,
    "derive": "ccxt's handler reads the notification's data as an object (safe_dict(params, "
    "'data')), but Derive documents it as an array of trades (docs.derive.xyz, channel "
    "trades.{instrument_name}): safe_dict gives {} and the frame gives no trade and no dead letter "
    "(pinned); the docs give the schema without example values, so the fixture's values are "
    "illustrative",
    "mudrex": _NO_CCXT_TRADES,
    "onetrading": _NO_CCXT_TRADES,
    "polymarket": "taker side unverified: ccxt maps the public trade's side long/short to "
    "buy/sell, but Polymarket Perps' trades docs (docs.polymarket.com/api-reference/wss/"
    "perps-trades) give the field with no word on whose side it is (taker or maker); instrument "
    "(iid 1, SP500-USD from the documented instruments response), id (tid), price and size "
    "checked, the side pinned as ccxt gives it",
}
"""ccxt.pro exchange ids whose documented trade frame does not map, and why."""

UNSHOWN_DEAD_LETTERS: dict[str, tuple[str, str]] = {
    "bitopro": ("ParseError", "trade without id"),
    "hollaex": ("ParseError", "trade without id"),
    "bitrue": ("HandlerError", "TypeError: can't multiply sequence"),
    "independentreserve": ("UnknownInstrument", "unknown instrument None"),
    "woo": ("ParseError", "trade without id"),
    "woofipro": ("ParseError", "trade without id"),
    "modetrade": ("ParseError", "trade without id"),
    "lbank": ("ParseError", "trade without id"),
    "phemex": ("ParseError", "trade without id"),
    "nado": ("ParseError", "trade without id"),
}
"""For UNSHOWN ids with a fixture: the dead letter (error type, reason prefix) it gives."""


UNSHOWN_NO_OUTPUT = ("cex", "derive")
"""UNSHOWN ids with a fixture that ccxt's handler drops without output (no trade, no dead letter):
the handler needs live subscription state the offline mapper does not have (cex), or misreads the
documented message's shape (derive)."""


UNSHOWN_SIDE_UNVERIFIED = ("hashkey", "toobit", "pacifica", "blofin", "polymarket")
"""UNSHOWN ids whose fixture maps (instrument, id, price, size checked) but whose taker side is not
verified: their expected_trades pin the side ccxt gives today."""


UNSHOWN_NO_CCXT_TRADES = ("bydfi", "mudrex", "onetrading")
"""UNSHOWN ids for which ccxt.pro parses no public trade (onetrading's PRICE_TICK goes to ccxt's
ticker handler): no fixture; :func:`test_unshown_without_ccxt_trade_stream` pins it."""


@cache
def fixture(exchange_id: str) -> dict[str, Any] | None:
    path = DATA / f"{exchange_id}.json"
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


SHOWN = sorted(e for e in ccxtpro.exchanges if e not in UNSHOWN)


def run(exchange_id: str, *, native: bool) -> NormalizeResult:
    fx = fixture(exchange_id)
    assert fx is not None, f"no fixture for {exchange_id}"
    norm = Normalizer(markets={exchange_id: fx["markets"]}, native=native, clock=lambda: 7)
    out = NormalizeResult()
    for sequence, item in enumerate(fx["frames"]):
        frame = raw_frame(
            exchange_id,
            payload(item),
            received_ns=1_000_000_000 + sequence,
            sequence=sequence,
            binary=isinstance(item, dict),
        )
        out.extend(norm.process(frame))
    return out


def payload(item: str | dict[str, str]) -> bytes:
    """A fixture frame's bytes: a text frame, or ``{"payload_b64": ...}`` for a binary one
    (MEXC's protobuf pushes, as in ``tests/data/frames/*/frames.jsonl``)."""
    if isinstance(item, dict):
        return base64.b64decode(item["payload_b64"])
    return item.encode()


def test_every_ccxt_pro_id_is_shown_or_unshown() -> None:
    assert len(ccxtpro.exchanges) == 76  # ccxt 4.5.90; a new ccxt adds ids here
    assert set(UNSHOWN) <= set(ccxtpro.exchanges)
    assert set(SHOWN) | set(UNSHOWN) == set(ccxtpro.exchanges)
    for exchange_id in SHOWN:
        fx = fixture(exchange_id)
        assert fx is not None, exchange_id
        assert fx["expected_trades"], exchange_id


def test_every_ccxt_pro_id_has_a_mapper() -> None:
    norm = Normalizer()
    for exchange_id in ccxtpro.exchanges:
        assert norm.knows_venue(exchange_id), exchange_id


def _cases() -> list[Any]:
    cases = [pytest.param(e, False, id=f"{e}-ccxt") for e in SHOWN]
    cases += [pytest.param(e, True, id=f"{e}-native") for e in SHOWN if e in NATIVE_MAPPERS]
    return cases


@pytest.mark.parametrize(("exchange_id", "native"), _cases())
def test_documented_trade_frame_maps(exchange_id: str, native: bool) -> None:
    fx = fixture(exchange_id)
    assert fx is not None
    res = run(exchange_id, native=native)
    assert res["dlq.normalize"] == []
    trades = res["md.trades"]
    assert all(isinstance(t, Trade) for t in trades)
    got = [
        {
            "instrument": t.instrument,
            "trade_id": t.trade_id,
            "price": str(t.price),
            "size": str(t.size),
            "side": t.side,
        }
        for t in trades
        if isinstance(t, Trade)
    ]
    expected = fx["expected_trades"]
    if native and "expected_trades_native" in fx:  # a disagreement the fixture explains
        assert fx["native_differs"], exchange_id
        expected = fx["expected_trades_native"]
    assert got == expected
    wire = "".join(payload(item).decode("latin-1") for item in fx["frames"])
    for trade in trades:
        assert isinstance(trade, Trade)
        assert trade.venue == exchange_id
        assert isinstance(trade.price, Decimal)
        assert isinstance(trade.size, Decimal)
        assert str(trade.price) in wire
        assert str(trade.size) in wire
        assert trade.side in ("BUY", "SELL", "UNKNOWN")


@pytest.mark.parametrize("exchange_id", UNSHOWN_SIDE_UNVERIFIED)
def test_unshown_side_unverified_map_as_ccxt_reads_them(exchange_id: str) -> None:
    test_documented_trade_frame_maps(exchange_id, native=False)


@pytest.mark.parametrize("exchange_id", sorted(UNSHOWN_DEAD_LETTERS))
def test_unshown_fail_as_stated(exchange_id: str) -> None:
    error_type, reason = UNSHOWN_DEAD_LETTERS[exchange_id]
    res = run(exchange_id, native=False)
    assert res["md.trades"] == []
    dead = [d for d in res["dlq.normalize"] if isinstance(d, DeadLetter)]
    assert len(dead) == len(res["dlq.normalize"])
    assert [(d.error_type, d.reason[: len(reason)]) for d in dead] == [(error_type, reason)]


@pytest.mark.parametrize("exchange_id", UNSHOWN_NO_OUTPUT)
def test_unshown_dropped_without_output(exchange_id: str) -> None:
    res = run(exchange_id, native=False)
    assert {topic: recs for topic, recs in res.records.items() if recs} == {}


@pytest.mark.parametrize("exchange_id", UNSHOWN_NO_CCXT_TRADES)
def test_unshown_without_ccxt_trade_stream(exchange_id: str) -> None:
    assert UNSHOWN[exchange_id] == _NO_CCXT_TRADES
    exchange = getattr(ccxtpro, exchange_id)()
    assert not exchange.has.get("watchTrades")
    assert not [name for name in dir(exchange) if name.startswith("handle_trade")]
    assert Normalizer().knows_venue(exchange_id)  # its tickers and books still map


def test_unshown_without_fixture_have_none() -> None:
    pinned = (*UNSHOWN_DEAD_LETTERS, *UNSHOWN_SIDE_UNVERIFIED, *UNSHOWN_NO_OUTPUT)
    for exchange_id in UNSHOWN:
        if exchange_id not in pinned:
            assert fixture(exchange_id) is None, exchange_id


def test_fixtures_carry_provenance() -> None:
    readme = (DATA / "README.md").read_text()
    for path in sorted(DATA.glob("*.json")):
        fx = json.loads(path.read_text())
        assert fx["exchange"] == path.stem
        assert fx["markets_source"]["repository"] == "ccxt/ccxt"
        source = fx["markets_source"]
        if "built_by" in source:  # no static markets: ccxt's own market parser over a documented
            assert source["ccxt"] == ccxtpro.__version__  # response, run by hand (README.md)
        else:
            assert source["path"].startswith("ts/src/test/static/markets/")
        assert 1 <= len(fx["markets"]) <= 3
        assert fx["frames_source"]["file"] or fx["frames_source"]["url"]
        assert f"| {path.stem} |" in readme, path.stem


def test_adapted_venues_use_their_adapter() -> None:
    """Venues with an adapter of their own are not the generic one (native=False path)."""
    for exchange_id in ADAPTERS:
        norm = Normalizer()
        assert not getattr(norm._adapter(exchange_id), "generic", False)


def _coverage(res: NormalizeResult) -> list[CoverageEvent]:
    return [c for c in res["md.coverage"] if isinstance(c, CoverageEvent)]


# ccxt.pro bitget.py, handle_order_book comment: a documented books5 snapshot (levels trimmed)
BITGET_BOOKS5 = (
    '{"action":"snapshot","arg":{"instType":"SPOT","channel":"books5","instId":"BTCUSDT"},'
    '"data":[{"asks":[["21041.11","0.0445"],["21041.16","0.0411"]],'
    '"bids":[["21040.76","0.0417"],["21040.71","0.0434"]],"ts":"1656413855484"}]}'
)


def test_generic_book_goes_live_with_integrity_unverified() -> None:
    """A long-tail book is published as ccxt keeps it, and its first snapshot says once, in
    md.coverage, that Tapewire verifies no sequence or checksum of it."""
    fx = fixture("bitget")
    assert fx is not None
    generic = {venue: cls for venue, cls in ADAPTERS.items() if venue != "bitget"}
    norm = Normalizer(  # bitget's ccxt mapper without its own adapter: the generic one
        markets={"bitget": fx["markets"]}, adapters=generic, native=False, clock=lambda: 7
    )
    first = norm.process(raw_frame("bitget", BITGET_BOOKS5.encode(), received_ns=100))
    books = [b for b in first["md.book"] if isinstance(b, BookUpdate)]
    assert len(books) == 1
    assert books[0].kind == "SNAPSHOT"
    assert [(level.price, level.size) for level in books[0].bids] == [
        (Decimal("21040.76"), Decimal("0.0417")),
        (Decimal("21040.71"), Decimal("0.0434")),
    ]
    assert [(c.event, c.from_ns, c.to_ns, c.reason, c.channel) for c in _coverage(first)] == [
        ("RESYNC", 100, 100, "integrity_unverified", "book")
    ]
    assert _coverage(first)[0].instrument == "BTC-USDT-SPOT"
    again = norm.process(raw_frame("bitget", BITGET_BOOKS5.encode(), received_ns=200, sequence=1))
    assert again["md.book"]
    assert _coverage(again) == []


def test_adapted_venue_books_carry_no_unverified_event() -> None:
    """Venues with their own adapter verify their books: no integrity_unverified event."""
    for cls in ADAPTERS.values():
        assert cls.integrity_verified
