"""Usage errors of the ``tapewire`` CLI are one line on stderr (which option, what is
expected, an example) with exit code 2, never Click's multi-line usage block."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tapewire.cli.main import EXAMPLES, app

NEW_EXAMPLE = (
    "example: tapewire order new --account main --venue binance --instrument BTC-USDT-SPOT "
    "--side buy --qty 0.01 --price 65000"
)
BASE = ["order", "new", "--account", "a", "--venue", "binance", "--instrument", "BTC-USDT-SPOT"]

CASES = [
    (
        "missing option",
        ["order", "new", "--account", "a", "--venue", "binance"],
        "error: tapewire order new: missing option --instrument (expected: Canonical "
        f"instrument, e.g. BTC-USDT-SPOT); {NEW_EXAMPLE}",
    ),
    (
        "option without its value",
        [*BASE, "--side", "buy", "--qty"],
        "error: tapewire order new: option --qty needs a value (expected: Quantity in base "
        f"units (exact decimal)); {NEW_EXAMPLE}",
    ),
    (
        "misspelled option",
        ["order", "new", "--acount", "a"],
        "error: tapewire order new: no such option --acount (did you mean --account?); "
        "options: --account, --client-order-id, --expire, --instrument, --offset-type, "
        "--post-only, --price, --qty, --reduce-only, --side, --stop-price, --tif, "
        f"--trailing-offset, --type, --venue; {NEW_EXAMPLE}",
    ),
    (
        "invalid side",
        [*BASE, "--side", "sideways", "--qty", "1", "--price", "1"],
        f"error: --side='sideways': expected one of buy, sell; {NEW_EXAMPLE}",
    ),
    (
        "invalid quantity",
        [*BASE, "--side", "buy", "--qty", "1,5", "--price", "1"],
        f"error: --qty='1,5': not a decimal number (e.g. 0.01); {NEW_EXAMPLE}",
    ),
    (
        "limit without price",
        [*BASE, "--side", "buy", "--qty", "1"],
        f"error: --price is required for LIMIT (pass --price); {NEW_EXAMPLE}",
    ),
    (
        "trailing without its offset type",
        [*BASE, "--side", "sell", "--qty", "1", "--type", "trailing", "--trailing-offset", "5"],
        f"error: --offset-type is required for TRAILING_STOP (pass --offset-type); {NEW_EXAMPLE}",
    ),
    (
        "GTD without expiry",
        [*BASE, "--side", "buy", "--qty", "1", "--price", "1", "--tif", "GTD"],
        f"error: --expire is required for GTD (pass --expire); {NEW_EXAMPLE}",
    ),
    (
        "invalid typed value",
        ["kafka", "start", "--nodes", "x"],
        "error: tapewire kafka start: invalid value for option --nodes: Input should be a "
        "valid integer, unable to parse string as an integer (expected: 1 broker, or 3 for a "
        "local cluster); example: tapewire kafka start --nodes 1",
    ),
    (
        "missing argument",
        ["kill-switch"],
        "error: tapewire kill-switch: missing argument STATE (expected: on = HALTED + cancel "
        "all; off = ACTIVE); example: tapewire kill-switch on --account main",
    ),
    (
        "run without its deployment file",
        ["run", "all"],
        "error: tapewire run: missing option --config (expected: The deployment file (see "
        "examples/demo.toml)); example: tapewire run all --config examples/demo.toml",
    ),
    (
        "run an unknown role",
        ["run", "gateway", "--config", "examples/demo.toml"],
        "error: unknown role 'gateway' (choose one of connector, normalize, aggregate, trade, "
        "router, sink, api, notifier or all)",
    ),
    (
        "unknown command",
        ["order", "neww"],
        "error: tapewire order: No such command 'neww'. Did you mean 'new'?; see: tapewire "
        "order --help",
    ),
]


@pytest.mark.parametrize(("args", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_usage_error_is_one_line_exit_2(args: list[str], line: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [line]
    assert "Usage:" not in result.stderr


def test_every_example_names_its_command() -> None:
    for command, example in EXAMPLES.items():
        assert example.startswith(f"tapewire {command} "), example


def test_help_and_exit_codes_are_unchanged() -> None:
    runner = CliRunner()
    helped = runner.invoke(app, ["order", "new", "--help"])
    assert helped.exit_code == 0
    assert "--instrument" in helped.stdout
    bare = runner.invoke(app, ["order"])  # no_args_is_help: the help, exit 2 (as before)
    assert bare.exit_code == 2
    assert "new" in bare.stdout + bare.stderr
    assert "error:" not in bare.stdout + bare.stderr


def test_console_entry_point_prints_the_same_line() -> None:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    done = subprocess.run(
        [sys.executable, "-m", "tapewire.cli", "order", "new", "--account", "a"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: tapewire order new: missing option --venue (expected: Venue (ccxt id), e.g. "
        f"binance); {NEW_EXAMPLE}"
    ]
