"""The router as a process on one ccxt venue, restart-safe.

    TAPEWIRE_KEYSTORE_PASSPHRASE=... python -m tapewire.cli.router_main \\
        --bootstrap 127.0.0.1:9092 --keystore ~/.tapewire/keys.json \\
        --venue binance --account main [--rest-url http://127.0.0.1:8080] [--sandbox]

The same process as ``tapewire run router --config FILE`` (one per
``[trading.ccxt.<venue>]``), with its settings on the command line:
:func:`tapewire.deploy.ccxt_router.run_ccxt_router` does the work (recovery, the journal,
the venue's own reports; see that module). SIGTERM/SIGINT stop the worker cleanly.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from tapewire.core import metrics
from tapewire.core.settings import load_settings
from tapewire.deploy.ccxt_router import (
    READY_LINE,
    CcxtRouterVenue,
    RouterSpec,
    VenueLoop,
    run_ccxt_router,
)
from tapewire.streams.risk import RiskConfig
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.trading.config import TradingConfig

__all__ = ["READY_LINE", "CcxtRouterVenue", "VenueLoop", "main", "parse_args", "spec_of"]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command line of the router process."""
    p = argparse.ArgumentParser(prog="python -m tapewire.cli.router_main")
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    p.add_argument("--keystore", required=True, help="key store file (passphrase from env)")
    p.add_argument("--venue", required=True, help="ccxt exchange id, e.g. binance")
    p.add_argument(
        "--account",
        required=True,
        action="append",
        help="account (key) in the key store; repeat for several accounts of the venue",
    )
    p.add_argument("--rest-url", default=None, help="rebase REST URLs (fake exchange, proxy)")
    p.add_argument("--ws-url", default=None, help="rebase websocket URLs (watch_orders)")
    p.add_argument(
        "--no-watch-orders",
        action="store_true",
        help="poll the venue for order updates even where ccxt.pro can watch them",
    )
    p.add_argument(
        "--poll-interval-s",
        type=float,
        default=1.0,
        help="order polling period where the venue cannot push order updates",
    )
    p.add_argument("--sandbox", action="store_true", help="ccxt sandbox mode")
    p.add_argument("--app-id", default="tapewire-router", help="Faust app id = consumer group")
    p.add_argument("--topic-prefix", default="", help="topic name prefix")
    p.add_argument("--partitions", type=int, default=6, help="partitions of created topics")
    p.add_argument("--timeout-ms", type=int, default=10_000, help="ccxt request timeout")
    p.add_argument("--reconcile-attempts", type=int, default=3)
    p.add_argument("--reconcile-delay-s", type=float, default=0.5)
    p.add_argument("--session-timeout-s", type=float, default=10.0, help="consumer session")
    p.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve /metrics here (default: TAPEWIRE_METRICS_PORT, 9464; 0 = off)",
    )
    return p.parse_args(argv)


def spec_of(args: argparse.Namespace) -> RouterSpec:
    """The router of the command line ``args``."""
    streams = StreamsConfig(
        app_id=args.app_id,
        topic_prefix=args.topic_prefix,
        partitions=args.partitions,
        batch_within_s=0.02,
        trading=TradingConfig(risk=RiskConfig(accounts={})),  # the router does not use risk
    )
    return RouterSpec(
        bootstrap=args.bootstrap,
        streams=streams,
        venue=args.venue,
        accounts=tuple(dict.fromkeys(args.account)),
        keystore=Path(args.keystore),
        sandbox=args.sandbox,
        rest_url=args.rest_url,
        ws_url=args.ws_url,
        watch_orders=not args.no_watch_orders,
        poll_interval_s=args.poll_interval_s,
        timeout_ms=args.timeout_ms,
        reconcile_attempts=args.reconcile_attempts,
        reconcile_delay_s=args.reconcile_delay_s,
        session_timeout_s=args.session_timeout_s,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the router until SIGTERM/SIGINT; see the module docstring."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    spec = spec_of(args)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    settings = load_settings()
    port = settings.metrics_port if args.metrics_port is None else args.metrics_port
    endpoint = metrics.serve_metrics(settings.metrics_host, port)
    try:
        run_ccxt_router(spec, settings, stop)
    finally:
        if endpoint is not None:
            endpoint.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
