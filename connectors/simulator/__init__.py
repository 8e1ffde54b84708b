"""Seeded, deterministic multi-venue market simulator emitting native exchange frames.

    from tapewire.connectors.simulator import MarketSimulator, SimConfig

    sim = MarketSimulator(SimConfig(seed=7, n_frames=100_000))
    for frame in sim.frames():      # SimFrame: venue, channel, symbol, payload bytes, ...
        ...
    truth = sim.ground_truth        # expected trades, quotes, final books, faults, counts

See docs/simulator.md for what is modelled and the exact formats.

Pure, no Kafka. May import: :mod:`tapewire.core` only.
"""

from tapewire.connectors.simulator.config import (
    ChannelMix,
    FaultSpec,
    InstrumentSpec,
    ListingSpec,
    SimConfig,
    VenueSpec,
    load_sim_config,
)
from tapewire.connectors.simulator.frames import CHANNELS, Channel, SimFrame
from tapewire.connectors.simulator.ground_truth import (
    ExpectedBook,
    ExpectedQuote,
    ExpectedTrade,
    Fault,
    GroundTruth,
)
from tapewire.connectors.simulator.market import CODECS, MarketSimulator
from tapewire.connectors.simulator.okx import okx_checksum

__all__ = [
    "CHANNELS",
    "CODECS",
    "Channel",
    "ChannelMix",
    "ExpectedBook",
    "ExpectedQuote",
    "ExpectedTrade",
    "Fault",
    "FaultSpec",
    "GroundTruth",
    "InstrumentSpec",
    "ListingSpec",
    "MarketSimulator",
    "SimConfig",
    "SimFrame",
    "VenueSpec",
    "load_sim_config",
    "okx_checksum",
]
