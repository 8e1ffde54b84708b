"""``tapewire parent``: options to a ParentRequest record, errors naming the option."""

from __future__ import annotations

from decimal import Decimal

import pytest
from typer.testing import CliRunner

from tapewire.cli.main import app
from tapewire.cli.parent import cancel_parent_request, new_parent_request
from tapewire.cli.trading import OptionError
from tapewire.schemas.codec import Codec

EXAMPLE = (
    "example: tapewire parent new --account main --instrument BTC-USDT-SPOT --side buy "
    "--qty 2 --venue binance --venue okx"
)
BASE = ["parent", "new", "--account", "a", "--side", "buy"]


def test_a_new_parent_record_carries_the_options_exactly() -> None:
    record = new_parent_request(
        account="main",
        instrument="BTC-USDT-SPOT",
        side="SELL",
        quantity="0.00000812",
        limit="65000.5",
        venues=["binance", "okx"],
        parent_id="p-1",
        now_ns=7,
    )
    assert (record.parent_id, record.action, record.algo, record.side) == (
        "p-1",
        "NEW",
        "SOR",
        "SELL",
    )
    assert (record.quantity, record.limit_price) == (Decimal("0.00000812"), Decimal("65000.5"))
    assert list(record.venues) == ["binance", "okx"]
    assert record.requested_by.startswith("cli:")
    codec = Codec()
    assert codec.read("oms.parent_requests", codec.encode("oms.parent_requests", record)) == record
    cancel = cancel_parent_request(account="main", parent_id="p-1")
    assert (cancel.action, cancel.parent_id, cancel.algo) == ("CANCEL", "p-1", "SOR")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--instrument", "BTC-USDT-SPOT", "--qty", "abc"], "--qty='abc': not a decimal number"),
        (["--instrument", "BTC-USDT-SPOT", "--qty", "-1"], "--qty: parent order quantity="),
        (["--instrument", "BTC-USDT", "--qty", "1"], "--instrument: parent order instrument="),
        (["--instrument", "BTC-USDT-SPOT", "--qty", "1", "--algo", "twop"], "--algo='twop'"),
        (
            ["--instrument", "BTC-USDT-SPOT", "--qty", "1", "--venue", "okx", "--venue", "okx"],
            "--venue: parent order venues=('okx', 'okx'): lists a venue twice (fix --venue)",
        ),
    ],
)
def test_a_bad_option_is_one_line_naming_it_with_an_example(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, [*BASE, *args])
    assert result.exit_code == 2
    line = (result.stdout + result.stderr).strip()
    assert line.startswith(f"error: {message}"), line
    assert line.endswith(EXAMPLE), line


def test_the_side_must_be_buy_or_sell() -> None:
    with pytest.raises(OptionError, match="--side='hold': expected one of buy, sell"):
        new_parent_request(account="a", instrument="BTC-USDT-SPOT", side="hold", quantity="1")


def test_an_algo_parent_carries_its_params_checked_by_the_algos_core() -> None:
    record = new_parent_request(
        account="main",
        instrument="BTC-USDT-SPOT",
        side="buy",
        quantity="1",
        venues=["binance"],
        algo="twap",
        params=["slices=5", "duration=60s", "time_jitter=0.2"],
        parent_id="tw-1",
        now_ns=7,
    )
    assert (record.algo, dict(record.params)) == (
        "TWAP",
        {"slices": "5", "duration": "60s", "time_jitter": "0.2"},
    )


@pytest.mark.parametrize(
    ("algo", "venues", "params", "message"),
    [
        ("twap", ["binance"], ["slices=0", "duration=60s"], "--param slices: algo order"),
        ("twap", ["binance"], ["slices=5"], "--param end_ns: algo order"),
        ("twap", ["binance", "okx"], ["slices=5", "duration=1m"], "--venue: algo order venues"),
        ("pov", ["binance"], ["rate"], "--param='rate': expected KEY=VALUE"),
        ("pov", ["binance"], ["rate=2"], "--param rate: algo order params.rate=Decimal('2')"),
        ("sor", [], ["slices=5"], "--param: the SOR takes no params"),
    ],
)
def test_bad_algo_params_name_the_param(
    algo: str, venues: list[str], params: list[str], message: str
) -> None:
    with pytest.raises(OptionError) as caught:
        new_parent_request(
            account="main",
            instrument="BTC-USDT-SPOT",
            side="buy",
            quantity="1",
            venues=venues,
            algo=algo,
            params=params,
            now_ns=7,
        )
    assert message in str(caught.value)
