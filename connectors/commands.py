"""``tapewire record``, ``tapewire replay`` and ``tapewire capture-sim``: typer command
functions, registered on the main CLI by :mod:`tapewire.cli`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from tapewire.core.errors import ConfigError

console = Console(stderr=True)

# StreamsConfig.partitions (tapewire.streams.stages.config): used only to create md.raw
_DEFAULT_PARTITIONS = 6


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _ensure_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Create ``topic`` with ``partitions`` unless it exists (an existing one is kept)."""
    from confluent_kafka.admin import AdminClient

    from tapewire.core.kafka import client_config
    from tapewire.runtime.kafka_io import create_topic

    if topic in AdminClient(client_config(bootstrap)).list_topics(timeout=15).topics:
        return
    create_topic(bootstrap, topic, partitions=partitions, exist_ok=True)


def record_command(
    exchange: Annotated[str, typer.Argument(help="ccxt.pro exchange id, e.g. binance.")],
    symbols: Annotated[
        str, typer.Option("--symbols", "-s", help="Comma-separated ccxt symbols.")
    ] = "BTC/USDT",
    channels: Annotated[
        str, typer.Option("--channels", help="Comma-separated: trades, book, bbo.")
    ] = "trades,book,bbo",
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Capture file to write (.jsonl.gz).")
    ] = Path("capture.jsonl.gz"),
    duration: Annotated[
        float | None, typer.Option(min=0.1, help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
    publish: Annotated[
        bool, typer.Option("--publish/--no-publish", help="Also publish to md.raw on Kafka.")
    ] = False,
    topic: Annotated[str, typer.Option(help="Kafka topic with --publish.")] = "md.raw",
    ws_url: Annotated[
        str | None, typer.Option(help="Override the exchange's websocket URL (fake, testnet).")
    ] = None,
    rest_url: Annotated[
        str | None, typer.Option(help="Override scheme://host:port of its REST URLs.")
    ] = None,
    stale_after: Annotated[
        float, typer.Option(min=0.1, help="Reconnect after this many seconds without a frame.")
    ] = 30.0,
) -> None:
    """Record what a live ccxt.pro connector receives (exact frames) to a capture file."""
    from tapewire.connectors.capture import CaptureWriter
    from tapewire.connectors.live import LiveConfig, LiveConnector
    from tapewire.connectors.live.sink import KafkaRawSink, RawRecord
    from tapewire.core.settings import load_settings
    from tapewire.runtime.kafka_resolve import kafka_for
    from tapewire.schemas.codec import Codec

    config = LiveConfig.load(
        exchange=exchange,
        symbols=_split(symbols),
        channels=_split(channels),
        ws_url=ws_url,
        rest_base_url=rest_url,
        stale_after_s=stale_after,
    )
    settings = load_settings()
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(CaptureWriter(out, source=f"live:{exchange}"))
        kafka: KafkaRawSink | None = None
        if publish:
            target = stack.enter_context(kafka_for(settings))
            _ensure_topic(target.bootstrap_servers, topic, _DEFAULT_PARTITIONS)
            kafka = stack.enter_context(
                KafkaRawSink(
                    target.bootstrap_servers, topic=topic, codec=Codec.from_settings(settings)
                )
            )

        def sink(record: RawRecord) -> None:
            writer(record)
            if kafka is not None:
                kafka(record)

        connector = LiveConnector(config, sink)
        started = time.monotonic()

        async def run() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signal.SIGINT, stop.set)
                loop.add_signal_handler(signal.SIGTERM, stop.set)
            if duration is not None:
                loop.call_later(duration, stop.set)
            task = asyncio.create_task(connector.run(stop))
            with console.status("connecting…") as status:
                while not task.done():
                    await asyncio.wait({task}, timeout=0.5)
                    status.update(
                        f"{exchange}: {writer.count} frame(s) in {time.monotonic() - started:.0f}s,"
                        f" {max(0, connector.session_count - 1)} reconnect(s)"
                    )
            await task

        asyncio.run(run())
    console.print(f"recorded {writer.count} frame(s) to {out}")


def replay_command(
    file: Annotated[Path, typer.Argument(help="Capture file written by `tapewire record`.")],
    speed: Annotated[
        str, typer.Option("--speed", help="1 = original pace, 10 = ten times faster, max.")
    ] = "1",
    topic: Annotated[str, typer.Option(help="Kafka topic to publish to.")] = "md.raw",
    max_rate: Annotated[
        float, typer.Option(min=1.0, help="Never publish more than this many frames/s.")
    ] = 100_000.0,
    mark_replay: Annotated[
        bool,
        typer.Option(help="Set origin=REPLAY (default: publish the recorded frames unchanged)."),
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after this many frames.")] = None,
) -> None:
    """Publish a capture file to md.raw at its original pace, N times faster, or as fast as
    allowed."""
    from tapewire.connectors.capture import parse_speed, read_header, replay_capture
    from tapewire.connectors.live.sink import KafkaRawSink
    from tapewire.core.settings import load_settings
    from tapewire.runtime.kafka_resolve import kafka_for
    from tapewire.schemas.codec import Codec

    factor = parse_speed(speed)
    if not file.is_file():
        raise ConfigError(
            f"capture file {str(file)!r} does not exist", field="file", value=str(file)
        )
    header = read_header(file)
    settings = load_settings()
    with kafka_for(settings) as target:
        _ensure_topic(target.bootstrap_servers, topic, _DEFAULT_PARTITIONS)
        with (
            KafkaRawSink(
                target.bootstrap_servers, topic=topic, codec=Codec.from_settings(settings)
            ) as sink,
            Progress(
                TextColumn("[bold]replay[/bold] {task.fields[frames]} frame(s)"),
                BarColumn(),
                DownloadColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress,
        ):
            task = progress.add_task("replay", total=file.stat().st_size, frames=0)

            def report(frames: int, done: int, total: int) -> None:
                progress.update(task, completed=done, total=total, frames=frames)

            stats = replay_capture(
                file,
                sink,
                speed=factor,
                max_rate=max_rate,
                mark_replay=mark_replay,
                limit=limit,
                progress=report,
            )
    console.print(
        f"replayed {stats.frames} frame(s) of {header.source or file} to {topic} in "
        f"{stats.elapsed_s:.1f}s (capture spans {stats.capture_span_s:.1f}s)"
    )


def capture_sim_command(
    out: Annotated[Path, typer.Argument(help="Capture file to write (.jsonl.gz).")],
    frames: Annotated[int, typer.Option(min=1, help="Frames to simulate.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 0,
) -> None:
    """Write a seeded simulator run as a capture file (for `tapewire replay`, demos, benches)."""
    from tapewire.connectors.capture import simulator_capture
    from tapewire.connectors.simulator import SimConfig

    count = simulator_capture(out, SimConfig(seed=seed, n_frames=frames))
    console.print(f"wrote {count} simulated frame(s) to {out}")
