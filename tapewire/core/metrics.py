"""The one place that defines Tapewire's Prometheus metrics, and the ``/metrics`` endpoint.

Every metric is named ``tapewire_<full_words>`` and lives in :data:`REGISTRY` (not the
global default registry), so tests and embedded runs never collide. Later stages add
their metrics here, next to the ones that exist, so the catalogue stays in one file
(see ``docs/metrics.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, start_http_server

from tapewire.core.errors import TapewireError

PREFIX = "tapewire"

REGISTRY = CollectorRegistry(auto_describe=True)

# Latency buckets in seconds: 100 µs .. 10 s, dense below 10 ms where tick-to-order lives.
LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    10.0,
)

build_info = Info(f"{PREFIX}_build", "Tapewire version and runtime.", registry=REGISTRY)

messages_processed = Counter(
    f"{PREFIX}_messages_processed",
    "Messages a stage has processed, by stage and topic.",
    ["stage", "topic"],
    registry=REGISTRY,
)
messages_rejected = Counter(
    f"{PREFIX}_messages_rejected",
    "Messages a stage sent to a dead-letter topic, by stage and reason.",
    ["stage", "reason"],
    registry=REGISTRY,
)
stage_latency_seconds = Histogram(
    f"{PREFIX}_stage_latency_seconds",
    "Time from the tick's exchange or receive timestamp (reference) to the end of a stage "
    "(receive, normalize, strategy, risk, router); see docs/observability.md.",
    ["stage", "reference"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
tick_to_order_seconds = Histogram(
    f"{PREFIX}_tick_to_order_seconds",
    "Time from the market tick that triggered an order (its exchange or receive timestamp) "
    "to the router's venue submit, by venue.",
    ["venue", "reference"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
consumer_lag_messages = Gauge(
    f"{PREFIX}_consumer_lag_messages",
    "Messages between a consumer group's committed offset and the partition's end.",
    ["group", "topic", "partition"],
    registry=REGISTRY,
)
component_up = Gauge(
    f"{PREFIX}_component_up",
    "1 while a component (broker, sink, agent) is running and healthy, else 0.",
    ["component"],
    registry=REGISTRY,
)


@dataclass
class MetricsServer:
    """A running ``/metrics`` endpoint; call :meth:`stop` to close it."""

    host: str
    port: int
    _server: WSGIServer
    _thread: Thread

    @property
    def url(self) -> str:
        """The scrape URL."""
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(host: str, port: int) -> MetricsServer | None:
    """Serve :data:`REGISTRY` on ``http://host:port/metrics``; port 0 means "don't serve".

    Every long-running Tapewire process calls this with ``settings.metrics_port``.
    """
    if port == 0:
        return None
    from tapewire import __version__

    build_info.info({"version": __version__})
    try:
        server, thread = start_http_server(port, addr=host, registry=REGISTRY)
    except OSError as exc:
        raise TapewireError(
            f"cannot serve /metrics on {host}:{port}: {exc.strerror}",
            hint="another process uses the port: set TAPEWIRE_METRICS_PORT to a free port, "
            "or 0 to turn the endpoint off",
        ) from None
    return MetricsServer(host=host, port=server.server_port, _server=server, _thread=thread)


# --- stream processors (Faust agents, streams/agents/) ------------------------------------

BATCH_SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000)

stream_batch_size = Histogram(
    f"{PREFIX}_stream_batch_size",
    "Input messages per batch an agent took from its stream (stream.take_events).",
    ["agent"],
    buckets=BATCH_SIZE_BUCKETS,
    registry=REGISTRY,
)
stream_batch_seconds = Histogram(
    f"{PREFIX}_stream_batch_seconds",
    "Time an agent spent on one batch: decode, pure core, encode, send and delivery.",
    ["agent", "phase"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
messages_produced = Counter(
    f"{PREFIX}_messages_produced",
    "Messages a stage wrote to an output topic (dead-letter topics included).",
    ["stage", "topic"],
    registry=REGISTRY,
)
stream_agent_errors = Counter(
    f"{PREFIX}_stream_agent_errors",
    "Unexpected exceptions an agent's shell caught (the batch went to the DLQ instead).",
    ["agent", "error_type"],
    registry=REGISTRY,
)

# --- Connectors (connectors/live, connectors/capture) ------------------------------------

connector_frames_received = Counter(
    f"{PREFIX}_connector_frames_received",
    "Frames a live connector captured, by venue and transport (WEBSOCKET, REST).",
    ["venue", "transport"],
    registry=REGISTRY,
)
connector_reconnects = Counter(
    f"{PREFIX}_connector_reconnects",
    "Sessions a live connector ended and reconnected, by reason (error, stale).",
    ["venue", "reason"],
    registry=REGISTRY,
)
connector_rate_limit_hits = Counter(
    f"{PREFIX}_connector_rate_limit_hits",
    "REST answers 429 (rate limited) or 418 (banned) a venue sent, by status.",
    ["venue", "status"],
    registry=REGISTRY,
)
connector_rate_limit_waits = Counter(
    f"{PREFIX}_connector_rate_limit_waits",
    "REST calls that waited for a venue's rate-limit penalty to pass.",
    ["venue"],
    registry=REGISTRY,
)
connector_rate_limit_wait_seconds = Counter(
    f"{PREFIX}_connector_rate_limit_wait_seconds",
    "Total seconds REST calls waited for a venue's rate-limit penalty.",
    ["venue"],
    registry=REGISTRY,
)
feed_last_frame_timestamp_seconds = Gauge(
    f"{PREFIX}_feed_last_frame_timestamp_seconds",
    "Receive time (UTC, Unix seconds) of the newest frame of a venue the normalizer saw "
    "(feed staleness: time() minus this).",
    ["venue"],
    registry=REGISTRY,
)
coverage_gaps = Counter(
    f"{PREFIX}_coverage_gaps",
    "Coverage GAP events the normalizer emitted (sequence gap, checksum, handler error, "
    "disconnect), by venue.",
    ["venue"],
    registry=REGISTRY,
)
normalize_generic_frames = Counter(
    f"{PREFIX}_normalize_generic_frames",
    "Websocket frames of venues with a typed fast path that it handed to the generic "
    "decode + map (control frames, a field or value it does not take), by venue: a rising "
    "share of all frames means the venue changed its format.",
    ["venue"],
    registry=REGISTRY,
)
connector_last_frame_age_seconds = Gauge(
    f"{PREFIX}_connector_last_frame_age_seconds",
    "Seconds since a live connector's last frame (checked by its staleness watchdog).",
    ["venue"],
    registry=REGISTRY,
)

# --- ClickHouse sink (sinks/clickhouse/sink.py) -------------------------------------------

sink_rows_inserted = Counter(
    f"{PREFIX}_sink_rows_inserted",
    "Rows the ClickHouse sink inserted, by table (replayed batches included).",
    ["table"],
    registry=REGISTRY,
)
sink_insert_seconds = Histogram(
    f"{PREFIX}_sink_insert_seconds",
    "Duration of one ClickHouse insert by the sink, by table.",
    ["table"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
sink_batch_rows = Histogram(
    f"{PREFIX}_sink_batch_rows",
    "Rows per insert by the ClickHouse sink, by table.",
    ["table"],
    buckets=(1, 10, 100, 1_000, 10_000, 50_000, 100_000, 1_000_000),
    registry=REGISTRY,
)

# --- ccxt venue (connectors/orders/ccxt_venue.py) -----------------------------------------

ccxt_venue_requests = Counter(
    f"{PREFIX}_ccxt_venue_requests",
    "Signed REST calls the ccxt venue made, by venue, call and outcome "
    "(ok, rate_limited, banned, timeout, unavailable, rejected, error).",
    ["venue", "call", "outcome"],
    registry=REGISTRY,
)
ccxt_venue_rate_limit_headroom_seconds = Gauge(
    f"{PREFIX}_ccxt_venue_rate_limit_headroom_seconds",
    "Rate-limit headroom of a venue key: 0 while calls may go, else minus the seconds "
    "left of the 429/418 penalty (scope venue = shared by every key, key = this account).",
    ["venue", "scope"],
    registry=REGISTRY,
)
ccxt_venue_reconciliations = Counter(
    f"{PREFIX}_ccxt_venue_reconciliations",
    "Orders the ccxt venue reconciled by client order id, by outcome (found, quarantined).",
    ["venue", "outcome"],
    registry=REGISTRY,
)
ccxt_venue_orders_quarantined = Gauge(
    f"{PREFIX}_ccxt_venue_orders_quarantined",
    "Orders whose state the ccxt venue cannot determine (never re-sent; operator action).",
    ["venue"],
    registry=REGISTRY,
)

# --- Trading agents: strategy, risk, router, positions (streams/agents/) -----------------

trading_intents = Counter(
    f"{PREFIX}_trading_intents",
    "Order intents a strategy emitted to oms.requests, by strategy id.",
    ["strategy"],
    registry=REGISTRY,
)
risk_decisions = Counter(
    f"{PREFIX}_risk_decisions",
    "Risk gate decisions, by decision (APPROVED/DENIED) and denying rule ('' if approved).",
    ["decision", "rule"],
    registry=REGISTRY,
)
trading_state = Gauge(
    f"{PREFIX}_trading_state",
    "Trading state set by the last command: 0 ACTIVE, 1 REDUCING, 2 HALTED (account or *).",
    ["account"],
    registry=REGISTRY,
)
kill_switch_engaged = Gauge(
    f"{PREFIX}_kill_switch_engaged",
    "1 while the kill switch holds an account (or * = every account) HALTED, else 0.",
    ["account"],
    registry=REGISTRY,
)
orders_routed = Counter(
    f"{PREFIX}_orders_routed",
    "Approved requests the router sent to a venue, by venue and action.",
    ["venue", "action"],
    registry=REGISTRY,
)
trading_fills = Counter(
    f"{PREFIX}_trading_fills",
    "Fills reported by the venues, by venue and liquidity (MAKER/TAKER).",
    ["venue", "liquidity"],
    registry=REGISTRY,
)
position_alerts = Counter(
    f"{PREFIX}_position_alerts",
    "Alerts of the positions agent, by code (POSITION_LIMIT, LOSS_LIMIT, SLIPPAGE).",
    ["code"],
    registry=REGISTRY,
)
fill_slippage_bps = Histogram(
    f"{PREFIX}_fill_slippage_bps",
    "Slippage of each fill against the arrival NBBO mid, bps (positive = worse).",
    ["venue"],
    buckets=(-50, -10, -5, -1, 0, 1, 5, 10, 25, 50, 100, 250),
    registry=REGISTRY,
)
tca_shortfall_bps = Histogram(
    f"{PREFIX}_tca_shortfall_bps",
    "Implementation shortfall of each TCA report (an order or a parent), bps (positive = cost).",
    ["kind"],
    buckets=(-50, -10, -5, -1, 0, 1, 5, 10, 25, 50, 100, 250),
    registry=REGISTRY,
)

# --- notifier (sinks/notify) ------------------------------------------------------------
notifications = Counter(
    f"{PREFIX}_notifications",
    "Notifications by channel kind (webhook, email) and outcome (delivered, failed).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
notification_attempts = Counter(
    f"{PREFIX}_notification_attempts",
    "Delivery attempts by channel kind and result (ok, retryable, refused).",
    ["kind", "result"],
    registry=REGISTRY,
)
alerts_not_notified = Counter(
    f"{PREFIX}_alerts_not_notified",
    "Alerts the notifier did not send, by reason (duplicate, stale, unrouted).",
    ["reason"],
    registry=REGISTRY,
)

# --- API (tapewire/api) -----------------------------------------------------------------
api_requests = Counter(
    f"{PREFIX}_api_requests",
    "API requests by method, route template (not the path: bounded) and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
api_request_seconds = Histogram(
    f"{PREFIX}_api_request_seconds",
    "API request duration by route template, seconds.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
api_stream_connections = Gauge(
    f"{PREFIX}_api_stream_connections",
    "WebSocket connections of /v1/stream now open.",
    registry=REGISTRY,
)
api_stream_dropped = Counter(
    f"{PREFIX}_api_stream_dropped",
    "WebSocket clients closed (4429) because they fell further behind than their queue.",
    registry=REGISTRY,
)
