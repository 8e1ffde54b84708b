"""The deployment file: one TOML file that says what every role of Tapewire runs.

``tapewire run <role> --config FILE`` reads it (``docs/deployment.md``). Sections:
``[kafka]``, ``[clickhouse]``, ``[metrics]``, ``[connector]``, ``[normalize]``,
``[aggregate]``, ``[trading]`` (with ``[trading.ccxt.<venue>]``: the live venues of the
``router`` role), ``[sink]``, ``[api]``, ``[notifier]``. Every key is checked
at start-up: an unknown key, a missing one or a bad value raises
:class:`~tapewire.core.errors.ConfigError` naming the key's full path
(``trading.accounts.desk.max_open_orders``) and the value.
Secrets are never written in the file: Kafka passwords come from an environment variable
named in the file (``[kafka.security]``), exchange keys from the key store.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from tapewire.api.config import ApiConfig
from tapewire.connectors.live.config import LiveConfig
from tapewire.core.errors import ConfigError
from tapewire.core.kafka import KafkaSecurity, ScramMechanism, SecurityProtocol
from tapewire.deploy.metrics_ports import resolve_ports
from tapewire.streams.aggregate.bars import BarConfig, Interval
from tapewire.streams.aggregate.depth import DepthConfig
from tapewire.streams.execution.fees import FeeAsset, FeeSchedule
from tapewire.streams.execution.latency import LatencyModel
from tapewire.streams.execution.matching import QueueModel
from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.notify import NotifierConfig
from tapewire.streams.risk import AccountLimits, RiskConfig
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.trading.config import TradingConfig
from tapewire.streams.trading.positions import PositionLimits
from tapewire.streams.trading.shard import shards_of
from tapewire.streams.trading.strategy import Strategy

ROLES = ("connector", "normalize", "aggregate", "trade", "router", "sink", "api", "notifier")
"""The roles ``tapewire run`` starts; ``all`` runs one process of each configured role."""
PORT_ROLES = ("connector", "normalize", "aggregate", "trade", "sink", "api", "notifier")
"""The roles in the order of their default ``/metrics`` port offsets (``router`` has no
offset of its own: its processes take the ports after these, like extra replicas)."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


RoleName = Literal[
    "connector", "normalize", "aggregate", "trade", "router", "sink", "api", "notifier"
]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class KafkaSecuritySection(_Section):
    """``[kafka.security]``: TLS and SASL/SCRAM, one Kafka user per role.

    ``username`` and ``password_env`` are patterns: ``{role}`` becomes the role's name
    (``trade``), ``{ROLE}`` the same in capitals (``TRADE``). Defaults: user
    ``tapewire-trade``, password in ``$TAPEWIRE_KAFKA_PASSWORD_TRADE``. ``users`` names a
    role's user outright. A password is never written here: only the name of the
    environment variable that holds it.
    """

    protocol: SecurityProtocol = "PLAINTEXT"
    mechanism: ScramMechanism = "SCRAM-SHA-512"
    ca_file: Path | None = Field(
        default=None, description="PEM CA of the brokers; relative to the file; unset: system CAs"
    )
    username: str = Field(default="tapewire-{role}", min_length=1)
    password_env: str = "TAPEWIRE_KAFKA_PASSWORD_{ROLE}"  # noqa: S105 - a variable name
    users: dict[RoleName, str] = Field(default_factory=dict)
    admin_username: str = Field(default="admin", min_length=1)
    admin_password_env: str = "TAPEWIRE_KAFKA_ADMIN_PASSWORD"  # noqa: S105 - a variable name

    @model_validator(mode="before")
    @classmethod
    def _no_password_in_file(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key in ("password", "admin_password"):
                if key in data:
                    raise ValueError(
                        f"{key}: a password is never written in the file; name the "
                        f"environment variable that holds it with {key}_env"
                    )
        return data

    @field_validator("password_env", "admin_password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        name = value.replace("{role}", "role").replace("{ROLE}", "ROLE")
        if not _ENV_NAME.match(name):
            raise ValueError(
                f"{value!r} is not an environment variable name (letters, digits, _; "
                "{role} and {ROLE} are replaced by the role)"
            )
        return value

    def user(self, role: str) -> str:
        """The Kafka user name of ``role``."""
        pattern = next((user for r, user in self.users.items() if r == role), self.username)
        return pattern.replace("{role}", role).replace("{ROLE}", role.upper())

    def password_variable(self, role: str) -> str:
        """The name of the environment variable holding ``role``'s password."""
        return self.password_env.replace("{role}", role).replace("{ROLE}", role.upper())

    def for_role(self, role: str, environ: Mapping[str, str] | None = None) -> KafkaSecurity | None:
        """The client security of ``role``'s process (None: plaintext); the password is
        read from the environment now. :class:`ConfigError` names the missing key."""
        if self.protocol == "PLAINTEXT":
            return None
        password = None
        if self.protocol.startswith("SASL_"):
            password = _password(
                self.password_variable(role), "kafka.security.password_env", role, environ
            )
        return KafkaSecurity(
            protocol=self.protocol,
            mechanism=self.mechanism,
            username=self.user(role),
            password=password,
            ca_file=self._ca_file(),
        )

    def admin(self, environ: Mapping[str, str] | None = None) -> KafkaSecurity:
        """The admin's security (``tapewire kafka acl``: users and ACLs)."""
        password = None
        if self.protocol.startswith("SASL_"):
            password = _password(
                self.admin_password_env, "kafka.security.admin_password_env", "admin", environ
            )
        return KafkaSecurity(
            protocol=self.protocol,
            mechanism=self.mechanism,
            username=self.admin_username,
            password=password,
            ca_file=self._ca_file(),
        )

    def _ca_file(self) -> Path | None:
        if self.ca_file is None or not self.protocol.endswith("SSL"):
            return None
        if not self.ca_file.is_file():
            raise ConfigError(
                f"kafka.security.ca_file: no such file {self.ca_file}",
                field="kafka.security.ca_file",
                value=str(self.ca_file),
                hint="the PEM file of the CA that signed the brokers' certificates",
            )
        return self.ca_file


def _password(variable: str, key: str, who: str, environ: Mapping[str, str] | None) -> SecretStr:
    value = (os.environ if environ is None else environ).get(variable, "")
    if not value:
        raise ConfigError(
            f"{key}: environment variable {variable} is not set",
            field=key,
            value=variable,
            hint=f"export {variable} with the Kafka password of {who}",
        )
    return SecretStr(value)


class KafkaSection(_Section):
    """``[kafka]``: where the broker is, how topics are made, and ``[kafka.security]``."""

    bootstrap: str | None = Field(
        default=None, description="host:port,...; unset: the local broker (tapewire kafka)"
    )
    topic_prefix: str = ""
    partitions: int = Field(default=6, ge=1)
    replication: int = Field(default=1, ge=1)
    security: KafkaSecuritySection = Field(default_factory=KafkaSecuritySection)


class ClickHouseSection(_Section):
    """``[clickhouse]``: the database the sink writes (``chdb://path`` or ``http(s)://``)."""

    url: str | None = Field(default=None, description="unset: the settings' CLICKHOUSE_URL")


class MetricsSection(_Section):
    """``[metrics]``: the Prometheus ``/metrics`` endpoint of every role's process
    (:mod:`tapewire.deploy.metrics_ports`); no port for a role: it serves none."""

    host: str | None = Field(
        default=None, min_length=1, description="bind address; unset: TAPEWIRE_METRICS_HOST"
    )
    port: int | None = Field(default=None, ge=1, le=65535)
    ports: dict[
        RoleName,
        Annotated[int, Field(ge=1, le=65535)] | tuple[Annotated[int, Field(ge=1, le=65535)], ...],
    ] = Field(default_factory=dict)


class SimulatorSource(_Section):
    """The market simulator, paced in wall-clock time."""

    kind: Literal["simulator"]
    seed: int = 7
    rate: int = Field(default=2_000, ge=1, description="frames per second")
    max_frames: int | None = Field(
        default=None, ge=1, description="stop after this many frames; unset: run until stopped"
    )
    start_ns: int | None = Field(
        default=None,
        ge=0,
        description="simulated clock start, UTC ns; set it and a restarted connector "
        "publishes the same frames again (the sink stores each once); unset: now",
    )
    spread_ticks: int = Field(
        default=100,
        ge=1,
        le=1000,
        description="quoted spread in ticks; at 1 the venues' offsets cross the NBBO and "
        "the risk gate denies every order (missing_reference_price)",
    )


class CcxtSource(_Section):
    """Live ccxt.pro websockets, one connector per exchange."""

    kind: Literal["ccxt"]
    exchanges: tuple[LiveConfig, ...] = Field(min_length=1)


class ConnectorSection(_Section):
    """``[connector]``: where ``md.raw`` comes from."""

    source: Annotated[SimulatorSource | CcxtSource, Field(discriminator="kind")]


AGGREGATE_AGENTS = ("bars", "nbbo", "depth")  # "nbbo"/"depth": their re-key agents too
"""The aggregate role's agents (plus ``bbo`` with ``aggregate.bbo_venues``)."""
FusedStage = Literal["bars", "nbbo", "depth"]


class NormalizeSection(_Section):
    """``[normalize]``: the shell (either is a consumer group, scaling by process), how
    many processes ``run all`` starts, and the aggregate stages a lone hot-path process
    runs in its own graph (``fuse``: no aggregate agent and no Kafka hop for them)."""

    shell: Literal["agents", "hotpath"] = "agents"
    processes: int = Field(default=1, ge=1, le=64, description="processes run all starts")
    fuse: tuple[FusedStage, ...] = Field(
        default=(),
        description="aggregate stages run in the normalize hot path (shell = 'hotpath', "
        "processes = 1); docs/deployment.md",
    )

    @field_validator("fuse")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"{list(value)} names a stage twice")
        return value

    def check_fuse(self, aggregate: AggregateSection | None) -> None:
        """:class:`ConfigError` naming the key: ``fuse`` needs the one hot-path process
        that owns every ``md.raw`` partition (bars and the cross-venue NBBO keep their
        state whole there), and a fused NBBO sees only the quotes made in its graph."""
        if not self.fuse:
            return
        fuse = list(self.fuse)
        _refuse_if(
            self.shell != "hotpath",
            "normalize.fuse",
            f"fusing {fuse} needs shell = 'hotpath' (it is {self.shell!r})",
            "set [normalize] shell = 'hotpath', or fuse = [] to run them in the aggregate role",
            fuse,
        )
        _refuse_if(
            self.processes != 1,
            "normalize.fuse",
            f"fusing {fuse} needs processes = 1 (it is {self.processes}): each process "
            "would aggregate only its share of md.raw's partitions",
            "set [normalize] processes = 1, or fuse = [] to scale normalize by process and "
            "run the aggregates in the aggregate role",
            fuse,
        )
        _refuse_if(
            "nbbo" in self.fuse and aggregate is not None and bool(aggregate.bbo_venues),
            "normalize.fuse",
            "a fused NBBO does not see the quotes the aggregate role derives from books "
            f"(aggregate.bbo_venues = {list(aggregate.bbo_venues) if aggregate else []})",
            "leave 'nbbo' out of fuse while aggregate.bbo_venues is set",
            fuse,
        )


class AggregateSection(_Section):
    """``[aggregate]``: bar intervals, the venues whose BBO comes from the book, and the
    consolidated depth (``md.depth``): levels per venue, taker fees in bp per venue,
    at most one snapshot per ``depth_interval_ms`` per instrument."""

    bars: tuple[str, ...] = ("1s", "1m")
    bbo_venues: tuple[str, ...] = ()
    depth_levels: int = Field(default=10, ge=1, le=1000)
    taker_fee_bps: dict[str, Decimal] = Field(default_factory=dict)
    depth_interval_ms: int = Field(default=100, ge=0)

    @field_validator("taker_fee_bps")
    @classmethod
    def _fees(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for venue, bps in value.items():
            if not 0 <= bps < 10_000:
                raise ValueError(f"{venue}: {bps} bp is not in [0, 10000)")
        return value

    def depth(self) -> DepthConfig:
        """The depth stage's config."""
        return DepthConfig(
            levels=self.depth_levels,
            taker_fee_bps=dict(self.taker_fee_bps),
            interval_ns=self.depth_interval_ms * 1_000_000,
        )

    @field_validator("bars")
    @classmethod
    def _intervals(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            Interval.parse(name)
        return value


class StrategySection(_Section):
    """One ``[[trading.strategies]]``: a class by ``package.module:Class`` and its params."""

    class_: str = Field(alias="class", pattern=r"^[\w.]+:\w+$")
    params: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class PaperVenueSection(_Section):
    """``[trading.paper.<venue>]``: a paper venue's fee and latency models (the same in a
    live paper run and in a backtest; ``docs/paper-venue.md``)."""

    maker_bps: Decimal = Decimal(0)
    taker_bps: Decimal = Decimal(0)
    fee_asset: FeeAsset = FeeAsset.QUOTE
    ack_ns: int = Field(default=0, ge=0, description="request -> venue delay")
    ack_jitter_ns: int = Field(default=0, ge=0)
    fill_ns: int = Field(default=0, ge=0, description="venue execution -> local report delay")
    fill_jitter_ns: int = Field(default=0, ge=0)
    seed: int = 0
    queue_model: QueueModel = QueueModel.THROUGH

    def paper_config(self, venue: str, id_scope: str = "") -> PaperConfig:
        """The :class:`PaperConfig` of ``venue`` with these models (``id_scope``: the
        shard's, so each shard's paper venue gives out ids of its own)."""
        return PaperConfig(
            venue,
            id_scope=id_scope,
            fees=FeeSchedule(self.maker_bps, self.taker_bps, self.fee_asset),
            latency=LatencyModel(
                self.seed, self.ack_ns, self.ack_jitter_ns, self.fill_ns, self.fill_jitter_ns
            ),
            queue_model=self.queue_model,
        )


class CcxtVenueSection(_Section):
    """``[trading.ccxt.<venue>]``: a live venue (its ccxt exchange id is ``<venue>``) that
    one ``router`` process executes, with the keys of ``accounts`` from the key store.

    ``keystore`` is the encrypted key-store file (``tapewire keys``), relative to the
    deployment file; its passphrase is in the environment variable ``passphrase_env``
    names (never in the file). ``rest_url``/``ws_url`` rebase the exchange's URLs (a
    proxy, the loopback fake exchange)."""

    accounts: tuple[str, ...] = Field(min_length=1)
    keystore: Path
    passphrase_env: str = "TAPEWIRE_KEYSTORE_PASSPHRASE"  # noqa: S105 - a variable name
    sandbox: bool = False
    rest_url: str | None = Field(default=None, pattern=r"^(https?|wss?)://")
    ws_url: str | None = Field(default=None, pattern=r"^wss?://")
    watch_orders: bool = Field(
        default=True, description="ccxt.pro watch_orders where the venue has it; else polling"
    )
    poll_interval_s: float = Field(default=1.0, gt=0)
    timeout_ms: int = Field(default=10_000, ge=100, description="ccxt request timeout")
    reconcile_attempts: int = Field(default=3, ge=1)
    reconcile_delay_s: float = Field(default=0.5, ge=0)
    session_timeout_s: float = Field(default=10.0, ge=1, description="Kafka consumer session")
    options: dict[str, Any] = Field(
        default_factory=dict, description="ccxt exchange options (defaultType, ...)"
    )

    @model_validator(mode="before")
    @classmethod
    def _no_secret_in_file(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key in ("passphrase", "api_key", "apiKey", "secret", "password"):
                if key in data:
                    raise ValueError(
                        f"{key}: secrets are never written in the file; keys come from the "
                        "key store (keystore), its passphrase from the variable passphrase_env"
                    )
        return data

    @field_validator("passphrase_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @field_validator("accounts")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"an account is listed twice in {list(value)}")
        return value

    def passphrase(self, venue: str, environ: Mapping[str, str] | None = None) -> SecretStr:
        """The key store's passphrase, read from the environment now; :class:`ConfigError`
        names the key when the variable is unset."""
        key = f"trading.ccxt.{venue}.passphrase_env"
        value = (os.environ if environ is None else environ).get(self.passphrase_env, "")
        if not value:
            raise ConfigError(
                f"{key}: environment variable {self.passphrase_env} is not set",
                field=key,
                value=self.passphrase_env,
                hint=f"export {self.passphrase_env} with the passphrase of {self.keystore}",
            )
        return SecretStr(value)


class ShardSection(_Section):
    """One ``[[trading.shards]]``: a ``trade`` process, the accounts it owns and the
    strategies it runs (``docs/deployment.md``, "Sharding trading by account")."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    accounts: tuple[str, ...] = Field(min_length=1)
    strategies: tuple[StrategySection, ...] = ()
    colocate_connector: bool = False


class TradingSection(_Section):
    """``[trading]``: the accounts' risk limits, the venues and the strategies; with
    ``[[trading.shards]]``, one ``trade`` process per shard, each owning its accounts."""

    shell: Literal["hotpath"] = Field(
        default="hotpath",
        description="the hot path is the trade shell: see docs/deployment.md, 'Why the "
        "trade role runs on the hot path only'",
    )
    accounts: dict[str, AccountLimits] = Field(min_length=1)
    paper_venues: tuple[str, ...] = ()
    strategies: tuple[StrategySection, ...] = ()
    paper: dict[str, PaperVenueSection] = Field(
        default_factory=dict, description="fee and latency models per paper venue"
    )
    ccxt: dict[str, CcxtVenueSection] = Field(
        default_factory=dict, description="live venues, one router process each"
    )
    strategy_path: tuple[Path, ...] = Field(
        default=(),
        description="folders searched for strategy modules before the installed packages; "
        "relative to the deployment file",
    )
    max_position_alert: dict[str, Decimal] = Field(default_factory=dict)
    max_loss_alert: Decimal | None = None
    shards: tuple[ShardSection, ...] = ()
    colocate_connector: bool = False
    """Run ``[connector]`` inside the trade process (``docs/hot-path.md``, "Co-located")."""

    @field_validator("shell", mode="before")
    @classmethod
    def _no_agents(cls, value: Any) -> Any:
        if value == "agents":
            raise ValueError(
                "the trade role runs on the hot path only: its state (open paper orders, "
                "daily loss, positions) is restored after a restart there and nowhere else; "
                "use shell = 'hotpath' (docs/deployment.md)"
            )
        return value

    def processes(self) -> int:
        """How many ``trade`` processes this section runs (one per shard, or one)."""
        return max(1, len(self.shards))

    def hosts_connector(self, replica: int) -> bool:
        """True when ``trade`` process ``replica`` runs the connector in-process."""
        if self.shards:
            return self.shards[replica].colocate_connector
        return self.colocate_connector

    def check_shards(self) -> None:
        """:class:`ConfigError` naming the key: an unknown, doubly owned or unowned
        account, a repeated shard name, strategies outside the shards, two hosts of the
        connector."""
        if not self.shards:
            return
        _refuse_if(
            bool(self.strategies),
            "trading.strategies",
            "with [[trading.shards]] each shard lists the strategies it runs",
            "move each [[trading.strategies]] to [[trading.shards.strategies]] of its shard",
        )
        _refuse_if(
            self.colocate_connector,
            "trading.colocate_connector",
            "with [[trading.shards]] the shard that hosts the connector says so",
            "set colocate_connector = true in one [[trading.shards]]",
        )
        owner: dict[str, str] = {}
        names: set[str] = set()
        for i, shard in enumerate(self.shards):
            where = f"trading.shards[{i}]"
            _refuse_if(
                shard.name in names,
                f"{where}.name",
                f"shard name {shard.name!r} is used twice",
                "give every shard its own name",
                shard.name,
            )
            names.add(shard.name)
            for account in shard.accounts:
                self._refuse_unknown_account(f"{where}.accounts", account)
                _refuse_if(
                    account in owner,
                    f"{where}.accounts",
                    f"account {account!r} is already owned by shard {owner.get(account)!r}",
                    "an account belongs to exactly one trade process",
                    account,
                )
                owner[account] = shard.name
        unowned = sorted(set(self.accounts) - set(owner))
        _refuse_if(
            bool(unowned),
            "trading.shards",
            f"account(s) {unowned} are owned by no shard: their requests would be denied",
            "add each account to the accounts of one [[trading.shards]]",
            unowned,
        )
        hosts = [s.name for s in self.shards if s.colocate_connector]
        _refuse_if(
            len(hosts) > 1,
            "trading.shards.colocate_connector",
            f"shards {hosts} would each run the connector (every frame twice on md.raw)",
            "let one shard host the connector",
            hosts,
        )

    def _refuse_unknown_account(self, field: str, account: str) -> None:
        _refuse_if(
            account not in self.accounts,
            field,
            f"account {account!r} has no [trading.accounts.{account}] limits",
            f"add its risk limits, or choose from {sorted(self.accounts)}",
            account,
        )

    @model_validator(mode="after")
    def _paper_models_of_paper_venues(self) -> TradingSection:
        unknown = sorted(set(self.paper) - set(self.paper_venues))
        if unknown:
            raise ValueError(
                f"paper: {unknown} not in paper_venues {list(self.paper_venues)} "
                "(a model for a venue the router does not trade on)"
            )
        return self

    def ccxt_venues(self) -> tuple[str, ...]:
        """The live venues, in the order of their ``router`` processes."""
        return tuple(sorted(self.ccxt))

    def check_ccxt(self) -> None:
        """:class:`ConfigError` naming the key: a venue both paper and live, a bad venue
        name, an account without risk limits."""
        for venue, section in self.ccxt.items():
            where = f"trading.ccxt.{venue}"
            _refuse_if(
                not re.fullmatch(r"[a-z0-9_]{2,40}", venue),
                where,
                f"{venue!r} is not a ccxt exchange id",
                "use the ccxt id of the exchange (binance, okx, kraken, ...)",
                venue,
            )
            _refuse_if(
                venue in self.paper_venues,
                where,
                f"venue {venue!r} is also in paper_venues: its orders would go to both",
                "a venue is either paper (trading.paper_venues) or live (trading.ccxt)",
                venue,
            )
            for account in section.accounts:
                self._refuse_unknown_account(f"{where}.accounts", account)


def _refuse_if(bad: bool, field: str, message: str, hint: str, value: object = None) -> None:
    if bad:
        raise ConfigError(f"{field}: {message}", field=field, value=value, hint=hint)


class SinkSection(_Section):
    """``[sink]``: which topics go to ClickHouse."""

    trading_topics: bool = True
    group_id: str = "tapewire-sink"
    flush_interval_s: float = Field(default=2.0, gt=0)


class DeployConfig(_Section):
    """The whole file. Only ``[kafka]`` is needed by every role; a role whose section is
    missing is not configured (``run all`` skips it, ``run <role>`` refuses to start)."""

    kafka: KafkaSection = Field(default_factory=KafkaSection)
    clickhouse: ClickHouseSection = Field(default_factory=ClickHouseSection)
    metrics: MetricsSection = Field(default_factory=MetricsSection)
    connector: ConnectorSection | None = None
    normalize: NormalizeSection | None = None
    aggregate: AggregateSection | None = None
    trading: TradingSection | None = None
    sink: SinkSection | None = None
    api: ApiConfig | None = None
    notifier: NotifierConfig | None = None

    def roles(self) -> tuple[str, ...]:
        """The configured roles, in pipeline order."""
        sections = {
            "connector": self.connector,
            "normalize": self.normalize,
            "aggregate": self.aggregate,
            "trade": self.trading,
            "router": self.trading if self.trading and self.trading.ccxt else None,
            "sink": self.sink,
            "api": self.api,
            "notifier": self.notifier,
        }
        return tuple(role for role in ROLES if sections[role] is not None)

    def processes(self) -> tuple[str, ...]:
        """The role of every process ``run all`` starts: each configured role once, the
        normalize role ``normalize.processes`` times, trade once per shard, router once
        per ``[trading.ccxt.<venue>]``; no connector process when a trade process hosts it,
        no aggregate process when ``normalize.fuse`` leaves it nothing to run."""
        counts = {
            "normalize": self.normalize.processes if self.normalize else 1,
            "aggregate": 1 if self.aggregate_agents() else 0,
            "trade": self.trading.processes() if self.trading else 1,
            "router": len(self.trading.ccxt) if self.trading else 0,
            "connector": 0 if self.colocated_connector() else 1,
        }
        return tuple(role for role in self.roles() for _ in range(counts.get(role, 1)))

    def fused(self) -> tuple[str, ...]:
        """The aggregate stages the normalize role runs in its hot path (``normalize.fuse``)."""
        return self.normalize.fuse if self.normalize is not None else ()

    def aggregate_agents(self) -> tuple[str, ...]:
        """The agents the aggregate role runs: those not fused into normalize, plus the
        BBO from books for ``aggregate.bbo_venues`` (empty: ``run all`` starts no
        aggregate process)."""
        if self.aggregate is None:
            return ()
        bbo = ("bbo",) if self.aggregate.bbo_venues else ()
        return tuple(a for a in AGGREGATE_AGENTS if a not in self.fused()) + bbo

    def colocated_connector(self) -> bool:
        """True when a ``trade`` process runs ``[connector]`` (no connector process)."""
        trading = self.trading
        return trading is not None and any(
            trading.hosts_connector(i) for i in range(trading.processes())
        )

    def metrics_ports(self) -> dict[tuple[str, int], int]:
        """(role, replica) -> ``/metrics`` port of every process ``run all`` starts;
        :class:`ConfigError` on a conflict (:mod:`tapewire.deploy.metrics_ports`)."""
        return resolve_ports(self.metrics.port, self.metrics.ports, self.processes(), PORT_ROLES)

    def metrics_port(self, role: str, replica: int = 0) -> int | None:
        """The ``/metrics`` port of ``role``'s process ``replica`` (None: not served)."""
        return self.metrics_ports().get((role, replica))

    def streams_config(self, app_id: str, shard: int | None = None) -> StreamsConfig:
        """The stream processors' knobs for the role ``app_id`` names (``shard``: the
        trading of ``[[trading.shards]]`` number ``shard`` only)."""
        aggregate = self.aggregate or AggregateSection()
        return StreamsConfig(
            app_id=app_id,
            topic_prefix=self.kafka.topic_prefix,
            partitions=self.kafka.partitions,
            replication_factor=self.kafka.replication,
            bars=BarConfig(intervals=tuple(Interval.parse(b) for b in aggregate.bars)),
            bbo_venues=frozenset(aggregate.bbo_venues),
            depth=aggregate.depth(),
            trading=None if self.trading is None else trading_config(self.trading, shard),
        )


def trading_config(section: TradingSection, shard: int | None = None) -> TradingConfig:
    """The trading stages' config: risk limits, paper venues, strategy factories (their
    modules looked up in ``strategy_path`` first); with shards, those of shard number
    ``shard`` (default the first) and its
    :class:`~tapewire.streams.trading.shard.AccountShard`."""
    for folder in reversed(section.strategy_path):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    accounts, strategies, where = dict(section.accounts), section.strategies, "trading"
    owned, scope = None, ""
    if section.shards:
        index = shard or 0
        chosen = section.shards[index]
        accounts = {a: section.accounts[a] for a in chosen.accounts}
        strategies, where = chosen.strategies, f"trading.shards[{index}]"
        owned = shards_of((s.name, s.accounts) for s in section.shards)[index]
        scope = chosen.name  # each shard's paper venues give out ids of their own
    return TradingConfig(
        risk=RiskConfig(accounts=accounts),
        paper_venues=tuple(
            section.paper[v].paper_config(v, scope)
            if v in section.paper
            else PaperConfig(v, id_scope=scope)
            for v in section.paper_venues
        ),
        strategies=tuple(
            strategy_factory(s, i, f"{where}.strategies") for i, s in enumerate(strategies)
        ),
        position_limits=PositionLimits(
            max_position=dict(section.max_position_alert), max_loss=section.max_loss_alert
        ),
        shard=owned,
        remote_venues=frozenset(section.ccxt),
    )


def strategy_factory(
    section: StrategySection, index: int = 0, key: str = "trading.strategies"
) -> Callable[[], Strategy]:
    """A factory of the strategy ``section`` names, checked now (import, type, params).

    The class is built with ``Class.from_params(params)`` when it has that classmethod,
    else ``Class(**params)``.
    """
    where = f"{key}[{index}]"
    module_name, _, class_name = section.class_.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"{where}.class: cannot import {module_name}: {exc}",
            field=f"{where}.class",
            value=section.class_,
            hint="the module must be importable (installed, or on PYTHONPATH)",
        ) from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ConfigError(
            f"{where}.class: {section.class_} is not a Strategy subclass",
            field=f"{where}.class",
            value=section.class_,
            hint="subclass tapewire.streams.trading.strategy.Strategy",
        )
    params = dict(section.params)

    def build() -> Strategy:
        from_params = getattr(cls, "from_params", None)
        strategy = from_params(params) if callable(from_params) else cls(**params)
        assert isinstance(strategy, Strategy)
        return strategy

    try:
        build()
    except Exception as exc:
        raise ConfigError(
            f"{where}.params: {section.class_} refused them: {type(exc).__name__}: {exc}",
            field=f"{where}.params",
            value=params,
            hint="check the strategy's parameter names and values",
        ) from None
    return build


def parse_config(data: Mapping[str, Any], source: str = "config") -> DeployConfig:
    """Validate a parsed TOML document; :class:`ConfigError` names the first bad key."""
    try:
        config = DeployConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        parts = [str(p) for p in err["loc"]]
        # a tagged union puts its tag ("simulator") in the path: not a key of the file
        path = ".".join(
            p
            for i, p in enumerate(parts)
            if not (i and parts[i - 1] == "source")
            and not (i > 1 and parts[i - 2] == "channels")  # [notifier] channel kind tag
            and p != "[key]"  # a bad dict key
        )
        # a mistyped key under [kafka.security] or [trading.ccxt.*] may hold a password, a
        # webhook URL a token: never keep their values
        secret = path.startswith(("kafka.security", "notifier.smtp", "trading.ccxt"))
        value = None if secret or "url" in path else err.get("input")
        raise ConfigError(
            f"{source}: {path}: {err['msg']}",
            field=path,
            value=value,
            hint="see docs/deployment.md and examples/*.toml for every key",
        ) from None
    if config.normalize is not None:
        config.normalize.check_fuse(config.aggregate)
    if config.trading is not None:
        config.trading.check_shards()
        config.trading.check_ccxt()
        if config.colocated_connector() and config.connector is None:
            raise ConfigError(
                f"{source}: trading.colocate_connector: there is no [connector] to host",
                field="trading.colocate_connector",
                value=True,
                hint="add a [connector] section (its source runs inside the trade process)",
            )
    config.metrics_ports()  # two processes on one port: refused now, not at bind time
    return config


def load_config(path: Path) -> DeployConfig:
    """Read and validate the TOML file at ``path``."""
    return config_from_document(read_document(path), path)


def read_document(path: Path) -> dict[str, Any]:
    """The parsed TOML of the deployment file at ``path`` (not validated yet)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the config file {path}: {exc.strerror}",
            field="--config",
            value=str(path),
            hint="pass the path of a TOML file, e.g. examples/demo.toml",
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}",
            field="--config",
            value=str(path),
            hint="fix the syntax at the line and column given",
        ) from None


def config_from_document(data: Mapping[str, Any], path: Path) -> DeployConfig:
    """Validate the document read from ``path``; its relative file paths (CA file, API
    files, strategy path, key stores) are taken relative to the file's folder."""
    config = parse_config(data, str(path))
    ca_file = config.kafka.security.ca_file
    if ca_file is not None and not ca_file.is_absolute():  # relative to the file
        security = config.kafka.security.model_copy(update={"ca_file": path.parent / ca_file})
        kafka = config.kafka.model_copy(update={"security": security})
        config = config.model_copy(update={"kafka": kafka})
    if config.api is not None:  # its files are relative to the deployment file
        config = config.model_copy(update={"api": config.api.relative_to(path.parent)})
    prefs = config.notifier.preferences_file if config.notifier else None
    if config.notifier is not None and prefs is not None and not prefs.is_absolute():
        notifier = config.notifier.model_copy(update={"preferences_file": path.parent / prefs})
        config = config.model_copy(update={"notifier": notifier})
    if config.trading is not None:
        folders = tuple(path.parent / p for p in config.trading.strategy_path)
        ccxt = {  # key stores are relative to the file too
            venue: section.model_copy(update={"keystore": path.parent / section.keystore})
            for venue, section in config.trading.ccxt.items()
        }
        trading = config.trading.model_copy(update={"strategy_path": folders, "ccxt": ccxt})
        config = config.model_copy(update={"trading": trading})
        for shard in range(trading.processes()):  # import and build every strategy now
            trading_config(trading, shard)
    return config
