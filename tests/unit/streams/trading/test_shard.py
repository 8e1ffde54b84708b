"""Which trade process owns an account: its own, the global kill switch, and the
default shard for accounts (and keyless requests) no shard owns."""

from __future__ import annotations

import pytest

from tapewire.streams.trading.shard import ALL_ACCOUNTS, AccountShard, shards_of


def test_each_account_is_owned_by_exactly_one_shard() -> None:
    a, b = shards_of([("a", ["desk-a", "desk-c"]), ("b", ["desk-b"])])
    for account in ("desk-a", "desk-b", "desk-c", "stranger"):
        assert [s.name for s in (a, b) if s.owns(account)] == (
            ["b"] if account == "desk-b" else ["a"]
        )
    assert a.default
    assert not b.default
    assert a.others == frozenset({"desk-b"})


def test_the_global_kill_switch_belongs_to_every_shard() -> None:
    shards = shards_of([("a", ["desk-a"]), ("b", ["desk-b"])])
    assert all(s.owns(ALL_ACCOUNTS) for s in shards)
    assert all(s.owns_key(ALL_ACCOUNTS.encode()) for s in shards)


def test_ownership_by_kafka_key_matches_the_account_and_keyless_goes_to_the_default() -> None:
    a, b = shards_of([("a", ["desk-a"]), ("b", ["désk-b"])])
    assert b.owns_key("désk-b".encode())
    assert not a.owns_key("désk-b".encode())
    assert a.owns_key(None)
    assert not b.owns_key(None)


def test_an_account_in_two_shards_is_refused() -> None:
    with pytest.raises(ValueError, match="owned twice"):
        AccountShard("a", frozenset({"x"}), frozenset({"x"}))
