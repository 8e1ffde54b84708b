"""``colocate_connector = true``: the trade process runs the connector. Under
``tapewire run all`` (normalize, aggregate, trade; no connector process) every frame
reaches md.raw exactly once, the same frames reach the strategy in-process, and orders
are decided, sent and filled on paper; md.quotes is still written once, by normalize."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

from tapewire.records.market import Quote, RawFrame
from tapewire.runtime.kafka_io import delete_topics, read_to_end
from tapewire.schemas.codec import Codec
from tapewire.streams.stages.config import StreamsConfig
from tests.integration.deploy.test_run_all import STRATEGY
from tests.integration.deploy.trade_desk import wide_limits

FRAMES = 9_000
CODEC = Codec()


def _config(bootstrap: str, prefix: str) -> str:
    return f"""
[kafka]
bootstrap = "{bootstrap}"
topic_prefix = "{prefix}"
partitions = 2

[connector]
source = {{ kind = "simulator", seed = 13, rate = 300, max_frames = {FRAMES} }}

[normalize]
shell = "hotpath"

[aggregate]
bars = ["1s"]

[trading]
paper_venues = ["binance", "okx"]
colocate_connector = true

{wide_limits("desk")}
[[trading.strategies]]
class = "desk_strategy:EveryNth"
params = {{ instrument = "BTC-USDT-SPOT", every = 20, qty = "0.001", account = "desk" }}
"""


def test_a_colocated_connector_records_every_frame_once_and_trades_in_process(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "desk_strategy.py").write_text(STRATEGY)
    prefix = f"col{uuid.uuid4().hex[:8]}."
    topics = StreamsConfig(topic_prefix=prefix).topics
    config = tmp_path / "desk.toml"
    config.write_text(_config(kafka_bootstrap, prefix))
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "strategies"), os.getcwd()]),
        "TAPEWIRE_DATA_DIR": str(tmp_path / "data"),
    }
    logs = tmp_path / "logs"
    try:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "tapewire.cli", "run", "all"),
                *("--config", str(config), "--duration", "80", "--log-dir", str(logs)),
            ],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        role_logs = {p.name: p.read_text()[-3000:] for p in logs.glob("*.log")}
        assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:], role_logs)
        assert sorted(role_logs) == ["aggregate.log", "normalize.log", "trade.log"]
        trade_log = (logs / "trade.log").read_text()
        # the trade process published every frame and ran every one in-process
        assert f"trade: {FRAMES} frames to {topics.raw}, {FRAMES} in-process" in trade_log
        assert trade_log.count("trade: restored") == 1  # one run, never restarted
        # the normalize role's records of the co-located venues came back through Kafka
        # and were skipped: the strategy saw each tick once, in-process
        counts = re.search(r"trade: (\d+) market record\(s\) in-process, (\d+) of the", trade_log)
        assert counts is not None, trade_log[-3000:]
        local, skipped = map(int, counts.groups())
        assert local > 0
        assert skipped > 0

        raw = [
            CODEC.read("md.raw", s.value or b"") for s in read_to_end(kafka_bootstrap, topics.raw)
        ]
        frames = [r for r in raw if isinstance(r, RawFrame)]
        assert len(frames) == len(raw) == FRAMES
        assert len({(f.venue, f.connection_id, f.sequence) for f in frames}) == FRAMES

        quotes = [
            CODEC.read("md.quotes", s.value or b"")
            for s in read_to_end(kafka_bootstrap, topics.name("md.quotes"))
        ]
        keys = Counter(
            (q.venue, q.instrument, q.receive_ts_ns, q.bid_price, q.ask_price)
            for q in quotes
            if isinstance(q, Quote)
        )
        assert keys
        assert max(keys.values()) == 1  # written by normalize only, never by trade too

        def records(topic: str) -> int:
            return len(read_to_end(kafka_bootstrap, topics.name(topic)))

        assert records("oms.requests") > 0, trade_log[-3000:]
        assert records("oms.approved") > 0, trade_log[-3000:]
        assert records("oms.fills") > 0, trade_log[-3000:]
    finally:
        delete_topics(kafka_bootstrap, topics.all())
