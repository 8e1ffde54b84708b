"""What the smart order router knows of each venue: taker fees, trading rules, balances.

Fees and rules are the execution core's own types (:class:`FeeSchedule`,
:class:`VenueRules`), so the router sizes children exactly as the paper venue (or a live
venue's ``adapt``) will round and check them. Balances are what each venue account may
spend: the quote currency for buys, the base currency for sells.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tapewire.streams.execution.fees import FeeSchedule
from tapewire.streams.execution.rules import VenueRules


@dataclass(frozen=True, slots=True)
class VenueTerms:
    """One venue as the router sees it: its taker fees and its rules per instrument.

    ``rules`` is keyed by canonical instrument id; an instrument without rules is routed
    with no lot, tick or minimum (the venue's own checks still apply downstream).
    """

    venue: str
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    rules: Mapping[str, VenueRules] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.venue or self.venue != self.venue.strip():
            raise ValueError(f"VenueTerms.venue {self.venue!r} must be a non-empty name")
        for instrument, rules in self.rules.items():
            if rules.venue != self.venue:
                raise ValueError(
                    f"VenueTerms({self.venue}).rules[{instrument!r}] are {rules.venue}'s rules"
                )

    def rules_for(self, instrument: str) -> VenueRules | None:
        """The venue's rules of ``instrument``; None when it has none."""
        return self.rules.get(instrument)


@dataclass(frozen=True, slots=True)
class Balances:
    """Spendable amount per ``(venue, currency)``; a pair not listed is unlimited.

    Buys spend the quote currency (notional plus a quote-currency taker fee), sells the
    base currency. Amounts are what may be committed now: the caller subtracts what open
    orders hold.
    """

    amounts: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for (venue, currency), amount in self.amounts.items():
            if amount < 0:
                raise ValueError(f"Balances[{venue!r}, {currency!r}] = {amount} is negative")

    def available(self, venue: str, currency: str) -> Decimal | None:
        """What ``venue`` may spend of ``currency``; None when unlimited."""
        return self.amounts.get((venue, currency))


UNLIMITED = Balances()
"""No balance limit anywhere."""


@dataclass(frozen=True, slots=True)
class SorConfig:
    """The router's settings.

    ``venues``: every venue it may route to (a parent narrows them with its own list).
    ``depth_levels``: price levels per side read from the consolidated book.
    ``requested_by``: the ``requested_by`` of every child request.
    """

    venues: tuple[VenueTerms, ...]
    depth_levels: int = 20
    requested_by: str = "sor"

    def __post_init__(self) -> None:
        names = [v.venue for v in self.venues]
        if not names:
            raise ValueError("SorConfig.venues is empty: name at least one venue")
        if len(set(names)) != len(names):
            raise ValueError(f"SorConfig.venues lists a venue twice: {sorted(names)}")
        if self.depth_levels < 1:
            raise ValueError(f"SorConfig.depth_levels {self.depth_levels} must be >= 1")
        if not self.requested_by.strip():
            raise ValueError("SorConfig.requested_by is empty")

    def terms(self) -> dict[str, VenueTerms]:
        """Venue name -> its terms."""
        return {v.venue: v for v in self.venues}
