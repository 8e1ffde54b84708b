"""The router as a process on one ccxt venue, restart-safe.

    TAPEWIRE_KEYSTORE_PASSPHRASE=... python -m tapewire.cli.router_main \\
        --bootstrap 127.0.0.1:9092 --keystore ~/.tapewire/keys.json \\
        --venue binance --account main [--rest-url http://127.0.0.1:8080] [--sandbox]

On start, before the router consumes a single approval (``docs/trading.md``, "Restart
and reconciliation"):

1. read every ``oms.events`` record and the ``oms.approved`` records, each marked as
   processed or not by the router group's committed offset;
2. :func:`tapewire.streams.router.recovery.plan_recovery`: the orders to reconcile and the
   client order ids never to send again;
3. reconcile those orders with the venue by client order id (an order it does not know
   is quarantined: ``ORDER_QUARANTINED`` alert, never re-sent) and publish the answers;
4. start the Faust router agent with a journal: every NEW/REPLACE is recorded on
   ``oms.events`` (``PENDING_NEW`` "sending", acknowledged by the broker) before the
   venue is called;
5. start :meth:`CcxtVenue.watch_reports` on the venue's loop: the venue's own order
   updates (ccxt.pro ``watch_orders``, else polling) go to ``oms.events``/``oms.fills``.

The router feeds the venue ``md.trades``: emulated stops (what the venue's rules do not
offer natively) trigger on them.

The ccxt venue is async and keeps its HTTP session on one event loop: it runs on its
own loop thread, and :class:`CcxtRouterVenue` is the router's synchronous
:class:`tapewire.streams.router.venue.Venue` over it. SIGTERM/SIGINT stop the worker cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import logging
import signal
import sys
import threading
import time
from collections.abc import Coroutine, Sequence
from types import FrameType
from typing import Any, TypeVar

from confluent_kafka import (
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)

from tapewire.connectors.orders.ccxt_venue import CcxtVenue, CcxtVenueConfig, LiveReports
from tapewire.connectors.orders.keys import KeyStore
from tapewire.core import metrics
from tapewire.core.errors import KafkaRuntimeError
from tapewire.core.kafka import client_config, producer_config
from tapewire.core.records import Record
from tapewire.core.settings import load_settings
from tapewire.runtime.kafka_io import committed_offsets, read_to_end
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.streams.agents.app import create_app, serve
from tapewire.streams.agents.router import register_router
from tapewire.streams.oms.reports import Reports
from tapewire.streams.risk import RiskConfig
from tapewire.streams.router.recovery import RecoveredOrder, SeenApproval, plan_recovery
from tapewire.streams.router.stage import rejected_event
from tapewire.streams.stages.base import OutMsg
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.trading.config import TradingConfig

log = logging.getLogger("tapewire.router")
T = TypeVar("T")
READY_LINE = "router ready"
"""Printed on stdout (flushed) once recovery is done and the agent is started."""


class VenueLoop:
    """An event loop on its own daemon thread (the ccxt venue lives there)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="venue-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
        """Run ``coro`` on the loop and wait for its result (at most ``timeout_s``)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> concurrent.futures.Future[None]:
        """Start ``coro`` on the loop in the background (cancel the returned future)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        """Stop the loop and join its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


class CcxtRouterVenue:
    """The router's synchronous ``Venue`` (and ``Reconciling``) over a :class:`CcxtVenue`.

    Requests of another account than the venue's are REJECTED (one key = one account).
    """

    def __init__(self, venue: CcxtVenue, loop: VenueLoop, call_timeout_s: float = 120.0) -> None:
        self.venue = venue
        self.name = venue.venue
        self.loop = loop
        self.call_timeout_s = call_timeout_s

    def _run(self, coro: Coroutine[Any, Any, LiveReports]) -> LiveReports:
        return self.loop.run(coro, self.call_timeout_s)

    def _other_account(self, request: Record, now_ns: int) -> Reports | None:
        if request["account"] == self.venue.account:
            return None
        text = f"account {request['account']!r} has no key on {self.name}"
        return Reports([rejected_event(request, now_ns, text, "noaccount")], [])

    def submit(self, request: Record, now_ns: int) -> Reports:
        """NEW or REPLACE."""
        return self._other_account(request, now_ns) or self._run(self.venue.submit(request))

    def cancel(self, request: Record, now_ns: int) -> Reports:
        """CANCEL by client order id."""
        return self._other_account(request, now_ns) or self._run(self.venue.submit(request))

    def cancel_all(self, request: Record, now_ns: int) -> Reports:
        """CANCEL_ALL of the venue's account (others: nothing to do here)."""
        if request["account"] != self.venue.account:
            return Reports([], [])
        instrument = request.get("instrument")
        return self._run(self.venue.cancel_all([instrument] if instrument else None))

    def on_trade(self, trade: Record) -> Reports:
        """A public trade (``md.trades``): emulated stops it triggers are sent (the hop to
        the venue's loop happens only when a stop of the instrument is armed)."""
        if not self.venue.note_trade(trade):
            return Reports([], [])
        return self._run(self.venue.on_trade(trade))

    def on_book(self, update: Record) -> Reports:
        """A book update: nothing to do (emulated stops trigger on trades)."""
        return Reports([], [])

    def reconcile(self, orders: Sequence[RecoveredOrder], now_ns: int) -> Reports:
        """Take on the orders of the venue's account, then look each up by client order id
        (``CcxtVenue.reconcile``: found -> events; not found -> quarantined + alert)."""
        mine = [o for o in orders if o.account == self.venue.account]
        for order in orders:
            if order.account != self.venue.account:
                log.error(
                    "%s: order %s of account %s has no key here; not reconciled",
                    self.name,
                    order.client_order_id,
                    order.account,
                )
        for order in mine:
            self.venue.restore(order)
        return self._run(self.venue.reconcile([o.client_order_id for o in mine]))


class KafkaJournal:
    """The router's journal: produce and wait for every acknowledgement (``acks=all``,
    idempotent); raise if any message is not delivered in ``timeout_s``."""

    def __init__(self, bootstrap: str, timeout_s: float = 30.0) -> None:
        config = producer_config(bootstrap)
        self.producer = Producer(config)
        self.timeout_s = timeout_s

    def __call__(self, out: Sequence[OutMsg]) -> None:
        if not out:
            return
        errors: list[str] = []

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                errors.append(str(err))

        for topic, key, value, _ in out:
            self.producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
        remaining = self.producer.flush(self.timeout_s)
        if remaining or errors:
            raise KafkaRuntimeError(
                f"router journal: {remaining} message(s) undelivered, errors {errors[:3]}"
            )


def _committed(bootstrap: str, group: str, topic: str, timeout_s: float) -> dict[int, int]:
    """The committed offsets of ``group`` on ``topic`` (partition -> next offset)."""
    consumer = Consumer(client_config(bootstrap) | {"group.id": group})
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s).topics[topic]
        wanted = [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        done = committed_offsets(consumer, wanted, timeout_s)
        return {tp.partition: tp.offset for tp in done}
    finally:
        consumer.close()


def read_history(
    bootstrap: str, config: StreamsConfig, codec: Codec, timeout_s: float = 60.0
) -> tuple[list[dict[str, Any]], list[SeenApproval]]:
    """``oms.events`` (decoded, topic order per partition) and ``oms.approved`` marked as
    processed (before the router group's committed offset) or not."""
    name = config.topics.name
    events = [
        codec.decode("oms.events", value)
        for r in read_to_end(bootstrap, name("oms.events"), timeout_s)
        if (value := r.value) is not None
    ]
    committed = _committed(bootstrap, config.app_id, name("oms.approved"), timeout_s)
    approvals = []
    for record in read_to_end(bootstrap, name("oms.approved"), timeout_s):
        if record.value is None:
            continue
        try:
            decision = codec.decode("oms.approved", record.value)
        except Exception:
            log.warning(
                "oms.approved %d@%d does not decode; skipped", record.partition, record.offset
            )
            continue
        seen = record.offset < committed.get(record.partition, -1)
        approvals.append(SeenApproval(decision, seen))
    return events, approvals


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command line of the router process."""
    p = argparse.ArgumentParser(prog="python -m tapewire.cli.router_main")
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    p.add_argument("--keystore", required=True, help="key store file (passphrase from env)")
    p.add_argument("--venue", required=True, help="ccxt exchange id, e.g. binance")
    p.add_argument("--account", required=True, help="account (key) in the key store")
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


async def _run_router(
    args: argparse.Namespace,
    config: StreamsConfig,
    venue: CcxtRouterVenue,
    journal: KafkaJournal,
    stop: threading.Event,
) -> None:
    settings = load_settings()
    app = create_app(settings, config, agents=(), bootstrap=args.bootstrap)
    app.conf.broker_session_timeout = args.session_timeout_s
    app.conf.broker_heartbeat_interval = min(3.0, args.session_timeout_s / 3)
    stage = register_router(app, venues=[venue], journal=journal)
    events, approvals = await asyncio.to_thread(read_history, args.bootstrap, config, app.codec)
    plan = plan_recovery(events, approvals, set(stage.venues))
    log.info(
        "recovery: %d event(s), %d approval(s); %d order(s) to reconcile, %d final, "
        "%d client order id(s) never to send again",
        len(events),
        len(approvals),
        len(plan.reconcile),
        plan.final,
        len(plan.known),
    )
    out = await asyncio.to_thread(stage.recover, plan, time.time_ns())
    await asyncio.to_thread(journal, out)
    log.info("recovery: %d message(s) published; starting the router agent", len(out))
    pushed = KafkaJournal(args.bootstrap)  # its own producer: used from the venue's loop

    async def publish(reports: LiveReports) -> None:
        await asyncio.to_thread(pushed, stage.encode(reports))

    watcher = venue.loop.spawn(
        venue.venue.watch_reports(publish, poll_interval_s=args.poll_interval_s)
    )
    log.info("venue reports: %s", "watch_orders" if venue.venue.can_watch_orders else "polling")

    async def wait_stop() -> None:
        print(READY_LINE, flush=True)
        while not stop.is_set():
            await asyncio.sleep(0.05)

    try:
        await serve(app, wait_stop)
    finally:
        watcher.cancel()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the router until SIGTERM/SIGINT; see the module docstring."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    config = StreamsConfig(
        app_id=args.app_id,
        topic_prefix=args.topic_prefix,
        partitions=args.partitions,
        batch_within_s=0.02,
        trading=TradingConfig(risk=RiskConfig(accounts={})),  # the router does not use risk
    )
    declare_topics(args.bootstrap, config)
    credentials = KeyStore.open(args.keystore).get(args.venue, args.account)
    venue_config = CcxtVenueConfig(
        venue=args.venue,
        account=args.account,
        sandbox=args.sandbox,
        rest_base_url=args.rest_url,
        ws_base_url=args.ws_url,
        watch_orders=not args.no_watch_orders,
        timeout_ms=args.timeout_ms,
        reconcile_attempts=args.reconcile_attempts,
        reconcile_delay_s=args.reconcile_delay_s,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    settings = load_settings()
    port = settings.metrics_port if args.metrics_port is None else args.metrics_port
    endpoint = metrics.serve_metrics(settings.metrics_host, port)
    loop = VenueLoop()
    venue = CcxtVenue(venue_config, credentials)
    try:
        loop.run(venue.start(), 120.0)
        adapter = CcxtRouterVenue(venue, loop)
        journal = KafkaJournal(args.bootstrap)
        asyncio.run(_run_router(args, config, adapter, journal, stop))
    finally:
        loop.run(venue.close(), 30.0)
        loop.stop()
        if endpoint is not None:
            endpoint.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
