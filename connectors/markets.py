"""Market metadata on ``md.markets``, written by the connector beside ``md.raw``.

md.raw is keyed by ``venue:connection_id``, so a venue's market REST frames (ccxt's
``load_markets`` answers) sit on one partition and its websocket frames on others: a
normalize worker can meet a venue's trades before, or without ever seeing, its markets.
The connector therefore also publishes every venue-wide REST frame (one not about a symbol)
to the compacted ``md.markets`` topic, key ``venue:rest_url``, value bytes unchanged, before
the websocket frames that need it; any worker reads it there. A frame published here that
is not market metadata is harmless: readers keep only the paths their venue's adapter lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MARKETS_TOPIC = "md.markets"
"""The schema topic (before any deployment prefix)."""


def is_venue_metadata(record: Mapping[str, Any]) -> bool:
    """True for a successful REST frame that is not about one symbol (market metadata)."""
    status = record.get("rest_status")
    return (
        record.get("transport") == "REST"
        and record.get("symbol") is None
        and isinstance(record.get("rest_url"), str)
        and (status is None or 200 <= status < 300)
    )
