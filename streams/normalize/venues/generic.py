"""The ccxt mapper for any ccxt.pro exchange without an adapter of its own.

ccxt.pro's handlers run offline as for the adapted venues, with the exchange's own
websocket URL and no priming: trades and tickers normalize; books only where ccxt resolves
them without a subscription state, and their integrity is what ccxt checks (unverified
by Tapewire).
"""

from __future__ import annotations

import functools
from typing import Any

import ccxt.pro as ccxtpro

from tapewire.streams.normalize.venues.base import VenueAdapter


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
    urls = getattr(ccxtpro, exchange_id)().urls
    ws_url = _first_url(urls.get("api", {}).get("ws")) or f"wss://{exchange_id}.invalid/ws"
    name = "".join(part.capitalize() for part in exchange_id.split("_")) + "GenericAdapter"
    attrs = {"venue": exchange_id, "ws_url": ws_url, "generic": True}
    return type(name, (VenueAdapter,), attrs)
