"""A deployment's trading topics (a unique prefix) and its ``trade`` processes, started
with ``tapewire run trade`` as an operator would, for the trade-role integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tapewire.core.records import TypedRecord
from tapewire.runtime.kafka_io import delete_topics, produce_all, read_to_end
from tapewire.schemas.codec import Codec
from tapewire.streams.stages.config import StreamsConfig

CODEC = Codec()
INST = "BTC-USDT-SPOT"
READY = "partition(s) of"
"""What the hot path logs once it reads its partitions."""


def account_limits(
    account: str,
    daily_loss_limit: str = "5",
    *,
    open_orders: int = 10,
    per_window: int = 100,
    order_qty: str = "5",
    notional: str = "100000",
    position: str = "5",
    band_bps: str = "2000",
) -> str:
    """The ``[trading.accounts.<account>]`` TOML of a test account trading ``INST``."""
    return f"""
[trading.accounts.{account}]
max_open_orders = {open_orders}
max_orders_per_window = {per_window}
rate_window_ms = 1000
daily_loss_limit = "{daily_loss_limit}"
stale_quote_ms = 600000

[trading.accounts.{account}.instruments."{INST}"]
max_order_qty = "{order_qty}"
max_order_notional = "{notional}"
max_position = "{position}"
price_band_bps = "{band_bps}"
"""


def wide_limits(account: str) -> str:
    """:func:`account_limits` no test order reaches (for tests of the deployment, not of
    risk)."""
    return account_limits(
        account,
        "1000000",
        open_orders=50,
        per_window=1000,
        order_qty="1",
        notional="1000000",
        position="10",
        band_bps="1000",
    )


class TradeProcess:
    """One ``tapewire run trade`` process; its output in ``log``."""

    def __init__(self, desk: Desk, name: str, args: tuple[str, ...]) -> None:
        self.desk = desk
        self.log = desk.tmp / f"{name}.log"
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def start(self) -> None:
        """Start the role and wait until its hot path reads its partitions."""
        runs = self.text().count(READY)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tapewire.cli", "run", "trade", *self.args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=os.environ.copy(),
            )
        self.wait("the hot path runs", lambda: self.text().count(READY) > runs)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(60)

    def wait(self, what: str, check: Callable[[], bool], timeout_s: float = 90.0) -> None:
        """Until ``check()``; fails with the log's tail if the process dies or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if check():
                return
            assert self.process is not None
            assert self.process.poll() is None, self.text()[-3000:]
            time.sleep(0.3)
        raise AssertionError(f"{what}: not within {timeout_s}s\n{self.text()[-3000:]}")


class Desk:
    """The topics of one test deployment (``config`` gets bootstrap and prefix) and its
    trade processes."""

    def __init__(self, bootstrap: str, tmp: Path, config: Callable[[str, str], str]) -> None:
        self.bootstrap = bootstrap
        self.tmp = tmp
        self.prefix = f"trd{uuid.uuid4().hex[:8]}."
        self.topics = StreamsConfig(topic_prefix=self.prefix).topics
        self.path = tmp / "desk.toml"
        self.path.write_text(config(bootstrap, self.prefix))
        self.processes: list[TradeProcess] = []

    def trade(self, name: str = "trade", *args: str) -> TradeProcess:
        """A trade process of this deployment (not started); ``args`` after the config."""
        process = TradeProcess(self, name, ("--config", str(self.path), *args))
        self.processes.append(process)
        return process

    def send(self, topic: str, *records: TypedRecord) -> None:
        produce_all(
            self.bootstrap,
            self.topics.name(topic),
            [(CODEC.key(topic, r), CODEC.encode(topic, r)) for r in records],
        )

    def read(self, topic: str) -> list[TypedRecord]:
        stored = read_to_end(self.bootstrap, self.topics.name(topic), missing_ok=True)
        return [CODEC.read(topic, s.value or b"") for s in stored]

    def fills(self, cid: str) -> list[TypedRecord]:
        """The fills of order ``cid``."""
        return [f for f in self.read("oms.fills") if f["client_order_id"] == cid]

    def denied(self, cid: str, rule: str) -> bool:
        """True once request ``cid`` was denied by ``rule``."""
        return any(
            d["client_order_id"] == cid and d["rule"] == rule for d in self.read("oms.denied")
        )

    def close(self) -> None:
        """Stop every process, delete the topics."""
        for process in self.processes:
            process.stop()
        delete_topics(self.bootstrap, self.topics.all())
