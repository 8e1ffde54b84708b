"""Pure auth parts: argon2 users, JWT expiry, token buckets, account scopes."""

from __future__ import annotations

import pytest

from tapewire.api.errors import AuthenticationError, PermissionDeniedError
from tapewire.api.permissions import Principal
from tapewire.api.ratelimit import RateLimiter
from tapewire.api.tokens import TokenIssuer
from tapewire.api.users import Role, UserStore, hash_password
from tapewire.core.errors import ConfigError


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _store() -> UserStore:
    return UserStore.from_mapping(
        {
            "users": {
                "ann": {"password_hash": hash_password("pw-ann-1"), "role": "trader",
                        "accounts": ["desk"]},
                "root": {"password_hash": hash_password("pw-root-1"), "role": "risk_admin",
                         "accounts": ["*"]},
            }
        }
    )  # fmt: skip


def test_passwords_are_checked_against_argon2_hashes() -> None:
    store = _store()
    ann = store.authenticate("ann", "pw-ann-1")
    assert ann is not None
    assert ann.password_hash.startswith("$argon2id$")
    assert store.authenticate("ann", "wrong") is None
    assert store.authenticate("nobody", "pw-ann-1") is None


def test_a_users_file_with_a_plain_password_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        UserStore.from_mapping(
            {"users": {"bob": {"password_hash": "hunter2", "role": "viewer", "accounts": ["a"]}}}
        )
    assert err.value.field == "users.bob.password_hash"
    assert "tapewire api hash-password" in str(err.value)


def test_tokens_expire_exactly_at_exp() -> None:
    clock = Clock(1_000_000.0)
    issuer = TokenIssuer(b"k" * 32, ttl_s=60, clock=clock)
    issued = issuer.issue("ann", Role.TRADER)
    assert issuer.verify(issued.token).user == "ann"
    clock.now += 59
    assert issuer.verify(issued.token).role is Role.TRADER
    clock.now += 1
    with pytest.raises(AuthenticationError, match="token expired"):
        issuer.verify(issued.token)
    other = TokenIssuer(b"x" * 32, ttl_s=60, clock=clock)
    with pytest.raises(AuthenticationError, match="invalid token"):
        other.verify(issuer.issue("ann", Role.TRADER).token)


def test_the_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = Clock(0.0)
    limiter = RateLimiter(per_second=2.0, burst=3, clock=clock)
    assert [limiter.acquire("t") for _ in range(3)] == [None, None, None]
    assert limiter.acquire("t") == pytest.approx(0.5)
    assert limiter.acquire("u") is None  # another key, its own bucket
    clock.now += 0.5
    assert limiter.acquire("t") is None
    assert limiter.acquire("t") == pytest.approx(0.5)


def test_roles_rank_and_accounts_scope_reads() -> None:
    store = _store()
    ann, root = store.get("ann"), store.get("root")
    assert ann is not None
    assert root is not None
    trader = Principal(ann, "t1")
    trader.require(Role.VIEWER)
    trader.require(Role.TRADER)
    with pytest.raises(PermissionDeniedError, match="needs risk_admin"):
        trader.require(Role.RISK_ADMIN)
    assert trader.account_filter(None) == ["desk"]
    with pytest.raises(PermissionDeniedError, match="'other' is not one of"):
        trader.account_filter("other")
    assert Principal(root, "t2").account_filter(None) is None
    assert Principal(root, "t2").account_filter("other") == ["other"]
