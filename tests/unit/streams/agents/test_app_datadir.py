"""A Faust worker keeps its state under Tapewire's data directory, not in the directory
the command was started from (Faust's default: ``<app id>-data`` in the working
directory)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tapewire.core.settings import Settings
from tapewire.streams.agents.app import create_app
from tapewire.streams.stages.config import StreamsConfig


def test_faust_state_lives_under_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    data = tmp_path / "data"
    settings = Settings(data_dir=data, kafka_bootstrap_servers="127.0.0.1:1")

    async def make() -> Path:
        app = create_app(settings, StreamsConfig(app_id="desk-normalize"))
        datadir = Path(app.conf.datadir)
        app.conf.datadir.mkdir(exist_ok=True)  # what Faust does when a worker starts
        return datadir

    datadir = asyncio.run(make())
    assert datadir == data / "faust" / "desk-normalize-data"
    assert datadir.is_dir()
    assert os.listdir(cwd) == []
