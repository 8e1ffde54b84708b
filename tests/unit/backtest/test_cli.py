"""``tapewire backtest`` usage errors: one line naming the option, exit code 2, before
anything is read."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tapewire.cli.main import app

DEMO = str(Path(__file__).resolve().parents[3] / "examples" / "demo.toml")
EXAMPLE = (
    "example: tapewire backtest --config examples/demo.toml --from 2024-01-01T00:00:00Z "
    "--to 2024-01-01T01:00:00Z"
)


def _error(args: list[str]) -> str:
    result = CliRunner().invoke(app, ["backtest", *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_missing_range_names_the_option_and_shows_an_example() -> None:
    line = _error(["--config", DEMO, "--to", "2024-01-01T01:00:00Z"])
    assert line.startswith("error: tapewire backtest: missing option --from")
    assert line.endswith(EXAMPLE)


def test_bad_values_name_the_option() -> None:
    base = ["--config", DEMO, "--from", "2024-01-01T00:00:00Z", "--to", "2024-01-01T01:00:00Z"]
    assert "--order 'sideways' is not one of" in _error([*base, "--order", "sideways"])
    assert "--interval '1 minute' is not" in _error([*base, "--interval", "1 minute"])
    assert "--from 'yesterday' is neither" in _error([*base[:2], "--from", "yesterday", *base[4:]])
    assert "--to (" in _error([*base[:4], "--to", "2023-01-01T00:00:00Z"])
