"""``[normalize] fuse``: aggregate stages in the lone normalize hot-path process; refused
(naming the key, the value and what to do) wherever the state would be split or a
fused NBBO would miss quotes; the aggregate role keeps only what is not fused."""

from __future__ import annotations

import threading
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tapewire.cli.demo import _stream_groups
from tapewire.core.errors import ConfigError
from tapewire.core.settings import load_settings
from tapewire.deploy.acl import role_grants
from tapewire.deploy.config import parse_config
from tapewire.deploy.roles import run_aggregate

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _demo(**normalize: Any) -> dict[str, Any]:
    data = tomllib.loads((EXAMPLES / "demo.toml").read_text())
    data["normalize"] = {"shell": "hotpath", **normalize}
    return data


def test_default_fuses_nothing_and_the_aggregate_role_runs_every_agent() -> None:
    config = parse_config(_demo())
    assert config.fused() == ()
    assert config.aggregate_agents() == ("bars", "nbbo", "depth")
    assert "aggregate" in config.processes()


def test_the_aggregate_role_keeps_what_is_not_fused() -> None:
    config = parse_config(_demo(fuse=["bars"]))
    assert config.fused() == ("bars",)
    assert config.aggregate_agents() == ("nbbo", "depth")
    assert config.processes().count("aggregate") == 1


def test_run_all_starts_no_aggregate_process_when_everything_is_fused() -> None:
    config = parse_config(_demo(fuse=["bars", "nbbo", "depth"]))
    assert config.aggregate_agents() == ()
    assert config.processes() == ("connector", "normalize", "trade", "sink")
    assert "aggregate" in config.roles()  # still configured: [aggregate] sets the bars
    assert config.metrics_ports()  # ports resolve without an aggregate process
    # ...unless the BBO from books is still the aggregate role's
    data = _demo(fuse=["bars", "depth"])
    data["aggregate"]["bbo_venues"] = ["okx"]
    assert parse_config(data).aggregate_agents() == ("nbbo", "bbo")


@pytest.mark.parametrize(
    ("normalize", "aggregate", "text", "hint"),
    [
        ({"shell": "agents", "fuse": ["bars"]}, {}, "shell = 'hotpath'", "shell = 'hotpath'"),
        ({"processes": 2, "fuse": ["bars"]}, {}, "processes = 1", "processes = 1"),
        ({"fuse": ["nbbo"]}, {"bbo_venues": ["okx"]}, "bbo_venues", "leave 'nbbo' out"),
    ],
)
def test_fuse_is_refused_where_state_would_split(
    normalize: dict[str, Any], aggregate: dict[str, Any], text: str, hint: str
) -> None:
    data = _demo(**normalize)
    data["aggregate"].update(aggregate)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "desk.toml")
    assert caught.value.field == "normalize.fuse"
    assert caught.value.value == normalize["fuse"]
    assert text in str(caught.value)
    assert hint in (caught.value.hint or "")


@pytest.mark.parametrize("fuse", [["bars", "bars"], ["sink"]])
def test_unknown_or_repeated_stages_name_the_key(fuse: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_demo(fuse=fuse))
    assert caught.value.field.startswith("normalize.fuse")


def test_the_normalize_user_may_write_what_its_fused_stages_write() -> None:
    plain = {g.name for g in role_grants(parse_config(_demo()), "normalize")}
    config = parse_config(_demo(fuse=["bars", "nbbo"]))
    written = {g.name for g in role_grants(config, "normalize") if g.operation == "WRITE"}
    assert {"md.bars.", "md.nbbo", "dlq.aggregate"} <= written
    assert "md.depth" not in written | plain


def test_an_aggregate_process_with_nothing_left_idles_until_stopped() -> None:
    config = parse_config(_demo(fuse=["bars", "nbbo", "depth"]))
    stop = threading.Event()
    stop.set()  # no Kafka is touched: it returns as soon as it is told to stop
    run_aggregate(config, load_settings(), "127.0.0.1:1", stop)


def test_the_demo_waits_only_for_the_groups_of_processes_that_run() -> None:
    fused = parse_config(_demo(fuse=["bars", "nbbo", "depth"]))
    assert _stream_groups(fused) == ["tapewire-normalize-hotpath"]
    partly = parse_config(_demo(fuse=["bars"]))
    assert _stream_groups(partly) == ["tapewire-normalize-hotpath", "tapewire-aggregate"]
