"""The ccxt venue against the loopback fake Binance (real ccxt signing and parsing)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import SecretStr

from tapewire.connectors.live.limiter import VenueRateLimiter
from tapewire.connectors.orders.ccxt_venue import CcxtVenue, CcxtVenueConfig, LiveReports
from tapewire.connectors.orders.keys import Credentials
from tapewire.records.orders import OrderRequest
from tapewire.streams.execution.rules import VenueFeatures
from tapewire.testing.fake_exchange.private import FakeBinancePrivate
from tests.factories import Num
from tests.factories.orders import order_request

KEY = "test-key-0001"
SECRET = "test-secret-0001"
ORDER = "/api/v3/order"
"""The fake's order endpoint (create, look up, cancel)."""


def ccxt_request(
    cid: str, *, qty: Num = "0.1", price: Num | None = "100.00", **changes: Any
) -> OrderRequest:
    """A NEW limit-buy ``OrderRequest`` record for BTC-USDT-SPOT on binance, account
    ``main``, strategy ``s1``."""
    return order_request(
        cid, account="main", qty=qty, price=price, strategy_id="s1", ts=1, **changes
    )


def make_venue(
    fake: FakeBinancePrivate,
    *,
    account: str = "main",
    venue_limiter: VenueRateLimiter | None = None,
    features: VenueFeatures | None = None,
    key: str = KEY,
    secret: str = SECRET,
    **config_fields: Any,
) -> CcxtVenue:
    """A venue on ``fake`` with private limiters (tests never share the process-wide ones);
    ``config_fields``: other ``CcxtVenueConfig`` fields (``ws_base_url``, ...)."""
    config = CcxtVenueConfig(
        venue="binance",
        account=account,
        rest_base_url=fake.rest_url,
        timeout_ms=400,
        reconcile_attempts=2,
        reconcile_delay_s=0.05,
        features=features,
        **config_fields,
    )
    creds = Credentials("binance", account, SecretStr(key), SecretStr(secret))
    return CcxtVenue(
        config,
        creds,
        venue_limiter=venue_limiter or VenueRateLimiter("binance"),
        key_limiter=VenueRateLimiter(f"binance#{account}"),
    )


def run(scenario: Callable[[FakeBinancePrivate], Awaitable[None]], **fake_kw: Any) -> None:
    """Run ``scenario`` against a fresh fake (bounded to 30 s)."""

    async def main() -> None:
        async with FakeBinancePrivate(api_key=KEY, secret=SECRET, **fake_kw) as fake:
            await asyncio.wait_for(scenario(fake), timeout=30)

    asyncio.run(main())


def kinds(reports: LiveReports) -> list[tuple[str, str]]:
    """``(exec_type, status)`` of every event."""
    return [(e["exec_type"], e["status"]) for e in reports.events]
