"""The Faust worker of the stream processors: app factory, topic declaration, in-process run.

Faust carries raw bytes (``value_serializer="raw"``); the agents decode and encode with
:class:`tapewire.schemas.codec.Codec` once per batch. Topics are created here with the admin client
(the local broker runs with ``auto.create.topics.enable=false``), and Faust is told not to
declare anything itself. See ``docs/streams.md``.

    settings = load_settings()
    run_worker(settings, StreamsConfig(), stop_event=threading.Event())   # blocks
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, cast

import faust

from tapewire.core.errors import ConfigError
from tapewire.core.kafka import KafkaSecurity, process_security
from tapewire.core.settings import Settings
from tapewire.runtime.topics import bootstrap_of, declare_topics
from tapewire.schemas.codec import Codec
from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.agents.registry import register
from tapewire.streams.stages.config import AGENTS, DEFAULT_AGENTS, StreamsConfig

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    config: StreamsConfig | None = None,
    *,
    agents: Sequence[str] = DEFAULT_AGENTS,
    bootstrap: str | None = None,
    codec: Codec | None = None,
) -> TapewireApp:
    """A Faust app with the chosen agents registered (create it inside the loop it runs on)."""
    config = config or StreamsConfig()
    unknown = sorted(set(agents) - set(AGENTS))
    if unknown:
        raise ConfigError(
            f"unknown agent(s) {unknown}", field="agents", value=list(agents), hint=f"{AGENTS}"
        )
    servers = bootstrap_of(settings, bootstrap)
    # Faust keeps its state in <datadir>; by default <app id>-data in the working directory
    datadir = settings.data_dir / "faust" / f"{config.app_id}-data"
    datadir.parent.mkdir(parents=True, exist_ok=True)
    app = TapewireApp(
        config.app_id,
        datadir=datadir,
        broker=[f"kafka://{s.strip()}" for s in servers.split(",")],
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        web_enabled=config.web_port is not None,
        web_port=config.web_port or 6066,
        web_host="127.0.0.1",
        topic_partitions=config.partitions,
        topic_replication_factor=config.replication_factor,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset=config.auto_offset_reset,
        producer_acks=-1,
        stream_buffer_maxsize=config.stream_buffer_maxsize,
        broker_commit_interval=config.commit_interval_s,
        autodiscover=False,
        broker_credentials=broker_credentials(process_security()),
    )
    app.streams_config = config
    app.codec = codec or Codec.from_settings(settings)
    app.executors = []
    app.bootstrap = servers
    register(app, agents)
    return app


def broker_credentials(security: KafkaSecurity | None) -> Any:
    """Faust's ``broker_credentials`` matching the process's confluent-kafka settings
    (:func:`tapewire.core.kafka.use_security`): None for plaintext, ``SSLCredentials`` for
    TLS alone, ``SASLCredentials`` (SCRAM, with a TLS context for SASL_SSL) otherwise."""
    if security is None or security.protocol == "PLAINTEXT":
        return None
    context = None
    if security.tls:
        cafile = None if security.ca_file is None else str(security.ca_file)
        context = ssl.create_default_context(purpose=ssl.Purpose.SERVER_AUTH, cafile=cafile)
    if not security.sasl:
        return faust.SSLCredentials(context)
    assert security.password is not None
    return faust.SASLCredentials(
        username=security.username,
        password=security.password.get_secret_value(),
        ssl_context=context,
        mechanism=security.mechanism,
    )


async def serve(app: TapewireApp, stop: Callable[[], Awaitable[None]]) -> None:
    """Start ``app`` in the running loop, wait for ``stop()`` to return, stop the app."""
    await app.start()
    try:
        await stop()
    finally:
        await app.stop()
        for executor in app.executors:
            executor.shutdown(wait=True)


def run_worker(
    settings: Settings,
    config: StreamsConfig | None = None,
    *,
    agents: Sequence[str] = DEFAULT_AGENTS,
    stop_event: threading.Event | None = None,
    bootstrap: str | None = None,
    ready: threading.Event | None = None,
    declare: bool = True,
) -> None:
    """Run a worker in this thread, with its own event loop, until ``stop_event`` is set.

    Blocks; call it from a dedicated thread (``threading.Thread(target=run_worker, ...)``) or
    as the main function of a subprocess. ``ready`` is set once the agents are started.
    """
    config = config or StreamsConfig()
    servers = bootstrap_of(settings, bootstrap)
    if declare:
        declare_topics(servers, config)
    stop_event = stop_event or threading.Event()

    async def main() -> None:
        app = create_app(settings, config, agents=agents, bootstrap=servers)

        async def wait_stop() -> None:
            if ready is not None:
                ready.set()
            while not stop_event.is_set():
                await asyncio.sleep(0.05)

        await serve(app, wait_stop)

    asyncio.run(main())


def agent_names(app: TapewireApp) -> Iterable[str]:
    """Names of the registered agents."""
    return cast(Iterable[str], app.agents.keys())
