"""The report of one backtest run: ``summary.json``, ``pnl.csv``, ``equity.png``,
``index.html`` in one directory.

``summary.json`` is a pure function of the inputs (stored history, config, range, interval):
keys sorted, decimals as exact strings, no run id and no wall-clock time, so two runs over
the same history give byte-identical files (the run id, wall times and speed go to
``run.json`` and the ``backtest_runs`` table). The plot needs matplotlib (the ``backtest``
extra: ``pip install 'tapewire[backtest]'``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tapewire.backtest.engine import Outputs
from tapewire.backtest.stats import (
    YEAR_NS,
    PnlPoint,
    equity_by_currency,
    performance,
    text,
    trading_counts,
)
from tapewire.backtest.tca import summary_of
from tapewire.core.errors import ConfigError
from tapewire.core.timestamps import format_ns
from tapewire.schemas.codec import Codec

SUMMARY, RUN, CSV, PNG, HTML = "summary.json", "run.json", "pnl.csv", "equity.png", "index.html"


@dataclass(frozen=True)
class RunSpec:
    """What defines a run's result (everything in ``summary.json["run"]``)."""

    config_hash: str
    params: Mapping[str, str]
    from_ns: int
    to_ns: int
    order: str
    interval_ns: int

    def as_json(self) -> dict[str, Any]:
        """The ``run`` section."""
        return {
            "config_hash": self.config_hash,
            "params": dict(sorted(self.params.items())),
            "from_ns": self.from_ns,
            "to_ns": self.to_ns,
            "from": format_ns(self.from_ns),
            "to": format_ns(self.to_ns),
            "order": self.order,
            "interval_ns": self.interval_ns,
        }


def dead_letter_counts(outputs: Outputs) -> dict[str, int]:
    """Dead letters by ``stage:error_type``."""
    codec = Codec()
    counts: dict[str, int] = {}
    for value in outputs.dead_letters:
        _, letter = codec.decode_any(value)
        key = f"{letter['stage']}:{letter['error_type']}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def summarize(spec: RunSpec, outputs: Outputs, points: Sequence[PnlPoint]) -> dict[str, Any]:
    """The ``summary.json`` document."""
    times = [s.ts_ns for s in outputs.samples]
    return {
        "run": spec.as_json(),
        "market_events": outputs.market_events,
        "records": dict(sorted(outputs.counts.items())),
        "trading": trading_counts(outputs),
        "pnl": performance(list(points), times, spec.interval_ns),
        "sharpe_annualisation": f"sqrt({YEAR_NS} / interval_ns) on equity increments "
        "(365-day year, no risk-free rate)",
        "tca": summary_of(outputs),
        "dead_letters": dead_letter_counts(outputs),
    }


def dumps(document: Mapping[str, Any]) -> bytes:
    """Stable JSON: sorted keys, two-space indent, trailing newline."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def write_csv(path: Path, points: Sequence[PnlPoint]) -> None:
    """The PnL series, one row per sample, account and currency."""
    lines = ["ts_ns,time,account,currency,realized_pnl,unrealized_pnl,fees,total_pnl,drawdown"]
    for p in points:
        values = (p.realized, p.unrealized, p.fees, p.total, p.drawdown)
        lines.append(
            ",".join((str(p.ts_ns), format_ns(p.ts_ns), p.account, p.currency, *map(text, values)))
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def plot(path: Path, equity: Mapping[str, Sequence[tuple[int, Any]]], start_ns: int) -> None:
    """Equity (top) and drawdown (bottom) per currency against seconds since ``start_ns``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError(
            "the backtest plot needs matplotlib, which is not installed",
            field="matplotlib",
            hint="pip install 'tapewire[backtest]' (or pip install matplotlib)",
        ) from None
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, dpi=100)
    for currency, series in equity.items():
        xs = [(ts - start_ns) / 1e9 for ts, _ in series]
        ys = [float(v) for _, v in series]
        peak, downs = 0.0, []
        for y in ys:
            peak = max(peak, y)
            downs.append(y - peak)
        top.plot(xs, ys, label=currency, linewidth=1.2)
        bottom.fill_between(xs, downs, 0, alpha=0.4, label=currency)
    top.set_ylabel("equity (PnL)")
    top.set_title(f"equity and drawdown from {format_ns(start_ns)}")
    bottom.set_ylabel("drawdown")
    bottom.set_xlabel("seconds since the start of the range")
    for axis in (top, bottom):
        axis.grid(True, alpha=0.3)
        if equity:
            axis.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


def _rows(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(_rows(value, f"{name}."))
        else:
            rows.append((name, "-" if value is None else str(value)))
    return rows


def page(summary: Mapping[str, Any]) -> str:
    """``index.html``: the plot and every figure of the summary as tables."""
    sections = []
    for title in ("run", "trading", "pnl", "tca", "records", "dead_letters"):
        body = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in _rows(summary.get(title) or {})
        )
        sections.append(f"<h2>{title}</h2><table>{body or '<tr><td>none</td></tr>'}</table>")
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:90%}"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Tapewire backtest</title>"
        f"<style>{style}</style></head><body><h1>Tapewire backtest</h1>"
        f"<p>{summary['market_events']:,} market events; "
        f"{html.escape(str(summary['sharpe_annualisation']))}.</p>"
        f"<img src='{PNG}' alt='equity and drawdown'>" + "".join(sections) + "</body></html>\n"
    )


def write_report(
    out: Path,
    spec: RunSpec,
    outputs: Outputs,
    points: Sequence[PnlPoint],
    run_info: Mapping[str, Any],
) -> dict[str, Any]:
    """Write the report files into ``out`` (``points``: :func:`pnl_series` of the outputs'
    samples); returns the summary document."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(spec, outputs, points)
    (out / SUMMARY).write_bytes(dumps(summary))
    (out / RUN).write_bytes(dumps(run_info))
    write_csv(out / CSV, points)
    times = [s.ts_ns for s in outputs.samples]
    plot(out / PNG, equity_by_currency(points, times), spec.from_ns)
    (out / HTML).write_text(page(summary), encoding="utf-8")
    return summary
