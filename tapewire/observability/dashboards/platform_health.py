"""The platform health dashboard (Prometheus): rates, lag, latency, broker, ClickHouse.

Every metric is one of ``tapewire.core.metrics`` (docs/metrics.md), except ``up``, which
Prometheus records for every scrape target. Stage latency comes from
``tapewire_stage_latency_seconds`` (labels ``stage``, ``reference``), tick-to-order from
``tapewire_tick_to_order_seconds`` (labels ``venue``, ``reference``), recorded at each venue
submit and measured here from the exchange timestamp (docs/observability.md).
"""

from __future__ import annotations

from tapewire.observability.dashboards.model import Dashboard, Panel, PromQL, Row, Variable

RATE = "[$__rate_interval]"
_LATENCY = "tapewire_stage_latency_seconds_bucket"
_TICK = 'tapewire_tick_to_order_seconds_bucket{reference="exchange"}'


def _quantiles(selector: str, by: str, legend: str) -> tuple[PromQL, ...]:
    return tuple(
        PromQL(
            f"histogram_quantile({q}, sum by (le{by}) (rate({selector}{RATE})))",
            f"P{int(q * 100)} {legend}".rstrip(),
        )
        for q in (0.5, 0.95, 0.99)
    )


PLATFORM_HEALTH = Dashboard(
    uid="tapewire-health",
    title="Tapewire: platform health",
    file_name="platform-health.json",
    description="Per-stage rates, consumer lag, stage latency and tick-to-order, components "
    "and broker, connectors, ClickHouse inserts (Prometheus).",
    time_from="now-30m",
    refresh="10s",
    variables=(
        Variable(
            "stage",
            "Stage",
            PromQL("label_values(tapewire_messages_processed_total, stage)"),
            multi=True,
            include_all=True,
        ),
    ),
    items=(
        Row("Components"),
        Panel(
            "Scrape targets up",
            "state-timeline",
            (PromQL('up{job=~"tapewire.*"}', "{{job}} {{instance}}"),),
            "1 while Prometheus scrapes the process's /metrics (every role serves it).",
            width=12,
        ),
        Panel(
            "Components up (broker, sink, agents)",
            "state-timeline",
            (PromQL("tapewire_component_up", "{{component}}"),),
            "1 while a component runs and is healthy, as the component reports it.",
            width=12,
        ),
        Row("Throughput"),
        Panel(
            "Messages processed / s by stage",
            "timeseries",
            (
                PromQL(
                    f'sum by (stage) (rate(tapewire_messages_processed_total{{stage=~"$stage"}}'
                    f"{RATE}))",
                    "{{stage}}",
                ),
            ),
            "Input messages per second of every stage (per role).",
            unit="ops",
        ),
        Panel(
            "Messages produced / s by stage and topic",
            "timeseries",
            (
                PromQL(
                    "sum by (stage, topic) "
                    f'(rate(tapewire_messages_produced_total{{stage=~"$stage"}}{RATE}))',
                    "{{stage}} → {{topic}}",
                ),
            ),
            "Output messages per second, dead-letter topics included.",
            unit="ops",
        ),
        Panel(
            "Dead-lettered / s",
            "timeseries",
            (
                PromQL(
                    f"sum by (stage, reason) (rate(tapewire_messages_rejected_total{RATE}))",
                    "{{stage}} {{reason}}",
                ),
            ),
            "Messages a stage sent to a dead-letter topic, by reason.",
            unit="ops",
        ),
        Panel(
            "Agent errors / s",
            "timeseries",
            (
                PromQL(
                    f"sum by (agent, error_type) (rate(tapewire_stream_agent_errors_total{RATE}))",
                    "{{agent}} {{error_type}}",
                ),
            ),
            "Unexpected exceptions a stage's shell caught (the batch was dead-lettered).",
            unit="ops",
        ),
        Panel(
            "Normalizer: share of frames on the generic path",
            "timeseries",
            (
                PromQL(
                    f"sum by (venue) (rate(tapewire_normalize_generic_frames_total{RATE})) / "
                    "sum by (venue) (rate(tapewire_connector_frames_received_total"
                    f'{{transport="WEBSOCKET"}}{RATE}))',
                    "{{venue}}",
                ),
            ),
            "Frames a venue's typed fast path handed to decode + map, per websocket frame "
            "captured: control frames only, until the venue adds a field the typed decode "
            "does not know (then near 1: the same records, 1.3-1.8x slower).",
            unit="percentunit",
            width=24,
        ),
        Row("Lag and latency"),
        Panel(
            "Consumer lag",
            "timeseries",
            (
                PromQL(
                    "sum by (group, topic) (tapewire_consumer_lag_messages)",
                    "{{group}} {{topic}}",
                ),
            ),
            "Messages between each group's committed offset and the end of the partitions.",
        ),
        Panel(
            "Stage latency P95 by stage",
            "timeseries",
            (
                PromQL(
                    "histogram_quantile(0.95, sum by (le, stage, reference) "
                    f"(rate({_LATENCY}{RATE})))",
                    "{{stage}} from {{reference}}",
                ),
            ),
            "Time from the exchange or receive timestamp to the end of each stage.",
            unit="s",
        ),
        Panel(
            "Tick-to-order latency",
            "timeseries",
            _quantiles(_TICK, "", ""),
            "Exchange timestamp to order submitted to the venue, P50/P95/P99.",
            unit="s",
        ),
        Panel(
            "Tick-to-order histogram",
            "heatmap",
            (PromQL(f"sum by (le) (increase({_TICK}{RATE}))", "{{le}}"),),
            "Orders per latency bucket over time (continuous histogram).",
            unit="s",
            options={"calculate": False, "yAxis": {"unit": "s"}, "cellGap": 1},
        ),
        Panel(
            "Batch time P95 by agent and phase",
            "timeseries",
            (
                PromQL(
                    "histogram_quantile(0.95, sum by (le, agent, phase) "
                    f"(rate(tapewire_stream_batch_seconds_bucket{RATE})))",
                    "{{agent}} {{phase}}",
                ),
            ),
            "Per batch: process (decode, core, encode) and send (produce and delivery).",
            unit="s",
        ),
        Panel(
            "Batch size P50 by agent",
            "timeseries",
            (
                PromQL(
                    "histogram_quantile(0.5, sum by (le, agent) "
                    f"(rate(tapewire_stream_batch_size_bucket{RATE})))",
                    "{{agent}}",
                ),
            ),
            "Messages per batch an agent took from its stream.",
        ),
        Row("Broker and connectors"),
        Panel(
            "Kafka broker up",
            "stat",
            (PromQL('max(tapewire_component_up{component="broker"})', "broker"),),
            "1 while the broker answers (component_up, component broker).",
            width=6,
            defaults={
                "mappings": [
                    {
                        "type": "value",
                        "options": {
                            "0": {"text": "DOWN", "color": "red"},
                            "1": {"text": "UP", "color": "green"},
                        },
                    }
                ]
            },
        ),
        Panel(
            "Connector frames / s",
            "timeseries",
            (
                PromQL(
                    "sum by (venue, transport) "
                    f"(rate(tapewire_connector_frames_received_total{RATE}))",
                    "{{venue}} {{transport}}",
                ),
            ),
            "Frames each live connector captured.",
            unit="ops",
            width=9,
        ),
        Panel(
            "Seconds since last frame",
            "timeseries",
            (PromQL("max by (venue) (tapewire_connector_last_frame_age_seconds)", "{{venue}}"),),
            "Staleness watchdog of each live connector.",
            unit="s",
            width=9,
        ),
        Panel(
            "Reconnects and rate limits",
            "timeseries",
            (
                PromQL(
                    f"sum by (venue, reason) (increase(tapewire_connector_reconnects_total{RATE}))",
                    "reconnect {{venue}} {{reason}}",
                ),
                PromQL(
                    "sum by (venue, status) "
                    f"(increase(tapewire_connector_rate_limit_hits_total{RATE}))",
                    "rate limited {{venue}} {{status}}",
                ),
            ),
            "Sessions reconnected (error, stale) and REST 429/418 answers.",
        ),
        Panel(
            "Orders routed / s and fills / s",
            "timeseries",
            (
                PromQL(
                    f"sum by (venue, action) (rate(tapewire_orders_routed_total{RATE}))",
                    "routed {{venue}} {{action}}",
                ),
                PromQL(
                    f"sum by (venue) (rate(tapewire_trading_fills_total{RATE}))",
                    "fills {{venue}}",
                ),
            ),
            "Approved requests sent to venues, and fills reported.",
            unit="ops",
        ),
        Row("ClickHouse"),
        Panel(
            "ClickHouse rows inserted / s by table",
            "timeseries",
            (
                PromQL(
                    f"sum by (table) (rate(tapewire_sink_rows_inserted_total{RATE}))",
                    "{{table}}",
                ),
            ),
            "Rows the sink inserted (a replayed batch counts again).",
            unit="rowsps",
        ),
        Panel(
            "ClickHouse insert duration P95 by table",
            "timeseries",
            (
                PromQL(
                    "histogram_quantile(0.95, sum by (le, table) "
                    f"(rate(tapewire_sink_insert_seconds_bucket{RATE})))",
                    "{{table}}",
                ),
            ),
            "Duration of one sink insert.",
            unit="s",
        ),
    ),
)
