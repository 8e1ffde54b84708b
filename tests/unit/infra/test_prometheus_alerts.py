"""The Prometheus alert rules: valid (``promtool check``), unit-tested (``promtool test
rules`` over prometheus_alerts_test.yml, a firing case per alert) and built only on
metrics Tapewire really exports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from tapewire.core import metrics
from tests.fixtures.prometheus import promtool_binary

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "infra/prometheus/alerts.yml"
RULE_TESTS = Path(__file__).with_name("prometheus_alerts_test.yml")
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "gauge": ("",),
    "info": ("_info",),
}


def _promtool(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(
        [promtool_binary(), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _alerts() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def _exported() -> set[str]:
    """Every sample name the metrics registry exposes (counter ``_total`` etc.)."""
    names: set[str] = set()
    for family in metrics.REGISTRY.collect():
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names


def test_the_rules_and_the_shipped_config_pass_promtool_check() -> None:
    assert f"SUCCESS: {len(_alerts())} rules found" in _promtool("check", "rules", str(RULES))
    out = _promtool("check", "config", "infra/prometheus/prometheus.yml")
    assert "SUCCESS: 1 rule files found" in out


def test_every_alert_fires_in_the_promtool_unit_tests() -> None:
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    firing = {
        check["alertname"]
        for case in cases
        for check in case["alert_rule_test"]
        if check["exp_alerts"]
    }
    quiet = {
        check["alertname"]
        for case in cases
        for check in case["alert_rule_test"]
        if not check["exp_alerts"]
    }
    assert firing == set(_alerts()) == quiet  # each alert: a firing and a quiet case
    assert "SUCCESS" in _promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)


def test_the_rules_use_only_metrics_the_code_exports() -> None:
    exported = _exported()
    used = {name for expr in _alerts().values() for name in re.findall(r"tapewire_\w+", expr)}
    assert used, "no tapewire metric in the rules"
    assert used <= exported, sorted(used - exported)
