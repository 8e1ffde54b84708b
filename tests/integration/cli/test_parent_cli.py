"""``tapewire parent new|cancel`` as a user runs them (subprocesses), through the real
broker: the published ``ParentRequest`` is read back from ``oms.parent_requests``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tapewire.runtime.kafka_io import delete_topics
from tests.integration.cli.test_trading_cli import _read_back, _tapewire

SENT = re.compile(r"parent ([^\s:]+):?.* -> (\S+) partition (\d+) offset (\d+)")


@pytest.fixture(autouse=True)
def _drop_the_parent_topic(kafka_bootstrap: str) -> Iterator[None]:
    """The CLI writes the canonical topic (no prefix): a later demo must not read it."""
    yield
    delete_topics(kafka_bootstrap, ["oms.parent_requests"])


def test_parent_new_and_cancel_land_on_the_parent_topic(kafka_bootstrap: str) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    done = _tapewire(
        *("parent", "new", "--account", "main", "--instrument", "BTC-USDT-SPOT"),
        *("--side", "buy", "--qty", "2.00000812", "--limit", "65100"),
        *("--venue", "binance", "--venue", "okx", "--parent-id", "p-cli-1"),
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    match = SENT.search(done.stdout)
    assert match, done.stdout
    assert (match[1], match[2]) == ("p-cli-1", "oms.parent_requests")
    key, record = _read_back(kafka_bootstrap, match[2], int(match[3]), int(match[4]))
    assert key == b"main"
    assert (record["parent_id"], record["action"], record["algo"], record["side"]) == (
        "p-cli-1",
        "NEW",
        "SOR",
        "BUY",
    )
    assert (record["quantity"], record["limit_price"]) == (Decimal("2.00000812"), Decimal(65100))
    assert record["venues"] == ["binance", "okx"]

    cancel = _tapewire("parent", "cancel", "--account", "main", "--parent-id", "p-cli-1", env=env)
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    match = SENT.search(cancel.stdout)
    assert match, cancel.stdout
    _, record = _read_back(kafka_bootstrap, match[2], int(match[3]), int(match[4]))
    assert (record["parent_id"], record["action"]) == ("p-cli-1", "CANCEL")
