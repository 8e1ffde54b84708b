"""The ccxt router: one live venue (and its accounts) as a restart-safe router process.

Shared by ``tapewire run router --config FILE`` (one process per ``[trading.ccxt.<venue>]``,
:func:`tapewire.deploy.roles.run_router`) and ``python -m tapewire.cli.router_main``.
:func:`run_ccxt_router` does, before the router consumes a single approval
(``docs/trading.md``, "Restart and reconciliation"):

1. read every ``oms.events`` record and the ``oms.approved`` records, each marked as
   processed or not by the router group's committed offset;
2. :func:`tapewire.streams.router.recovery.plan_recovery`: the orders to reconcile and the
   client order ids never to send again;
3. reconcile those orders with the venue by client order id (an order it does not know
   is quarantined: ``ORDER_QUARANTINED`` alert, never re-sent) and publish the answers;
4. start the Faust router agent with a journal: every NEW/REPLACE is recorded on
   ``oms.events`` (``PENDING_NEW`` "sending", acknowledged by the broker) before the
   venue is called;
5. start :meth:`CcxtVenue.watch_reports` of every account on the venue's loop: the
   venue's own order updates (ccxt.pro ``watch_orders``, else polling) go to
   ``oms.events``/``oms.fills``.

The router reads every ``oms.approved`` record and acts on those of its venue only: the
trade role's router executes the paper venues, and rejects (with an alert) a venue no
router executes. It feeds the venue ``md.trades``: emulated stops (what the venue's rules
do not offer natively) trigger on them.

The ccxt venue is async and keeps its HTTP session on one event loop: it runs on its
own loop thread, and :class:`CcxtRouterVenue` is the router's synchronous
:class:`tapewire.streams.router.venue.Venue` over it; :class:`AccountsVenue` dispatches a
venue's requests to the account's key (one :class:`CcxtVenue` per account).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from confluent_kafka import (
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)
from pydantic import SecretStr

from tapewire.connectors.orders.ccxt_venue import CcxtVenue, CcxtVenueConfig, LiveReports
from tapewire.connectors.orders.keys import KeyStore
from tapewire.core.errors import KafkaRuntimeError
from tapewire.core.kafka import client_config, producer_config
from tapewire.core.records import Record
from tapewire.core.settings import Settings
from tapewire.runtime.kafka_io import committed_offsets, read_to_end
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.streams.agents.app import create_app, serve
from tapewire.streams.agents.router import register_router
from tapewire.streams.oms.reports import Reports
from tapewire.streams.router.recovery import RecoveredOrder, SeenApproval, plan_recovery
from tapewire.streams.router.stage import rejected_event
from tapewire.streams.stages.base import OutMsg
from tapewire.streams.stages.config import StreamsConfig

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


class AccountsVenue:
    """One venue's ``Venue`` over several accounts (one :class:`CcxtRouterVenue`, that is
    one key, each): a request goes to its account's; another account is REJECTED."""

    def __init__(self, venues: Sequence[CcxtRouterVenue]) -> None:
        if not venues or len({v.name for v in venues}) != 1:
            raise ValueError("AccountsVenue: one or more accounts of one venue")
        self.name = venues[0].name
        self.by_account = {v.venue.account: v for v in venues}

    def _route(
        self, request: Record, now_ns: int, call: Callable[[CcxtRouterVenue], Reports]
    ) -> Reports:
        venue = self.by_account.get(request["account"])
        if venue is not None:
            return call(venue)
        text = f"account {request['account']!r} has no key on {self.name}"
        return Reports([rejected_event(request, now_ns, text, "noaccount")], [])

    def submit(self, request: Record, now_ns: int) -> Reports:
        """NEW or REPLACE on the account's key."""
        return self._route(request, now_ns, lambda v: v.submit(request, now_ns))

    def cancel(self, request: Record, now_ns: int) -> Reports:
        """CANCEL on the account's key."""
        return self._route(request, now_ns, lambda v: v.cancel(request, now_ns))

    def cancel_all(self, request: Record, now_ns: int) -> Reports:
        """CANCEL_ALL of the account (another account has nothing here)."""
        venue = self.by_account.get(request["account"])
        return venue.cancel_all(request, now_ns) if venue is not None else Reports([], [])

    def on_trade(self, trade: Record) -> Reports:
        """A public trade: every account's emulated stops."""
        out = LiveReports()
        for venue in self.by_account.values():
            out.extend(venue.on_trade(trade))
        return out

    def on_book(self, update: Record) -> Reports:
        """A book update: nothing to do (emulated stops trigger on trades)."""
        return Reports([], [])

    def reconcile(self, orders: Sequence[RecoveredOrder], now_ns: int) -> Reports:
        """Each account's orders with its key; orders of an account without one are logged."""
        out = LiveReports()
        for order in orders:
            if order.account not in self.by_account:
                log.error(
                    "%s: order %s of account %s has no key here; not reconciled",
                    self.name,
                    order.client_order_id,
                    order.account,
                )
        for account, venue in self.by_account.items():
            mine = [o for o in orders if o.account == account]
            if mine:
                out.extend(venue.reconcile(mine, now_ns))
        return out


@dataclass(frozen=True)
class RouterSpec:
    """What one ccxt router process runs: a venue, its accounts' keys, Kafka, topics."""

    bootstrap: str
    streams: StreamsConfig
    """Topics, prefix, partitions; ``app_id`` is the router's consumer group."""
    venue: str
    accounts: tuple[str, ...]
    keystore: Path
    passphrase: SecretStr | None = None
    """None: ``$TAPEWIRE_KEYSTORE_PASSPHRASE``, else a prompt on a terminal."""
    sandbox: bool = False
    rest_url: str | None = None
    ws_url: str | None = None
    watch_orders: bool = True
    poll_interval_s: float = 1.0
    timeout_ms: int = 10_000
    reconcile_attempts: int = 3
    reconcile_delay_s: float = 0.5
    session_timeout_s: float = 10.0
    options: dict[str, Any] = field(default_factory=dict)

    def venue_config(self, account: str) -> CcxtVenueConfig:
        """The :class:`CcxtVenueConfig` of ``account`` on this venue."""
        return CcxtVenueConfig(
            venue=self.venue,
            account=account,
            sandbox=self.sandbox,
            rest_base_url=self.rest_url,
            ws_base_url=self.ws_url,
            watch_orders=self.watch_orders,
            timeout_ms=self.timeout_ms,
            reconcile_attempts=self.reconcile_attempts,
            reconcile_delay_s=self.reconcile_delay_s,
            options=dict(self.options),
        )


def run_ccxt_router(spec: RouterSpec, settings: Settings, stop: threading.Event) -> None:
    """Run the router of ``spec`` until ``stop``: keys read, venue(s) started, recovery,
    then the agent and the venues' own reports (module docstring)."""
    declare_topics(spec.bootstrap, spec.streams)
    store = KeyStore.open(spec.keystore, spec.passphrase)
    credentials = {account: store.get(spec.venue, account) for account in spec.accounts}
    del store
    loop = VenueLoop()
    venues = [CcxtVenue(spec.venue_config(a), credentials[a]) for a in spec.accounts]
    try:
        for venue in venues:
            loop.run(venue.start(), 120.0)
        adapters = [CcxtRouterVenue(venue, loop) for venue in venues]
        journal = KafkaJournal(spec.bootstrap)
        asyncio.run(_run_router(spec, settings, adapters, journal, stop))
    finally:
        for venue in venues:
            loop.run(venue.close(), 30.0)
        loop.stop()


async def _run_router(
    spec: RouterSpec,
    settings: Settings,
    adapters: Sequence[CcxtRouterVenue],
    journal: KafkaJournal,
    stop: threading.Event,
) -> None:
    config = spec.streams
    app = create_app(settings, config, agents=(), bootstrap=spec.bootstrap)
    app.conf.broker_session_timeout = spec.session_timeout_s
    app.conf.broker_heartbeat_interval = min(3.0, spec.session_timeout_s / 3)
    venue = AccountsVenue(adapters)
    # every approval of another venue belongs to another router (the trade role's
    # router rejects those of a venue nobody executes)
    stage = register_router(
        app, venues=[venue], journal=journal, routed_elsewhere=lambda v: v != venue.name
    )
    events, approvals = await asyncio.to_thread(read_history, spec.bootstrap, config, app.codec)
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
    pushed = KafkaJournal(spec.bootstrap)  # its own producer: used from the venue's loop

    async def publish(reports: LiveReports) -> None:
        await asyncio.to_thread(pushed, stage.encode(reports))

    watchers = [
        a.loop.spawn(a.venue.watch_reports(publish, poll_interval_s=spec.poll_interval_s))
        for a in adapters
    ]
    for a in adapters:
        log.info(
            "venue reports of %s/%s: %s",
            a.name,
            a.venue.account,
            "watch_orders" if a.venue.can_watch_orders else "polling",
        )

    async def wait_stop() -> None:
        print(READY_LINE, flush=True)
        while not stop.is_set():
            await asyncio.sleep(0.05)

    try:
        await serve(app, wait_stop)
    finally:
        for watcher in watchers:
            watcher.cancel()
