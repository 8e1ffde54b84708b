"""The live connector: ccxt.pro watch loops, frame capture, reconnects and a watchdog."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal
from urllib.parse import urlsplit

import ccxt.pro

from tapewire.connectors.live.backoff import Backoff
from tapewire.connectors.live.config import LiveConfig
from tapewire.connectors.live.limiter import VenueRateLimiter, limiter_for
from tapewire.connectors.live.sink import FrameSink
from tapewire.connectors.live.tap import FrameTap, instrument_exchange
from tapewire.core import metrics

log = logging.getLogger(__name__)

EndReason = Literal["stopped", "stale", "error"]


@dataclass
class SessionInfo:
    """One connect-to-disconnect period of the connector."""

    started_mono: float
    ended_mono: float = 0.0
    reason: EndReason = "stopped"
    error: str | None = None
    frames: int = 0
    backoff_s: float = 0.0


def _replace_urls(node: Any, replace: Callable[[str], str]) -> Any:
    if isinstance(node, str):
        return replace(node)
    if isinstance(node, dict):
        return {k: _replace_urls(v, replace) for k, v in node.items()}
    return node


def build_exchange(config: LiveConfig) -> Any:
    """A ccxt.pro exchange for ``config``, its URLs pointed at ``ws_url``/``rest_base_url``."""
    cls = getattr(ccxt.pro, config.exchange)
    options: dict[str, Any] = {"fetchMarkets": {"types": ["spot"]}} | dict(config.options)
    exchange = cls({"enableRateLimit": True, "options": options})
    api = exchange.urls.get("api")
    if config.ws_url and isinstance(api, dict) and "ws" in api:
        ws_url = config.ws_url
        api["ws"] = _replace_urls(api["ws"], lambda _u: ws_url)
    if config.rest_base_url and isinstance(api, dict):
        base = config.rest_base_url.rstrip("/")

        def rebase(url: str) -> str:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https"):
                return url
            return base + url[len(f"{parts.scheme}://{parts.netloc}") :]

        for key, value in list(api.items()):
            if key != "ws":
                api[key] = _replace_urls(value, rebase)
    return exchange


class LiveConnector:
    """Runs one exchange until ``stop`` is set, reconnecting with backoff.

    A *session* creates the ccxt.pro exchange, loads markets and runs one watch loop per
    channel; it ends on the first error (network, protocol, rate limit), when the
    watchdog sees no frame for ``stale_after_s``, or on stop. Every session is closed
    completely (websockets and REST session) before the backoff sleep.
    """

    def __init__(
        self,
        config: LiveConfig,
        sink: FrameSink,
        *,
        limiter: VenueRateLimiter | None = None,
        rng: random.Random | None = None,
        sessions_kept: int = 100,
    ) -> None:
        self.config = config
        self.sink = sink
        self.venue = config.exchange
        self.limiter = limiter or limiter_for(
            config.exchange,
            default_429_s=config.default_429_s,
            default_418_s=config.default_418_s,
        )
        self.backoff = Backoff(
            config.backoff_base_s, config.backoff_cap_s, rng=rng or random.Random()
        )
        self.sessions: list[SessionInfo] = []
        """The last ``sessions_kept`` sessions (a connector reconnects for days)."""
        self.sessions_kept = sessions_kept
        self.session_count = 0
        """Sessions started since :meth:`run` was first called."""
        self.tap: FrameTap | None = None

    async def run(self, stop: asyncio.Event, *, max_sessions: int | None = None) -> None:
        """Connect, watch, reconnect; return when ``stop`` is set (or after
        ``max_sessions`` sessions)."""
        while not stop.is_set():
            info = SessionInfo(started_mono=time.monotonic())
            self.sessions.append(info)
            del self.sessions[: -self.sessions_kept]
            self.session_count += 1
            await self._session(stop, info)
            info.ended_mono = time.monotonic()
            if info.reason == "stopped" or stop.is_set():
                return
            metrics.connector_reconnects.labels(self.venue, info.reason).inc()
            if info.frames and info.ended_mono - info.started_mono >= self.config.healthy_after_s:
                self.backoff.reset()
            info.backoff_s = self.backoff.next_delay()
            log.warning(
                "%s: session ended (%s: %s); reconnecting in %.2fs",
                self.venue,
                info.reason,
                info.error,
                info.backoff_s,
            )
            if max_sessions is not None and self.session_count >= max_sessions:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), info.backoff_s)

    def _watchers(self, exchange: Any) -> list[Callable[[], Awaitable[Any]]]:
        cfg = self.config
        calls: list[Callable[[], Awaitable[Any]]] = []
        for symbol in cfg.symbols:
            if "trades" in cfg.channels:
                calls.append(partial(exchange.watch_trades, symbol))
            if "book" in cfg.channels:
                calls.append(partial(exchange.watch_order_book, symbol, cfg.book_limit))
            if "bbo" in cfg.channels and not exchange.has.get("watchBidsAsks"):
                calls.append(partial(exchange.watch_ticker, symbol))
        if "bbo" in cfg.channels and exchange.has.get("watchBidsAsks"):
            calls.append(partial(exchange.watch_bids_asks, list(cfg.symbols)))
        return calls

    async def _session(self, stop: asyncio.Event, info: SessionInfo) -> None:
        tap = self.tap = FrameTap(self.venue, self.sink)
        exchange = build_exchange(self.config)
        tasks: list[asyncio.Task[Any]] = []
        try:
            instrument_exchange(exchange, tap, self.limiter)
            tasks.append(asyncio.create_task(stop.wait(), name="stop"))
            tasks.append(asyncio.create_task(self._watchdog(tap), name="watchdog"))
            tasks.append(asyncio.create_task(self._watch_all(exchange), name="watch"))
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finished = done.pop()
            if finished.get_name() == "stop":
                info.reason = "stopped"
            elif finished.get_name() == "watchdog":
                info.reason = "stale"
                info.error = f"no frame for {self.config.stale_after_s}s"
            else:
                info.reason = "error"
                exc = finished.exception()
                info.error = f"{type(exc).__name__}: {exc}" if exc else "watch loop ended"
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await exchange.close()
            info.frames = tap.frames

    async def _watch_all(self, exchange: Any) -> None:
        await exchange.load_markets()

        async def loop(call: Callable[[], Awaitable[Any]]) -> None:
            while True:
                await call()

        loops = [asyncio.create_task(loop(call)) for call in self._watchers(exchange)]
        try:
            # the first loop to fail ends the session with its exception
            done, _ = await asyncio.wait(loops, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)

    async def _watchdog(self, tap: FrameTap) -> None:
        stale_after = self.config.stale_after_s
        period = min(0.5, stale_after / 4)
        gauge = metrics.connector_last_frame_age_seconds.labels(self.venue)
        tap.last_frame_mono = time.monotonic()
        while True:
            await asyncio.sleep(period)
            age = time.monotonic() - tap.last_frame_mono
            gauge.set(age)
            if age > stale_after:
                return
