"""Dashboards as code: the committed JSON is what the code generates, the JSON is what the
provisioned Grafana expects, and the macro expansion is the ClickHouse plugin's own.

The expected expansions are the plugin's unit-test cases (grafana/clickhouse-datasource,
``pkg/macros/macros_test.go``: 2014-11-12T11:45:26.371Z to 2015-11-12T11:45:26.371Z,
interval 20 s), so a drift from the plugin shows here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tapewire.observability.dashboards import (
    DASHBOARDS,
    MacroError,
    QueryContext,
    Sql,
    expand_promql,
    expand_sql,
    render,
)
from tapewire.observability.dashboards.build import main, stale_files

ROOT = Path(__file__).resolve().parents[3]
BOARDS = ROOT / "infra" / "grafana" / "dashboards"
FROM = datetime(2014, 11, 12, 11, 45, 26, 371_000, tzinfo=UTC)
TO = datetime(2015, 11, 12, 11, 45, 26, 371_000, tzinfo=UTC)


def _ctx(**variables: str | tuple[str, ...]) -> QueryContext:
    return QueryContext(FROM, TO, interval_ms=20_000, variables=variables)


def test_committed_json_is_generated() -> None:
    assert stale_files(BOARDS) == [], "run: python -m tapewire.observability.dashboards.build"
    on_disk = sorted(p.name for p in BOARDS.glob("*.json"))
    assert on_disk == sorted(d.file_name for d in DASHBOARDS)


def test_build_check_names_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 0
    assert main(["--check", str(tmp_path)]) == 0
    (tmp_path / "trading.json").write_text("{}\n")
    assert main(["--check", str(tmp_path)]) == 1
    assert "trading.json differs from the code" in capsys.readouterr().err


def test_json_uses_the_provisioned_datasources_and_unique_ids() -> None:
    provisioning = ROOT / "infra" / "grafana" / "provisioning" / "datasources" / "datasources.yml"
    sources = {d["uid"]: d["type"] for d in yaml.safe_load(provisioning.read_text())["datasources"]}
    assert len({d.uid for d in DASHBOARDS}) == len(DASHBOARDS) == 3
    for dashboard in DASHBOARDS:
        board = json.loads(render(dashboard))
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            assert sources[panel["datasource"]["uid"]] == panel["datasource"]["type"]
            assert panel["gridPos"]["x"] >= 0
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
            for target in panel["targets"]:
                assert target["datasource"] == panel["datasource"]
                if panel["datasource"]["type"] == "grafana-clickhouse-datasource":
                    assert target["editorType"] == "sql"
                    assert target["format"] in (0, 1)
                    assert target["rawSql"].startswith("SELECT")
                else:
                    assert target["expr"]
    kinds = {p.kind for d in DASHBOARDS for p in d.panels}
    assert {"candlestick", "state-timeline", "heatmap", "table", "timeseries"} <= kinds


def test_every_time_series_query_returns_time_first_and_tables_do_not_need_it() -> None:
    for dashboard in DASHBOARDS:
        for panel in dashboard.panels:
            for query in panel.queries:
                if isinstance(query, Sql) and query.format.value == "timeseries":
                    assert query.columns[0] == "time", panel.title
                    assert "ORDER BY time" in query.sql, panel.title


def test_macros_expand_as_the_plugin_does() -> None:
    sql = (
        "SELECT $__timeInterval(ts), $__timeInterval_ms(ts), $__interval_s FROM t "
        "WHERE $__timeFilter(ts) AND $__timeFilter_ms(ts) AND $__dateFilter(d) "
        "AND x > $__fromTime AND x < $__toTime AND y > $__fromTime_ms AND y < $__toTime_ms"
    )
    assert expand_sql(sql, _ctx()) == (
        "SELECT toStartOfInterval(toDateTime(ts), INTERVAL 20 second), "
        "toStartOfInterval(toDateTime64(ts, 3), INTERVAL 20000 millisecond), 20 FROM t "
        "WHERE ts >= toDateTime(1415792726) AND ts <= toDateTime(1447328726) "
        "AND ts >= fromUnixTimestamp64Milli(1415792726371) "
        "AND ts <= fromUnixTimestamp64Milli(1447328726371) "
        "AND d >= toDate('2014-11-12') AND d <= toDate('2015-11-12') "
        "AND x > toDateTime(1415792726) AND x < toDateTime(1447328726) "
        "AND y > fromUnixTimestamp64Milli(1415792726371) "
        "AND y < fromUnixTimestamp64Milli(1447328726371)"
    )


def test_interval_is_at_least_one_second() -> None:
    ctx = QueryContext(FROM, TO, interval_ms=250)
    assert expand_sql("$__interval_s $__timeInterval(c)", ctx) == (
        "1 toStartOfInterval(toDateTime(c), INTERVAL 1 second)"
    )


def test_macro_arguments_may_hold_function_calls() -> None:
    got = expand_sql("$__timeFilter(greatest(a, b))", _ctx())
    assert got == (
        "greatest(a, b) >= toDateTime(1415792726) AND greatest(a, b) <= toDateTime(1447328726)"
    )


def test_template_variables_as_grafana_formats_them() -> None:
    ctx = _ctx(one="BTC-USDT-SPOT", many=("a", "o'k"))
    assert expand_sql("x = ${one:singlequote} AND y IN (${many:singlequote})", ctx) == (
        "x = 'BTC-USDT-SPOT' AND y IN ('a','o\\'k')"
    )
    # the plugin's own formatter for an unformatted multi-value variable
    assert expand_sql("y IN ($many)", ctx) == "y IN ('a','o\\'k')"
    assert expand_promql('rate(m{s=~"$many"}[$__rate_interval])', ctx) == (
        'rate(m{s=~"a|o\'k"}[1m])'
    )


def test_unknown_macro_or_variable_is_an_error_naming_it() -> None:
    with pytest.raises(MacroError, match=r"\$__timeFIlter is not a macro") as info:
        expand_sql("WHERE $__timeFIlter(ts)", _ctx())
    assert info.value.name == "timeFIlter"
    with pytest.raises(MacroError, match=r"\$account, which has no value"):
        expand_sql("WHERE account IN (${account:singlequote})", _ctx())
    with pytest.raises(MacroError, match="expects 1 argument"):
        expand_sql("WHERE $__timeFilter(a, b)", _ctx())
    with pytest.raises(MacroError, match="timezone-aware"):
        QueryContext(datetime(2024, 1, 1), datetime(2024, 1, 2), interval_ms=1)


def test_go_time_unix_floors_sub_second_bounds() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(milliseconds=999)
    ctx = QueryContext(start, start + timedelta(seconds=1), interval_ms=1000)
    assert expand_sql("$__fromTime $__fromTime_ms", ctx) == (
        "toDateTime(1704067200) fromUnixTimestamp64Milli(1704067200999)"
    )
