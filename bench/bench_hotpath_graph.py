"""Microbenchmark of the fused hot path's graph, no Kafka: md.raw frames/s through every stage.

Run: ``.venv/bin/python bench/bench_hotpath_graph.py [--frames 6000] [--runs 5]``.

Builds ``build_hot_path`` with all six stages (normalize, NBBO, strategy, risk, router,
positions) over two simulated venues and one instrument, with a strategy that sends an IOC
order on every 10th quote, and pushes the simulator's md.raw frames through it, as the
hot-path worker does after its consumer poll. Two modes, alternated run by run:

- ``objects``: what the graph does: a stage's output reaches the next stage as the typed
  record it encoded (encode once, for Kafka; no decode in process);
- ``bytes``: each output's record is dropped before it is routed, so every downstream stage
  decodes the Avro bytes again (what the graph did before typed records).

The ratio of the two medians is the saving of passing objects. Prints one JSON line per
run and a summary; ``--out`` writes them to a results file. No thresholds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.simulator import InstrumentSpec, MarketSimulator, SimConfig
from tapewire.core.records import Record
from tapewire.schemas.codec import Codec
from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.hotpath.graph import Node
from tapewire.streams.hotpath.worker import build_hot_path
from tapewire.streams.oms import OrderAction, OrderRequest, OrderType, Side, TimeInForce
from tapewire.streams.risk import AccountLimits, InstrumentLimits, RiskConfig
from tapewire.streams.stages.base import InMsg, OutMsg
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.trading.config import TradingConfig
from tapewire.streams.trading.strategy import Strategy

D = Decimal
INST = "BTC-USDT-SPOT"


class EveryTenth(Strategy):
    """An IOC buy of 0.001 at the ask on every 10th quote of the instrument."""

    strategy_id = "bench"
    account = "acct"

    def __init__(self) -> None:
        self.n = 0

    def on_quote(self, quote: Record) -> list[OrderRequest]:
        if quote["instrument"] != INST or quote["ask_price"] is None:
            return []
        self.n += 1
        if self.n % 10:
            return []
        side = Side.BUY if self.n % 20 else Side.SELL
        price = quote["ask_price"] if side is Side.BUY else quote["bid_price"]
        if price is None:
            return []
        return [
            OrderRequest(
                client_order_id=self.client_order_id(quote["venue"], quote["receive_ts_ns"]),
                account=self.account,
                venue=quote["venue"],
                instrument=INST,
                side=side,
                order_type=OrderType.LIMIT,
                time_in_force=TimeInForce.IOC,
                quantity=D("0.001"),
                limit_price=price,
                action=OrderAction.NEW,
                requested_by="strategy:bench",
                request_ts_ns=quote["receive_ts_ns"],
                strategy_id=self.strategy_id,
            )
        ]


def config() -> StreamsConfig:
    big = D(10) ** 9
    limits = AccountLimits(
        instruments={
            INST: InstrumentLimits(
                max_order_qty=D(1),
                max_order_notional=big,
                max_position=D(10),
                price_band_bps=D(10_000),
            )
        },
        max_open_orders=1000,
        max_orders_per_window=10**6,
        rate_window_ms=1000,
        daily_loss_limit=big,
        stale_quote_ms=10**15,  # simulator clock (2024) vs. the gate's wall clock
    )
    trading = TradingConfig(
        risk=RiskConfig(accounts={"acct": limits}),
        paper_venues=(PaperConfig("binance"), PaperConfig("okx")),
        strategies=(EveryTenth,),
    )
    return StreamsConfig(topic_prefix="b.", partitions=1, trading=trading)


def frames(codec: Codec, n: int) -> list[InMsg]:
    sim = MarketSimulator(
        SimConfig(
            seed=7,
            venues=("binance", "okx"),
            instruments=(
                InstrumentSpec(symbol="BTC/USDT", start_price=D(65000), typical_size=D("0.4")),
            ),
            n_frames=n,
            spread_ticks=100,
            ground_truth=False,
        )
    )
    encode = codec.for_topic("md.raw").encode
    return [
        InMsg(0, i, codec.key("md.raw", r), encode(r))
        for i, r in enumerate(raw_frames(sim.frames()))
    ]


def _as_bytes(node: Node) -> Node:
    """The node with its outputs' records dropped: downstream stages decode the bytes."""
    run = node.run

    def strip(topic: str, msg: InMsg) -> list[OutMsg]:
        return [OutMsg(o.topic, o.key, o.value) for o in run(topic, msg)]

    return Node(node.name, node.inputs, strip, node.deferred)


def run_once(codec: Codec, msgs: list[InMsg], mode: str) -> dict[str, Any]:
    hot = build_hot_path(codec, config())
    graph = hot.graph
    if mode == "bytes":
        graph.nodes = [_as_bytes(n) for n in graph.nodes]
        graph.subscribers = {
            topic: [next(m for m in graph.nodes if m.name == n.name) for n in nodes]
            for topic, nodes in graph.subscribers.items()
        }
    counts: dict[str, int] = {}

    def publish(canonical: str, _out: OutMsg) -> None:
        counts[canonical] = counts.get(canonical, 0) + 1

    t0 = time.perf_counter()
    for msg in msgs:
        graph.push("md.raw", msg, publish)
    seconds = time.perf_counter() - t0
    return {
        "mode": mode,
        "frames": len(msgs),
        "seconds": round(seconds, 4),
        "frames_per_s": round(len(msgs) / seconds, 1),
        "outputs": sum(counts.values()),
        "by_topic": dict(sorted(counts.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=5, help="runs per mode (alternated)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()
    codec = Codec()
    msgs = frames(codec, args.frames)
    run_once(codec, msgs[:500], "objects")  # warm-up: imports, ccxt markets, codec serdes
    results: list[dict[str, Any]] = []
    for i in range(args.runs):
        order = ("objects", "bytes") if i % 2 == 0 else ("bytes", "objects")
        for mode in order:
            result = run_once(codec, msgs, mode)
            results.append(result)
            print(json.dumps(result), flush=True)
    summary: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "frames": len(msgs),
        "runs_per_mode": args.runs,
    }
    for mode in ("objects", "bytes"):
        rates = [r["frames_per_s"] for r in results if r["mode"] == mode]
        summary[f"{mode}_median_frames_per_s"] = statistics.median(rates)
    pairs = [
        a["frames_per_s"] / b["frames_per_s"]
        for a, b in zip(
            (r for r in results if r["mode"] == "objects"),
            (r for r in results if r["mode"] == "bytes"),
            strict=True,
        )
    ]
    summary["objects_over_bytes_median"] = round(statistics.median(pairs), 3)
    summary["objects_over_bytes_range"] = [round(min(pairs), 3), round(max(pairs), 3)]
    print(json.dumps(summary), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps({"summary": summary, "runs": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
