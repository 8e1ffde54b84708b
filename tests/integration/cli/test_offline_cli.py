"""``tapewire import cryptofeed`` then ``tapewire normalize``, run as a user would (a
subprocess), on cryptofeed's real recorded Binance session. No Kafka, no ClickHouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.factories.cryptofeed_files import write_binance


def _tapewire(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-m", "tapewire.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_then_normalize(tmp_path: Path) -> None:
    files = [p.name for p in write_binance(tmp_path)]
    done = _tapewire("import", "cryptofeed", *files, "--out", "binance.jsonl.gz", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "270 frames from 3 file(s) -> binance.jsonl.gz" in done.stdout
    done = _tapewire("normalize", "binance.jsonl.gz", "--out", "out", "-f", "parquet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = "270 frames -> md.trades 2, md.book 176, md.quotes 84, md.coverage 8, dlq.normalize 0"
    assert f"{summary}, md.derivatives 0" in done.stdout
    assert "NKN-USDT-SPOT" in done.stdout
    assert "0.35270000" in done.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["venues"]["binance"]["book_states"] == {"LIVE": 4}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "dlq.normalize.parquet",
        "md.book.parquet",
        "md.coverage.parquet",
        "md.derivatives.parquet",
        "md.quotes.parquet",
        "md.trades.parquet",
        "summary.json",
    ]


def test_a_cryptofeed_file_given_to_normalize_says_what_to_run(tmp_path: Path) -> None:
    write_binance(tmp_path)
    done = _tapewire("normalize", "BINANCE.ws.1.0", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: BINANCE.ws.1.0: a cryptofeed raw-data file")
    assert "tapewire import cryptofeed" in done.stderr
    assert not (tmp_path / "normalized").exists()
