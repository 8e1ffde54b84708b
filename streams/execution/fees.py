"""Maker/taker fees per venue, in basis points, with the fee currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tapewire.core.exact import BPS, q18_ceiling, wide
from tapewire.core.instruments import Instrument


class FeeAsset(StrEnum):
    """Which asset a fee is charged in."""

    QUOTE = "QUOTE"  # the quote (or, for derivatives, settle) currency: notional * bps
    RECEIVED = "RECEIVED"  # what the fill delivers: base on a buy, quote on a sell (Binance spot)


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Fees of one venue: maker and taker rates in bps (negative maker = rebate)."""

    maker_bps: Decimal = Decimal(0)
    taker_bps: Decimal = Decimal(0)
    asset: FeeAsset = FeeAsset.QUOTE

    @wide
    def fee(
        self, *, instrument: str, side: str, price: Decimal, quantity: Decimal, maker: bool
    ) -> tuple[Decimal, str]:
        """Fee of one fill and its currency, rounded up to 18 places (never understated)."""
        rate = (self.maker_bps if maker else self.taker_bps) / BPS
        inst = Instrument.parse(instrument)
        quote_ccy = inst.settle or inst.quote
        if self.asset is FeeAsset.RECEIVED and side == "BUY" and inst.settle is None:
            return q18_ceiling(quantity * rate), inst.base
        return q18_ceiling(price * quantity * rate), quote_ccy
