"""Risk limits and trading states over the API: read them, and (risk admins) change them.

A change is a command on ``oms.requests``, as the kill switch is: a ``CANCEL_ALL`` tagged
``risk_limits=<AccountLimits JSON>`` or ``trading_state=<state>``. The risk stage applies
it and answers with a ``RISK_LIMITS`` / ``TRADING_STATE`` alert (``docs/risk.md``); the API
never changes the gate's memory. Reads combine the deployment's configured limits with
the latest of those alerts in ClickHouse (the same record a restarted risk stage replays),
so what the API shows is what the gate applied, not what was asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tapewire.api.orders import (
    DecimalText,
    InstrumentId,
    OrderInvalidError,
    cancel_all_request,
)
from tapewire.sinks.clickhouse.query import format_value
from tapewire.streams.oms import OrderRequest
from tapewire.streams.risk import AccountLimits, RiskConfig, TradingState
from tapewire.streams.stages.risk import TRADING_STATE_CODE
from tapewire.streams.trading.config import ALL_ACCOUNTS, KILL_SWITCH_TAG, RISK_LIMITS_TAG

StateName = Literal["ACTIVE", "REDUCING", "HALTED"]
Count = Annotated[int, Field(ge=1, le=1_000_000_000)]


class InstrumentLimitsBody(BaseModel):
    """Limits of one account in one instrument (quantities in base units)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_order_qty: DecimalText
    max_order_notional: DecimalText = Field(description="quote currency")
    max_position: DecimalText = Field(description="absolute, incl. open orders")
    price_band_bps: DecimalText = Field(description="max |price - NBBO mid| in bps of mid")
    qty_increment: DecimalText | None = Field(
        default=None, description="lot: a quantity must be a multiple (FIX RoundLot)"
    )
    price_increment: DecimalText | None = Field(
        default=None, description="tick: prices must be a multiple (FIX MinPriceIncrement)"
    )


class AccountLimitsBody(BaseModel):
    """All limits of one account (``docs/risk.md``); every instrument it may trade."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instruments: dict[InstrumentId, InstrumentLimitsBody]
    max_open_orders: Count
    max_orders_per_window: Count
    rate_window_ms: Count
    daily_loss_limit: DecimalText
    stale_quote_ms: Count


class TradingStateBody(BaseModel):
    """``PUT /v1/risk/{account}/trading-state``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: StateName


class RiskOut(BaseModel):
    """An account's effective trading state (the stricter of its own and the global one)
    and the limits the risk gate applies (``limits_source``: ``config`` = the deployment
    file, ``api`` = changed at run time, ``none`` = no limits: every order is denied)."""

    model_config = ConfigDict(frozen=True)

    account: str
    trading_state: str
    account_state: str
    global_state: str
    state_changed_ts_ns: int | None
    limits: AccountLimitsBody | None
    limits_source: Literal["config", "api", "none"]
    limits_changed_ts_ns: int | None


def limits_of(body: AccountLimitsBody) -> AccountLimits:
    """The gate's limits of ``body``; 422 naming the field when a value is refused
    (zero, too many decimals, a non-canonical instrument id)."""
    try:
        return AccountLimits.model_validate(body.model_dump())
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise OrderInvalidError(
            f"body.{where}: {error['msg']} (got {error.get('input')!r})",
            field=where,
            hint="limits are positive; instruments are canonical ids such as BTC-USDT-SPOT",
        ) from None


def limits_body(limits: AccountLimits) -> AccountLimitsBody:
    """``limits`` as exact decimal strings."""
    data: dict[str, Any] = limits.model_dump()
    return AccountLimitsBody.model_validate(_texts(data))


def _texts(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _texts(v) for k, v in value.items()}
    return format_value(value) if isinstance(value, Decimal) else value


def limits_request(account: str, limits: AccountLimits, *, user: str, now_ns: int) -> OrderRequest:
    """The command that makes the risk gate apply ``limits`` to ``account``."""
    return cancel_all_request(
        account=account,
        venue=None,
        instrument=None,
        user=user,
        now_ns=now_ns,
        tags={RISK_LIMITS_TAG: limits.model_dump_json()},
        prefix="risk-limits",
    )


def state_request(account: str, state: StateName, *, user: str, now_ns: int) -> OrderRequest:
    """The command that sets the trading state of ``account`` (``*``: global)."""
    return cancel_all_request(
        account=account,
        venue=None,
        instrument=None,
        user=user,
        now_ns=now_ns,
        tags={KILL_SWITCH_TAG: state},
        prefix=f"state-{state.lower()}",
    )


@dataclass(frozen=True)
class _Latest:
    value: str
    ts_ns: int


def risk_views(
    rows: list[dict[str, Any]],
    config: RiskConfig | None,
    accounts: list[str] | None,
) -> list[RiskOut]:
    """One :class:`RiskOut` per account among ``accounts`` (None: every known account),
    from the newest ``TRADING_STATE`` / ``RISK_LIMITS`` alert rows
    (:func:`tapewire.api.queries.risk_alerts`) over the configured limits."""
    states: dict[str, _Latest] = {}
    limits: dict[str, _Latest] = {}
    for row in rows:  # newest first: the first row of each (code, account) wins
        target = states if row["code"] == TRADING_STATE_CODE else limits
        value = row["state"] if row["code"] == TRADING_STATE_CODE else row["limits"]
        if value:
            target.setdefault(row["account"], _Latest(value, row["ts_ns"]))
    configured = dict(config.accounts) if config is not None else {}
    initial = config.initial_state.value if config is not None else TradingState.ACTIVE.value
    known = set(configured) | set(limits) | (set(states) - {ALL_ACCOUNTS})
    names = sorted(known if accounts is None else accounts)
    glob = states.get(ALL_ACCOUNTS)
    global_state = glob.value if glob else initial
    out = []
    for name in names:
        own = states.get(name)
        account_state = own.value if own else TradingState.ACTIVE.value
        changed = [s.ts_ns for s in (own, glob) if s is not None]
        applied = limits.get(name)
        view: AccountLimits | None = (
            AccountLimits.model_validate_json(applied.value) if applied else configured.get(name)
        )
        out.append(
            RiskOut(
                account=name,
                trading_state=_stricter(account_state, global_state),
                account_state=account_state,
                global_state=global_state,
                state_changed_ts_ns=max(changed) if changed else None,
                limits=limits_body(view) if view is not None else None,
                limits_source="api" if applied else "config" if view is not None else "none",
                limits_changed_ts_ns=applied.ts_ns if applied else None,
            )
        )
    return out


def _stricter(a: str, b: str) -> str:
    state = max(_state(a), _state(b), key=lambda s: s.severity)
    return TradingState.HALTED.value if state is TradingState.UNKNOWN else state.value


def _state(text: str) -> TradingState:
    try:
        return TradingState(text)
    except ValueError:
        return TradingState.UNKNOWN  # fail closed: shown as HALTED
