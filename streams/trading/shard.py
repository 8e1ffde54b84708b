"""Which accounts one trading process owns, when trading is sharded across processes.

A deployment may run several ``trade`` processes side by side (``[[trading.shards]]``,
``docs/deployment.md``). Each owns a disjoint set of accounts: their risk limits, open
orders, positions, daily loss and paper orders live in that process only. Every process
reads every request on ``oms.requests`` (keyed by account) and decides only those of its
accounts; the global kill switch (account ``*``) is applied by every process to its own
accounts. A request for an account no shard owns is decided (denied: unknown account) by
the *default* shard, the first one, so no request is ever left undecided.

Ownership is decided on the Kafka key (``oms.requests`` is keyed by ``account``, UTF-8):
the filter runs before any decoding. A request without a key goes to the default shard,
whose gate denies it unless the account is its own. Plain data: no Kafka, no threads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ALL_ACCOUNTS = "*"
"""Account of a trading-state command that applies to every account (global state)."""


@dataclass(frozen=True)
class AccountShard:
    """The accounts of one trading process (``name``) and those of every other one."""

    name: str
    accounts: frozenset[str]
    others: frozenset[str] = frozenset()
    """Accounts owned by the other shards."""
    default: bool = False
    """Decides requests of accounts no shard owns (and requests without a key)."""

    def __post_init__(self) -> None:
        shared = self.accounts & self.others
        if shared:
            raise ValueError(f"shard {self.name!r}: accounts {sorted(shared)} owned twice")

    def owns(self, account: str) -> bool:
        """True when this process decides (and keeps the state of) ``account``."""
        if account == ALL_ACCOUNTS or account in self.accounts:
            return True
        return self.default and account not in self.others

    def owns_key(self, key: bytes | None) -> bool:
        """:meth:`owns` for a message keyed by account (None: the default shard's)."""
        if key is None:
            return self.default
        return self.owns(key.decode("utf-8", "replace"))


def shards_of(groups: Iterable[tuple[str, Iterable[str]]]) -> tuple[AccountShard, ...]:
    """One :class:`AccountShard` per ``(name, accounts)``; the first is the default."""
    named = [(name, frozenset(accounts)) for name, accounts in groups]
    everything = frozenset().union(*(accounts for _, accounts in named))
    return tuple(
        AccountShard(name, accounts, everything - accounts, default=i == 0)
        for i, (name, accounts) in enumerate(named)
    )
