"""A loopback fake of Binance spot (combined-stream websocket + REST) with scriptable faults.

    async with FakeBinance() as fake:           # 127.0.0.1, ephemeral port
        fake.faults.drop_after = 5               # close each connection after 5 frames
        fake.faults.rest.append(RestFault(429, retry_after="1"))
        config = LiveConfig(exchange="binance", symbols=("BTC/USDT",),
                            ws_url=fake.ws_url, rest_base_url=fake.rest_url)

Content comes from the market simulator (``tapewire.connectors.simulator``). See docs/connectors.md.

Part of :mod:`tapewire.testing` (may import the connectors' simulator and
:mod:`tapewire.core`).
"""

from tapewire.testing.fake_exchange.server import (
    FakeBinance,
    Faults,
    RestFault,
    RestRequest,
    WsConnection,
)

__all__ = ["FakeBinance", "Faults", "RestFault", "RestRequest", "WsConnection"]
