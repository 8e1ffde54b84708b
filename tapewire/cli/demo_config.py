"""The deployment file ``tapewire demo`` runs: ``examples/demo.toml`` with the demo's options.

The demo is ``tapewire run all`` over that file: the options (seed, rate, frame limit,
topology) and the run's Kafka, ClickHouse and metrics port are written into a copy under
``<data_dir>/demo/``, which every role process reads (``--config``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w

from tapewire.core.errors import ConfigError
from tapewire.core.settings import Settings
from tapewire.deploy.config import DeployConfig, load_config, read_document

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "demo.toml"
"""``examples/demo.toml`` of the checkout Tapewire runs from."""
TOPOLOGIES = ("fused", "agents")
NORMALIZE_SHELL = {"fused": "hotpath", "agents": "agents"}
"""The shell of the ``normalize`` role per topology (trading always runs on the hot path)."""


def demo_document(
    base: dict[str, Any],
    settings: Settings,
    bootstrap: str,
    *,
    seed: int,
    rate: int,
    max_frames: int | None,
    topology: str,
) -> dict[str, Any]:
    """``base`` (the parsed ``examples/demo.toml``) with the demo's options applied."""
    data = {key: dict(value) if isinstance(value, dict) else value for key, value in base.items()}
    data["kafka"] = {**data.get("kafka", {}), "bootstrap": bootstrap}
    clickhouse = data.get("clickhouse", {})
    data["clickhouse"] = {"url": settings.resolved_clickhouse_url, **clickhouse}
    if settings.metrics_port:
        data["metrics"] = {
            **data.get("metrics", {}),
            "port": settings.metrics_port,
            "host": settings.metrics_host,
        }
    else:  # 0 turns /metrics off, in every role
        data.pop("metrics", None)
    source = dict(data["connector"]["source"]) | {"seed": seed, "rate": rate}
    if max_frames is not None:
        source["max_frames"] = max_frames
    data["connector"] = {**data["connector"], "source": source}
    data["normalize"] = {**data.get("normalize", {}), "shell": NORMALIZE_SHELL[topology]}
    return data


def write_demo_config(
    settings: Settings,
    bootstrap: str,
    *,
    seed: int,
    rate: int,
    max_frames: int | None,
    topology: str,
    base: Path = EXAMPLE,
) -> tuple[Path, DeployConfig]:
    """Write the demo's deployment file under ``<data_dir>/demo/`` and return it, validated."""
    if not base.is_file():
        raise ConfigError(
            f"the demo's deployment file {base} is missing",
            field="examples/demo.toml",
            value=str(base),
            hint="run tapewire demo from a Tapewire checkout (pip install -e .), or run "
            "tapewire run all --config <your file>",
        )
    document = demo_document(
        read_document(base),
        settings,
        bootstrap,
        seed=seed,
        rate=rate,
        max_frames=max_frames,
        topology=topology,
    )
    folder = (settings.data_dir / "demo").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.toml"
    header = f"# written by tapewire demo from {base}: the run's options applied\n"
    path.write_text(header + tomli_w.dumps(document), encoding="utf-8")
    return path, load_config(path)
