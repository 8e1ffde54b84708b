"""``tapewire parent new|cancel``: parent orders for the smart order router and the
execution algos (``--algo twap --param slices=5 --param duration=60s``) on
``oms.parent_requests``.

A parent is worked by the trade role's parent stage (``docs/sor.md``): its children are
ordinary orders through the risk gate; its state is on ``oms.parent_events`` (and the
``parent_events`` table). Options are checked here first, with the option named in the
error; the stage checks again (a request from elsewhere gets a REJECTED parent event).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:  # the command modules load when a command runs: --help stays fast
    from tapewire.core.settings import Settings
    from tapewire.records.orders import ParentRequest as ParentRequestRecord

TOPIC = "oms.parent_requests"
ALGOS = {
    "sor": "SOR",
    "twap": "TWAP",
    "vwap": "VWAP",
    "pov": "POV",
    "iceberg": "ICEBERG",
    "oco": "OCO",
    "bracket": "BRACKET",
}
"""``--algo`` values this command knows (the parent stage refuses an algo it lacks)."""
OPTION_OF_FIELD = {
    "parent_id": "--parent-id",
    "account": "--account",
    "instrument": "--instrument",
    "quantity": "--qty",
    "limit_price": "--limit",
    "venues": "--venue",
}
_SIDES = {"buy": "BUY", "sell": "SELL"}

console = Console()
parent_app = typer.Typer(
    help="Parent orders for the smart order router: split across venues, every child "
    "through the risk gate.",
    no_args_is_help=True,
)


def new_parent_request(
    *,
    account: str,
    instrument: str,
    side: str,
    quantity: str,
    limit: str | None = None,
    venues: list[str] | None = None,
    algo: str = "sor",
    params: list[str] | None = None,
    parent_id: str | None = None,
    now_ns: int | None = None,
) -> ParentRequestRecord:
    """The NEW ``ParentRequest`` record of the options; ``OptionError`` naming the option
    (``--param KEY`` for a bad algo param: the algos core checks them here too)."""
    from tapewire.cli.trading import OptionError, parse_choice, parse_decimal, requester
    from tapewire.streams.oms import Side
    from tapewire.streams.oms.errors import OrderValidationError
    from tapewire.streams.sor.request import ParentRequest

    chosen_side = Side(parse_choice("--side", side, _SIDES))
    qty = parse_decimal("--qty", quantity)
    assert qty is not None  # text was given: a Decimal or an OptionError
    request = ParentRequest(
        parent_id=parent_id if parent_id is not None else f"p-{uuid.uuid4().hex[:16]}",
        account=account,
        instrument=instrument,
        side=chosen_side,
        quantity=qty,
        limit_price=parse_decimal("--limit", limit),
        venues=tuple(venues or ()),
        request_ts_ns=now_ns if now_ns is not None else time.time_ns(),
    )
    try:
        request.check()
    except OrderValidationError as exc:
        option = OPTION_OF_FIELD.get(exc.field or "", exc.field or "?")
        raise OptionError(f"{option}: {exc.message}", option=option, hint=f"fix {option}") from None
    record = request.to_record(
        algo=parse_choice("--algo", algo, ALGOS),
        params=parse_params(params or ()),
        requested_by=requester(),
    )
    check_algo(record)
    return record


def parse_params(items: Sequence[str]) -> dict[str, str]:
    """``--param KEY=VALUE`` options as the record's params map."""
    from tapewire.cli.trading import OptionError

    params: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise OptionError(
                f"--param={item!r}: expected KEY=VALUE, e.g. --param slices=5",
                option="--param",
            )
        if key.strip() in params:
            raise OptionError(f"--param {key.strip()} is given twice", option="--param")
        params[key.strip()] = value.strip()
    return params


def check_algo(record: ParentRequestRecord) -> None:
    """Check an algo parent's venue and params as the parent stage will (its time: now);
    ``OptionError`` naming ``--param KEY`` or the option. The SOR takes no params."""
    from tapewire.cli.trading import OptionError
    from tapewire.streams.algos import AlgoRequestError
    from tapewire.streams.stages.algo_params import algo_request

    if record.algo == "SOR":
        if record.params:
            raise OptionError("--param: the SOR takes no params", option="--param")
        return
    try:
        algo_request(record, record.request_ts_ns)
    except AlgoRequestError as exc:
        field = exc.field
        if field.startswith("params."):
            option = f"--param {field.removeprefix('params.')}"
        else:
            option = OPTION_OF_FIELD.get(field, field)
        raise OptionError(f"{option}: {exc.message}", option=option, hint=exc.hint) from None


def cancel_parent_request(
    *, account: str, parent_id: str, algo: str = "sor", now_ns: int | None = None
) -> ParentRequestRecord:
    """The CANCEL of ``parent_id`` (instrument, side and quantity are not used)."""
    from tapewire.cli.trading import parse_choice, requester
    from tapewire.streams.sor.request import cancel_record

    return cancel_record(
        account=account,
        parent_id=parent_id,
        algo=parse_choice("--algo", algo, ALGOS),
        requested_by=requester(),
        request_ts_ns=now_ns if now_ns is not None else time.time_ns(),
    )


def publish_parent(
    settings: Settings, record: ParentRequestRecord, *, bootstrap: str | None = None
) -> str:
    """Produce ``record`` to ``oms.parent_requests``; one line saying what and where."""
    from tapewire.cli.trading import produce_record

    partition, offset, _ = produce_record(settings, TOPIC, record, bootstrap=bootstrap)
    if record.action == "CANCEL":
        what = f"CANCEL of parent {record.parent_id}"
    else:
        limit = f" limit {record.limit_price:f}" if record.limit_price is not None else ""
        venues = ", ".join(record.venues) or "every venue"
        what = (
            f"NEW {record.algo} parent {record.parent_id}: {record.side} "
            f"{record.quantity:f} {record.instrument}{limit} on {venues}"
        )
        if record.params:
            what += " with " + " ".join(f"{k}={v}" for k, v in sorted(record.params.items()))
    return (
        f"sent {what} for account {record.account} -> {TOPIC} partition {partition} "
        f"offset {offset}; state on oms.parent_events"
    )


_Account = Annotated[str, typer.Option("--account", help="Trading account.")]
_Algo = Annotated[
    str,
    typer.Option(
        "--algo",
        help="Algorithm: sor (smart order router), twap, vwap, pov, iceberg, oco, bracket.",
    ),
]


@parent_app.command("new")
def parent_new(
    ctx: typer.Context,
    account: _Account,
    instrument: Annotated[
        str, typer.Option("--instrument", help="Canonical instrument, e.g. BTC-USDT-SPOT.")
    ],
    side: Annotated[str, typer.Option("--side", help="buy or sell.")],
    qty: Annotated[str, typer.Option("--qty", help="Quantity in base units (exact decimal).")],
    limit: Annotated[
        str | None, typer.Option("--limit", help="Worst price any child may trade at.")
    ] = None,
    venue: Annotated[
        list[str] | None,
        typer.Option("--venue", help="Allowed venue (repeat for several; default: all)."),
    ] = None,
    algo: _Algo = "sor",
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="Algo param KEY=VALUE (repeat): e.g. slices=5, duration=60s, rate=0.1, "
            "display_qty=0.5, first.order_type=STOP (docs/algos.md).",
        ),
    ] = None,
    parent_id: Annotated[
        str | None,
        typer.Option("--parent-id", help="Idempotency key (default: generated and printed)."),
    ] = None,
) -> None:
    """Send a NEW parent order: the router splits it across venues by depth and fees, or
    an execution algo (--algo twap ...) works it over time on its one --venue."""
    record = new_parent_request(
        account=account,
        instrument=instrument,
        side=side,
        quantity=qty,
        limit=limit,
        venues=venue,
        algo=algo,
        params=param,
        parent_id=parent_id,
    )
    console.print(publish_parent(_settings(ctx), record), highlight=False, soft_wrap=True)


@parent_app.command("cancel")
def parent_cancel(
    ctx: typer.Context,
    account: _Account,
    parent_id: Annotated[str, typer.Option("--parent-id", help="The parent to stop.")],
    algo: _Algo = "sor",
) -> None:
    """Cancel a parent: no new children; open children are canceled."""
    record = cancel_parent_request(account=account, parent_id=parent_id, algo=algo)
    console.print(publish_parent(_settings(ctx), record), highlight=False, soft_wrap=True)


def _settings(ctx: typer.Context) -> Settings:
    from tapewire.core.settings import load_settings

    return load_settings(ctx.find_root().params.get("config"))  # the root's --config
