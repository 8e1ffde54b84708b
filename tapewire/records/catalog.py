"""Which record class each Avro record schema (full name) reads into."""

from __future__ import annotations

from tapewire.core.records import TypedRecord
from tapewire.records.dead_letters import DeadLetter
from tapewire.records.market import (
    Bar,
    BookUpdate,
    ConsolidatedDepth,
    ConsolidatedQuote,
    CoverageEvent,
    DepthLevel,
    DerivativesTicker,
    PriceLevel,
    Quote,
    RawFrame,
    Trade,
)
from tapewire.records.orders import Fill, OrderEvent, OrderRequest, ParentOrderEvent, ParentRequest
from tapewire.records.positions import Position
from tapewire.records.risk import Alert, RiskDecision
from tapewire.records.tca import TcaReport

NAMESPACE = "io.tapewire"

RECORD_TYPES: dict[str, type[TypedRecord]] = {
    f"{NAMESPACE}.{cls.__name__}": cls
    for cls in (
        RawFrame,
        Trade,
        PriceLevel,
        BookUpdate,
        Quote,
        DerivativesTicker,
        ConsolidatedQuote,
        DepthLevel,
        ConsolidatedDepth,
        Bar,
        CoverageEvent,
        OrderRequest,
        OrderEvent,
        Fill,
        ParentRequest,
        ParentOrderEvent,
        RiskDecision,
        Alert,
        Position,
        DeadLetter,
        TcaReport,
    )
}
"""Schema full name -> record class, for every record schema in ``schemas/avro``."""
