"""Live ccxt.pro connector: exact exchange frames to ``md.raw``.

    from tapewire.connectors.live import LiveConfig, LiveConnector, KafkaRawSink

    config = LiveConfig(exchange="binance", symbols=("BTC/USDT",), channels=("trades",))
    with KafkaRawSink(bootstrap, topic="md.raw", codec=codec) as sink:
        await LiveConnector(config, sink).run(stop_event)

See docs/connectors.md.

Part of the connectors shell (see :mod:`tapewire.connectors` for what it may import).
"""

from tapewire.connectors.live.backoff import Backoff
from tapewire.connectors.live.config import Channel, LiveConfig
from tapewire.connectors.live.connector import LiveConnector, SessionInfo, build_exchange
from tapewire.connectors.live.limiter import VenueRateLimiter, limiter_for, parse_retry_after
from tapewire.connectors.live.sink import FrameSink, KafkaRawSink, ListSink
from tapewire.connectors.live.tap import FrameTap, instrument_exchange

__all__ = [
    "Backoff",
    "Channel",
    "FrameSink",
    "FrameTap",
    "KafkaRawSink",
    "ListSink",
    "LiveConfig",
    "LiveConnector",
    "SessionInfo",
    "VenueRateLimiter",
    "build_exchange",
    "instrument_exchange",
    "limiter_for",
    "parse_retry_after",
]
