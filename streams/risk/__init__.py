"""Pure pre-trade risk core: config, context, rules, the gate and the kill switch.

The agent (``oms.requests`` -> ``oms.approved`` / ``oms.denied``) only wires
:meth:`RiskGate.evaluate` to topics. See ``docs/risk.md``.

May import: :mod:`tapewire.streams.oms`, :mod:`tapewire.schemas`, :mod:`tapewire.core`.
Pure: no Kafka client, no Faust.
"""

from tapewire.streams.risk.config import AccountLimits, InstrumentLimits, RiskConfig, TradingState
from tapewire.streams.risk.context import OpenOrder, ReferenceQuote, RiskContext
from tapewire.streams.risk.gate import (
    APPROVED_TOPIC,
    DENIED_TOPIC,
    Decision,
    RiskDecision,
    RiskGate,
)
from tapewire.streams.risk.pnl import DailyPnl, utc_day
from tapewire.streams.risk.rules import ALL_RULES, rules_for

__all__ = [
    "ALL_RULES",
    "APPROVED_TOPIC",
    "DENIED_TOPIC",
    "AccountLimits",
    "DailyPnl",
    "Decision",
    "InstrumentLimits",
    "OpenOrder",
    "ReferenceQuote",
    "RiskConfig",
    "RiskContext",
    "RiskDecision",
    "RiskGate",
    "TradingState",
    "rules_for",
    "utc_day",
]
