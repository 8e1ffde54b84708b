"""Market metadata on ``md.markets``, written by the connector beside ``md.raw``.

md.raw is keyed by ``venue:connection_id``, so a venue's market REST frames (ccxt's
``load_markets`` answers) sit on one partition and its websocket frames on others: a
normalize worker can meet a venue's trades before, or without ever seeing, its markets.
The connector therefore also publishes every venue-wide REST frame (one not about a symbol)
to the compacted ``md.markets`` topic, key ``venue:rest_url``, value bytes unchanged, before
the websocket frames that need it; any worker reads it there. The key holds the full URL
with its query, so the several responses of one path (OKX
``/api/v5/public/instruments?instType=SPOT|SWAP|...``) are kept side by side. A frame
published here that ccxt's ``load_markets`` never requests is harmless: the normalizer
answers ccxt's requests by URL and ignores the rest. A non-2xx frame is never published.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tapewire.streams.normalize.ccxt_offline import market_response_error

MARKETS_TOPIC = "md.markets"
"""The schema topic (before any deployment prefix)."""


def is_venue_metadata(record: Mapping[str, Any]) -> bool:
    """True for a valid REST frame that is not about one symbol (market metadata): 2xx,
    JSON, and not an error answer of the venue (checked by its ccxt ``handle_errors``,
    :func:`~tapewire.streams.normalize.ccxt_offline.market_response_error`). An error
    answer would otherwise replace the good response for its URL in the compacted topic."""
    url = record.get("rest_url")
    return (
        record.get("transport") == "REST"
        and record.get("symbol") is None
        and isinstance(url, str)
        and market_response_error(
            str(record.get("venue")), url, record.get("rest_status"), record.get("payload")
        )
        is None
    )
