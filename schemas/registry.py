"""Topics, subjects and schema ids: which schema goes on which topic, and how ids are found.

* :data:`TOPICS` is the one table that maps each topic to its record schema and its key.
* Subjects follow Confluent's TopicNameStrategy: ``<topic>-value``.
* Without a schema registry, a schema's id is derived from the schema itself
  (:func:`local_schema_id`), so every version of every schema has a stable id that any
  language can recompute. With ``SCHEMA_REGISTRY_URL`` set, schemas are registered and
  the registry's ids are used (:class:`ConfluentSchemaRegistry`).

See ``docs/schemas.md`` for the rationale.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Protocol, cast

from tapewire.core.errors import SchemaError
from tapewire.core.records import Record, TypedRecord
from tapewire.core.settings import Settings, load_settings

NAMESPACE = "io.tapewire"
SUBJECT_SUFFIX = "-value"
COMPATIBILITY = "BACKWARD"

AvroSchema = dict[str, Any]
"""A self-contained Avro schema as parsed JSON (every named type defined at first use)."""


@dataclass(frozen=True)
class TopicSpec:
    """One topic (or topic family) and what travels on it.

    ``topic`` is an exact name, or a prefix ending in ``.*`` for a family such as
    ``md.bars.*`` (``md.bars.1s``, ``md.bars.1m``) or ``dlq.*``. The message key is the
    values of ``key_fields`` joined with ``:`` and UTF-8 encoded.
    """

    topic: str
    schema: str
    key_fields: tuple[str, ...]
    description: str

    def matches(self, topic: str) -> bool:
        """True when ``topic`` is this topic or belongs to this family."""
        if self.topic.endswith(".*"):
            prefix = self.topic[:-1]
            return topic.startswith(prefix) and len(topic) > len(prefix)
        return topic == self.topic


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        "md.raw",
        f"{NAMESPACE}.RawFrame",
        ("venue", "connection_id"),
        "exact exchange frames + receive time; keyed by venue:connection_id so one "
        "connection's frames stay in order on one partition while a venue's connections "
        "spread over partitions (docs/streams.md, Partitioning)",
    ),
    TopicSpec(
        "md.markets",
        f"{NAMESPACE}.RawFrame",
        ("venue", "rest_url"),
        "the venues' market-metadata REST frames (md.raw bytes unchanged), compacted; every "
        "normalize worker reads it whole so any worker can normalize any venue",
    ),
    TopicSpec("md.trades", f"{NAMESPACE}.Trade", ("venue", "instrument"), "normalized trades"),
    TopicSpec(
        "md.book", f"{NAMESPACE}.BookUpdate", ("venue", "instrument"), "L2 snapshots and deltas"
    ),
    TopicSpec("md.quotes", f"{NAMESPACE}.Quote", ("venue", "instrument"), "per-venue BBO"),
    TopicSpec(
        "md.derivatives",
        f"{NAMESPACE}.DerivativesTicker",
        ("venue", "instrument"),
        "mark price, index price and funding rate of perpetuals and futures",
    ),
    TopicSpec(
        "md.bars.*",
        f"{NAMESPACE}.Bar",
        ("venue", "instrument"),
        "OHLCV bars, one topic per interval: md.bars.1s, md.bars.1m, ...",
    ),
    TopicSpec(
        "md.coverage",
        f"{NAMESPACE}.CoverageEvent",
        ("venue", "instrument"),
        "gaps and resyncs: periods in which a venue's data is incomplete",
    ),
    TopicSpec(
        "md.nbbo",
        f"{NAMESPACE}.ConsolidatedQuote",
        ("instrument",),
        "consolidated best bid/offer across venues",
    ),
    TopicSpec(
        "md.depth",
        f"{NAMESPACE}.ConsolidatedDepth",
        ("instrument",),
        "top N levels per venue of each consolidated instrument, fee-adjusted (the smart "
        "order router's multi-venue book)",
    ),
    TopicSpec(
        "oms.requests",
        f"{NAMESPACE}.OrderRequest",
        ("account",),
        "order requests from strategies, CLI, kill switch",
    ),
    TopicSpec(
        "oms.approved",
        f"{NAMESPACE}.RiskDecision",
        ("account",),
        "approving risk decisions (with the request); the router reads only this",
    ),
    TopicSpec(
        "oms.denied",
        f"{NAMESPACE}.RiskDecision",
        ("account",),
        "denying risk decisions (with the rule and reason)",
    ),
    TopicSpec("oms.events", f"{NAMESPACE}.OrderEvent", ("account",), "execution reports"),
    TopicSpec(
        "oms.parent_requests",
        f"{NAMESPACE}.ParentRequest",
        ("account",),
        "parent orders (and their cancels) for the smart order router and execution algos",
    ),
    TopicSpec(
        "oms.parent_events",
        f"{NAMESPACE}.ParentOrderEvent",
        ("account",),
        "parent order events with the parent's state after each: the algos' journal",
    ),
    TopicSpec("oms.fills", f"{NAMESPACE}.Fill", ("account",), "fills"),
    TopicSpec("positions", f"{NAMESPACE}.Position", ("account",), "positions and PnL"),
    TopicSpec(
        "tca",
        f"{NAMESPACE}.TcaReport",
        ("account",),
        "transaction cost analysis: one report per finished order and per parent",
    ),
    TopicSpec("alerts", f"{NAMESPACE}.Alert", ("source",), "alerts from risk, feeds, OMS"),
    TopicSpec(
        "dlq.*",
        f"{NAMESPACE}.DeadLetter",
        ("source_topic",),
        "dead letters per stage: dlq.normalize, dlq.sink, ...",
    ),
)


_SPECS: dict[str, TopicSpec] = {}
"""Topic name -> its spec, filled by :func:`topic_spec` (topic names are few)."""


def topic_spec(topic: str) -> TopicSpec:
    """The :class:`TopicSpec` for ``topic``; :class:`SchemaError` for an unknown topic."""
    found = _SPECS.get(topic)
    if found is not None:
        return found
    for spec in TOPICS:
        if spec.matches(topic):
            if len(_SPECS) < 4096:
                _SPECS[topic] = spec
            return spec
    known = ", ".join(spec.topic for spec in TOPICS)
    raise SchemaError(
        f"no schema is defined for topic {topic!r}",
        value=topic,
        hint=f"use one of: {known} (or add it to tapewire.schemas.registry.TOPICS)",
    )


def schema_name_for_topic(topic: str) -> str:
    """Full name of the record schema carried by ``topic`` (e.g. ``io.tapewire.Trade``)."""
    return topic_spec(topic).schema


def subject_for_topic(topic: str) -> str:
    """Registry subject of a topic's values (TopicNameStrategy): ``<topic>-value``."""
    topic_spec(topic)
    return f"{topic}{SUBJECT_SUFFIX}"


def message_key(topic: str, record: Record) -> bytes:
    """Kafka message key for ``record`` on ``topic``: the key fields joined by ``:``, UTF-8."""
    spec = topic_spec(topic)
    parts = []
    for name in spec.key_fields:
        value = record.get(name)
        if not isinstance(value, str):
            raise SchemaError(
                f"{spec.schema}: key field {name!r} = {value!r} is not a string",
                schema=spec.schema,
                field=name,
                value=value,
                hint=f"messages on {spec.topic} are keyed by {':'.join(spec.key_fields)}",
            )
        parts.append(value)
    return ":".join(parts).encode("utf-8")


def key_function(topic: str) -> Callable[[Record], bytes]:
    """:func:`message_key` for one topic, with the topic's key fields looked up once; the
    keys of typed records are remembered by their key fields' values (a book's or an
    instrument's messages repeat them; at most ``_KEYS_REMEMBERED``, then forgotten)."""
    spec = topic_spec(topic)
    fields = spec.key_fields
    attributes = attrgetter(*fields)  # one C call for every key field of a typed record
    single = len(fields) == 1
    known: dict[Any, bytes] = {}

    def key(record: Record) -> bytes:
        parts: Any
        if isinstance(record, TypedRecord):
            try:
                values = attributes(record)
            except AttributeError:
                return message_key(topic, record)  # says which field is missing
            try:
                found = known.get(values)
            except TypeError:  # an unhashable value: not a string, message_key says so
                return message_key(topic, record)
            if found is not None:
                return found
            parts = (values,) if single else values
        else:
            values = None
            parts = [record.get(name) for name in fields]
        for part in parts:
            if part.__class__ is not str:
                return message_key(topic, record)  # a str subclass, or the error
        written = ":".join(cast(list[str], parts)).encode("utf-8")
        if values is not None:
            if len(known) >= _KEYS_REMEMBERED:
                known.clear()
            known[values] = written
        return written

    return key


_KEYS_REMEMBERED = 4096
"""Keys one topic's key function remembers (then it forgets them all)."""


# --- Deterministic ids ------------------------------------------------------------------

PRIMITIVES = frozenset(("null", "boolean", "int", "long", "float", "double", "bytes", "string"))
"""Avro's primitive type names."""
_LOGICAL_ATTRIBUTES = ("logicalType", "precision", "scale")


def canonical_form(schema: Any, *, logical: bool = True) -> str:
    """Avro Parsing Canonical Form of a self-contained schema, keeping logical types.

    With ``logical=False`` this is exactly the Parsing Canonical Form of the Avro
    specification (fullnames, only ``name, type, fields, symbols, items, values, size``,
    in that order, no whitespace). With ``logical=True`` (the default, used for ids)
    ``logicalType``, ``precision`` and ``scale`` are kept too, appended in that order
    after the spec's attributes, because they change what the bytes mean: plain PCF maps
    ``bytes`` and ``decimal(38,18)`` to the same string. A schema without logical types
    has the same form either way.
    """
    out: list[str] = []
    _canonical(schema, "", set(), out, logical)
    return "".join(out)


def qualify(name: str, namespace: str) -> str:
    """Full name of ``name`` in ``namespace`` (a name with a dot is already full)."""
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _canonical(schema: Any, namespace: str, seen: set[str], out: list[str], logical: bool) -> None:
    if isinstance(schema, str):
        if schema in PRIMITIVES:
            out.append(f'"{schema}"')
            return
        full = qualify(schema, namespace)
        if full not in seen:
            raise SchemaError(
                f"type {full!r} is referenced before it is defined",
                schema=full,
                hint="pass a self-contained schema (tapewire.schemas.loading.load_schemas()[name])",
            )
        out.append(json.dumps(full))
        return
    if isinstance(schema, list):
        out.append("[")
        for index, branch in enumerate(schema):
            if index:
                out.append(",")
            _canonical(branch, namespace, seen, out, logical)
        out.append("]")
        return
    if not isinstance(schema, Mapping):
        raise SchemaError(f"not an Avro schema: {schema!r}", value=schema)
    kind = schema["type"]
    extra = ""
    if logical and "logicalType" in schema:
        extra = "".join(
            f",{json.dumps(attr)}:{json.dumps(schema[attr])}"
            for attr in _LOGICAL_ATTRIBUTES
            if attr in schema
        )
    if kind in PRIMITIVES:
        out.append(f'{{"type":"{kind}"{extra}}}' if extra else f'"{kind}"')
    elif kind in ("record", "error", "enum", "fixed"):
        full = qualify(schema["name"], schema.get("namespace", namespace))
        seen.add(full)
        inner_namespace = full.rpartition(".")[0]
        name = json.dumps(full)
        if kind == "enum":
            symbols = ",".join(json.dumps(s) for s in schema["symbols"])
            out.append(f'{{"name":{name},"type":"enum","symbols":[{symbols}]{extra}}}')
        elif kind == "fixed":
            out.append(f'{{"name":{name},"type":"fixed","size":{int(schema["size"])}{extra}}}')
        else:
            out.append(f'{{"name":{name},"type":"record","fields":[')
            for index, field in enumerate(schema["fields"]):
                if index:
                    out.append(",")
                out.append(f'{{"name":{json.dumps(field["name"])},"type":')
                _canonical(field["type"], inner_namespace, seen, out, logical)
                out.append("}")
            out.append(f"]{extra}}}")
    elif kind == "array":
        out.append('{"type":"array","items":')
        _canonical(schema["items"], namespace, seen, out, logical)
        out.append(f"{extra}}}")
    elif kind == "map":
        out.append('{"type":"map","values":')
        _canonical(schema["values"], namespace, seen, out, logical)
        out.append(f"{extra}}}")
    else:  # {"type": "io.tapewire.Side"}: a reference written as an object
        _canonical(kind, namespace, seen, out, logical)


def local_schema_id(schema: Any) -> int:
    """Deterministic id of a self-contained schema, used when there is no registry.

    ``int.from_bytes(sha256(canonical_form(schema).encode("utf-8"))[:4], "big") &
    0x7FFFFFFF``: the first four bytes of the SHA-256 of the canonical form (with logical
    types, see :func:`canonical_form`), as a big-endian integer masked to a positive int32.
    Docs, defaults and aliases do not change the id (they do not change the bytes).
    """
    digest = hashlib.sha256(canonical_form(schema).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFF_FFFF


# --- Registries ---------------------------------------------------------------------------


class SchemaRegistry(Protocol):
    """Where schema ids come from and where writer schemas are found by id."""

    def register(self, subject: str, schema: AvroSchema) -> int:
        """Id of ``schema`` under ``subject``, registering it if needed."""
        ...

    def get_schema(self, schema_id: int) -> AvroSchema:
        """The writer schema with id ``schema_id``; :class:`SchemaError` if unknown."""
        ...


class LocalSchemaRegistry:
    """In-process registry with deterministic ids (:func:`local_schema_id`).

    It knows the schemas registered in this process: the current ones (the codec registers
    them all) and any older version passed to :meth:`register`. Two different schemas with
    the same id are refused (a collision), never confused.
    """

    def __init__(self, schemas: Iterable[AvroSchema] = ()) -> None:
        self._by_id: dict[int, tuple[str, AvroSchema]] = {}
        self._lock = threading.Lock()
        for schema in schemas:
            self.register("", schema)

    def register(self, subject: str, schema: AvroSchema) -> int:
        """Deterministic id of ``schema`` (``subject`` is ignored: ids are global)."""
        form = canonical_form(schema)
        schema_id = local_schema_id(schema)
        with self._lock:
            known = self._by_id.get(schema_id)
            if known is None:
                self._by_id[schema_id] = (form, schema)
            elif known[0] != form:
                raise SchemaError(
                    f"schema id collision: {_name(schema)} and {_name(known[1])} both hash "
                    f"to id {schema_id}",
                    schema=_name(schema),
                    value=schema_id,
                    hint="rename a field or add one with a default to change the canonical "
                    "form, or use a schema registry (SCHEMA_REGISTRY_URL)",
                )
        return schema_id

    def get_schema(self, schema_id: int) -> AvroSchema:
        """The schema registered with ``schema_id`` in this process."""
        known = self._by_id.get(schema_id)
        if known is None:
            raise SchemaError(
                f"unknown schema id {schema_id}: no schema known to this process has it",
                value=schema_id,
                hint="the data was written by a schema version this process does not have; "
                "set SCHEMA_REGISTRY_URL to the registry the producer used, or register the "
                "writer's schema with LocalSchemaRegistry.register",
            )
        return known[1]

    def ids(self) -> dict[int, str]:
        """Every known id with the full name of its schema."""
        return {schema_id: _name(schema) for schema_id, (_, schema) in self._by_id.items()}


class ConfluentSchemaRegistry:
    """A Confluent-compatible registry through confluent-kafka's ``SchemaRegistryClient``.

    REST endpoints used: ``PUT /config/{subject}`` (set the subject's compatibility, once,
    unless ``compatibility`` is None), ``POST /subjects/{subject}/versions`` (register;
    or with ``auto_register=False``, ``POST /subjects/{subject}`` to look the schema up
    without registering) and ``GET /schemas/ids/{id}`` (writer schema by id; cached).
    """

    def __init__(
        self,
        client: Any,
        *,
        auto_register: bool = True,
        compatibility: str | None = COMPATIBILITY,
    ) -> None:
        self._client = client
        self._auto_register = auto_register
        self._compatibility = compatibility
        self._configured: set[str] = set()
        self._schemas: dict[int, AvroSchema] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
        auto_register: bool = True,
        compatibility: str | None = COMPATIBILITY,
    ) -> ConfluentSchemaRegistry:
        """Connect to the registry at ``url`` (basic auth when ``username`` is given)."""
        from confluent_kafka.schema_registry import SchemaRegistryClient

        conf: dict[str, Any] = {"url": url, "timeout": timeout_s}
        if username is not None:
            conf["basic.auth.user.info"] = f"{username}:{password or ''}"
        return cls(
            SchemaRegistryClient(conf), auto_register=auto_register, compatibility=compatibility
        )

    @property
    def url(self) -> str:
        """Base URL(s) of the registry (for messages)."""
        return ",".join(getattr(getattr(self._client, "_rest_client", None), "base_urls", []))

    def register(self, subject: str, schema: AvroSchema) -> int:
        """Register ``schema`` under ``subject`` (or look it up) and return the registry's id."""
        from confluent_kafka.schema_registry import Schema

        name = _name(schema)
        with self._lock:
            if self._compatibility and subject not in self._configured:
                self._call(
                    lambda: self._client.set_compatibility(subject, self._compatibility),
                    f"setting compatibility {self._compatibility} on subject {subject!r}",
                    name,
                    "give the registry user write access to the subject config, or pass "
                    "compatibility=None to leave the registry's setting alone",
                )
                self._configured.add(subject)
        avro = Schema(json.dumps(schema, separators=(",", ":")), "AVRO")
        if self._auto_register:
            schema_id = self._call(
                lambda: self._client.register_schema(subject, avro),
                f"registering {name} under subject {subject!r}",
                name,
                "an incompatible change (409) must be made backward compatible: new fields "
                "need defaults, enum symbols may only be added (see docs/schemas.md)",
            )
        else:
            schema_id = self._call(
                lambda: self._client.lookup_schema(subject, avro).schema_id,
                f"looking up {name} under subject {subject!r}",
                name,
                "register the schema first (a producer with auto_register=True, or the "
                "registry's REST API)",
            )
        schema_id = int(schema_id)
        with self._lock:
            self._schemas.setdefault(schema_id, schema)
        return schema_id

    def get_schema(self, schema_id: int) -> AvroSchema:
        """Writer schema ``schema_id`` from the registry (fetched once, then cached)."""
        cached = self._schemas.get(schema_id)
        if cached is not None:
            return cached
        fetched = self._call(
            lambda: self._client.get_schema(schema_id),
            f"fetching schema id {schema_id}",
            None,
            "the id in the message header is not in this registry: is the consumer pointed "
            "at the registry the producer used?",
        )
        if getattr(fetched, "schema_type", "AVRO") not in (None, "AVRO"):
            raise SchemaError(
                f"schema id {schema_id} is a {fetched.schema_type} schema, not Avro",
                value=schema_id,
                hint="this topic carries Avro only",
            )
        if getattr(fetched, "references", None):
            raise SchemaError(
                f"schema id {schema_id} uses schema references, which Tapewire does not read",
                value=schema_id,
                hint="register self-contained schemas (Tapewire registers them that way)",
            )
        schema: AvroSchema = json.loads(fetched.schema_str)
        with self._lock:
            self._schemas[schema_id] = schema
        return schema

    def _call(self, call: Any, what: str, schema: str | None, hint: str) -> Any:
        try:
            return call()
        except SchemaError:
            raise
        except Exception as exc:
            status = getattr(exc, "http_status_code", None)
            detail = getattr(exc, "error_message", None) or str(exc) or type(exc).__name__
            raise SchemaError(
                f"schema registry {self.url or '?'}: {what} failed"
                + (f" (HTTP {status})" if status else "")
                + f": {detail}",
                schema=schema,
                hint=hint
                if status
                else "check SCHEMA_REGISTRY_URL and that the registry is running",
            ) from exc


def registry_from_settings(settings: Settings | None = None) -> SchemaRegistry:
    """The registry the settings ask for: Confluent when a URL is set, else local ids."""
    if settings is None:
        settings = load_settings()
    if not settings.schema_registry_url:
        return LocalSchemaRegistry()
    password = settings.schema_registry_password
    return ConfluentSchemaRegistry.from_url(
        settings.schema_registry_url,
        username=settings.schema_registry_username,
        password=password.get_secret_value() if password is not None else None,
    )


def _name(schema: Any) -> str:
    if isinstance(schema, Mapping):
        name = str(schema.get("name", "?"))
        namespace = schema.get("namespace")
        return name if "." in name or not namespace else f"{namespace}.{name}"
    return str(schema)
