"""The ccxt mapper for any ccxt.pro exchange without an adapter of its own.

ccxt.pro's handlers run offline as for the adapted venues, with the exchange's own
websocket URL and no per-venue module: trades and tickers normalize; books only where
ccxt resolves them without a subscription state. Book integrity is what ccxt checks, not
verified by Tapewire: every generic book that goes live gets a coverage event saying so
(``integrity_unverified``, ``docs/normalizer.md``).

What a long-tail venue needs beyond that is data, not code: :data:`WS_URLS` picks the
websocket URL where the first one ccxt lists is not the public market-data feed (ccxt
derives market types from it on some venues), :data:`MAKER_SIDE` lists venues whose ccxt
trade ``side`` is the maker's (published as the opposite, taker side). JSON numbers are
decoded as their wire text (:func:`decode_json_floats_as_text`), so prices and sizes stay
exact on venues that send numbers.
"""

from __future__ import annotations

import functools
from typing import Any

import ccxt.pro as ccxtpro

from tapewire.streams.normalize.ccxt_offline import decode_json_floats_as_text
from tapewire.streams.normalize.venues.base import VenueAdapter
from tapewire.streams.normalize.venues.coinbase import CoinbaseVenue

WS_URLS: dict[str, str] = {}
"""Public market-data websocket URL per ccxt.pro id, where ccxt's first listed URL is not it."""

MAKER_SIDE: dict[str, str] = {
    "coinone": "ccxt maps is_seller_maker=true to 'sell', the maker's side (the buyer took)",
}
"""ccxt.pro ids whose ccxt trade ``side`` is the maker order's, and why."""


def _first_url(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for item in value.values():
            found = _first_url(item)
            if found is not None:
                return found
    return None


@functools.cache
def generic_adapter(exchange_id: str) -> type[VenueAdapter] | None:
    """A :class:`VenueAdapter` subclass for a ccxt.pro exchange id; None if ccxt.pro has none."""
    if exchange_id not in ccxtpro.exchanges:
        return None
    ws_url = WS_URLS.get(exchange_id)
    if ws_url is None:
        urls = getattr(ccxtpro, exchange_id)().urls
        ws_url = _first_url(urls.get("api", {}).get("ws")) or f"wss://{exchange_id}.invalid/ws"
    name = "".join(part.capitalize() for part in exchange_id.split("_")) + "GenericAdapter"
    attrs = {
        "venue": exchange_id,
        "ws_url": ws_url,
        "generic": True,
        "integrity_verified": False,
        "decoder": staticmethod(decode_json_floats_as_text),
    }
    if exchange_id in MAKER_SIDE:  # trades turned to the taker side, as on Coinbase
        attrs["venue_class"] = CoinbaseVenue
    return type(name, (VenueAdapter,), attrs)
