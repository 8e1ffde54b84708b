"""``tapewire parent new|cancel``: parent orders for the smart order router (and the
execution algos) on ``oms.parent_requests``.

A parent is worked by the trade role's parent stage (``docs/sor.md``): its children are
ordinary orders through the risk gate; its state is on ``oms.parent_events`` (and the
``parent_events`` table). Options are checked here first, with the option named in the
error; the stage checks again (a request from elsewhere gets a REJECTED parent event).
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:  # the command modules load when a command runs: --help stays fast
    from tapewire.core.settings import Settings
    from tapewire.records.orders import ParentRequest as ParentRequestRecord

TOPIC = "oms.parent_requests"
ALGOS = {"sor": "SOR"}
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
    parent_id: str | None = None,
    now_ns: int | None = None,
) -> ParentRequestRecord:
    """The NEW ``ParentRequest`` record of the options; ``OptionError`` naming the option."""
    from tapewire.cli.trading import OptionError, parse_choice, parse_decimal, requester
    from tapewire.records.orders import ParentRequest as ParentRequestRecord
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
    return ParentRequestRecord(
        parent_id=request.parent_id,
        account=request.account,
        algo=parse_choice("--algo", algo, ALGOS),
        instrument=request.instrument,
        side=chosen_side.value,
        quantity=request.quantity,
        limit_price=request.limit_price,
        venues=list(request.venues),
        requested_by=requester(),
        request_ts_ns=request.request_ts_ns,
    )


def cancel_parent_request(
    *, account: str, parent_id: str, algo: str = "sor", now_ns: int | None = None
) -> ParentRequestRecord:
    """The CANCEL of ``parent_id`` (instrument, side and quantity are not used)."""
    from tapewire.cli.trading import parse_choice, requester
    from tapewire.records.orders import ParentRequest as ParentRequestRecord

    return ParentRequestRecord(
        parent_id=parent_id,
        account=account,
        action="CANCEL",
        algo=parse_choice("--algo", algo, ALGOS),
        instrument="",
        side="BUY",
        quantity=Decimal(0),
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
    return (
        f"sent {what} for account {record.account} -> {TOPIC} partition {partition} "
        f"offset {offset}; state on oms.parent_events"
    )


_Account = Annotated[str, typer.Option("--account", help="Trading account.")]
_Algo = Annotated[str, typer.Option("--algo", help="Algorithm: sor (smart order router).")]


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
    parent_id: Annotated[
        str | None,
        typer.Option("--parent-id", help="Idempotency key (default: generated and printed)."),
    ] = None,
) -> None:
    """Send a NEW parent order: the router splits it across venues by depth and fees."""
    record = new_parent_request(
        account=account,
        instrument=instrument,
        side=side,
        quantity=qty,
        limit=limit,
        venues=venue,
        algo=algo,
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
