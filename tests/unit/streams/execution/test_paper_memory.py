"""Paper venue memory: final orders and seen ids stay within their bounds over many orders,
while open orders are kept whatever their age and duplicates inside the window are refused."""

from __future__ import annotations

import pytest

from tests.factories.market import book, trade
from tests.factories.orders import order_request
from tests.factories.paper import PAPER, encode_all, paper_venue

RETAIN, SEEN = 20, 50
BIDS = [("99", "1"), ("98", "2")]
ASKS = [("101", "1"), ("102", "2"), ("103", "5")]


def test_final_orders_and_seen_ids_bounded_over_3000_orders() -> None:
    v = paper_venue(retain_final=RETAIN, seen_ids=SEEN)
    encode_all(v.submit(order_request("rest-0", venue=PAPER, price="90"), 2))
    ts = 10
    for i in range(3_000):
        ts += 10
        v.on_book(book(PAPER, BIDS, ASKS, ts=ts))  # restate the levels taken
        kind = ("MARKET", "LIMIT")[i % 2]  # a market fill, or an IOC limit that cancels
        price = None if kind == "MARKET" else "95"
        tif = "GTC" if kind == "MARKET" else "IOC"
        cid = f"o{i}"
        out = encode_all(
            v.submit(order_request(cid, venue=PAPER, kind=kind, price=price, tif=tif), ts)
        )
        assert out.events[-1]["status"] in ("FILLED", "CANCELED")
        assert len(v.orders) <= RETAIN + 1  # + the resting order
        assert len(v._seen) <= SEEN
        if i % 101 == 0 and i >= SEEN:  # inside the window: still a duplicate
            again = v.submit(order_request(f"o{i - SEEN + 1}", venue=PAPER, price="90"), ts)
            assert again.events[-1]["text"] == "duplicate client_order_id"
    # the resting order, older than any window, is held, refused as a duplicate, and fills
    dup = v.submit(order_request("rest-0", venue=PAPER, price="90"), ts + 1)
    assert dup.events[-1]["text"] == "duplicate client_order_id"
    filled = encode_all(v.on_trade(trade("89", "1", ts=ts + 2, venue=PAPER, side="SELL")))
    assert [f["client_order_id"] for f in filled.fills] == ["rest-0"]
    # a recent final order still answers "order is FILLED"; a forgotten one is unknown
    recent = v.submit(
        order_request("c1", venue=PAPER, action="CANCEL", orig_client_order_id="o2998", price=None),
        ts + 3,
    )
    forgotten = v.submit(
        order_request("c2", venue=PAPER, action="CANCEL", orig_client_order_id="o0", price=None),
        ts + 4,
    )
    assert recent.events[-1]["text"] == "order is FILLED"
    assert forgotten.events[-1]["text"] == "unknown order"


def test_config_below_one_is_refused_naming_the_field() -> None:

    with pytest.raises(ValueError, match=r"PaperConfig.retain_final must be >= 1, got 0"):
        paper_venue(retain_final=0)
