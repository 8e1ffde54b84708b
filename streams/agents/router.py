"""Faust glue of the router stage (:mod:`tapewire.streams.router.stage`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.agents.common import topics_agent
from tapewire.streams.agents.strategy import trading_config
from tapewire.streams.router.stage import INPUTS, Journal, RouterStage
from tapewire.streams.router.venue import PaperVenueAdapter, Venue


def register_router(
    app: TapewireApp,
    venues: Sequence[Venue] | None = None,
    journal: Journal | None = None,
    routed_elsewhere: Callable[[str], bool] | None = None,
) -> RouterStage:
    """Register the ``router`` agent (paper venues from ``StreamsConfig.trading``).

    ``journal`` turns on the send intents (the ccxt router passes one); call
    :meth:`RouterStage.recover` on the returned stage before the app starts.
    ``routed_elsewhere``: venues another router executes (default: the trading config's
    ``remote_venues``); their approvals are not rejected here.
    """
    trading = trading_config(app)
    built = (
        list(venues) if venues is not None else [PaperVenueAdapter(c) for c in trading.paper_venues]
    )
    elsewhere = routed_elsewhere or trading.remote_venues.__contains__
    stage = RouterStage(
        app.codec, built, app.streams_config.topics.name, journal, routed_elsewhere=elsewhere
    )
    topics_agent(app, INPUTS, stage, name="router")
    return stage
