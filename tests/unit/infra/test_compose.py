"""docker-compose.yml can't run here (no Docker engine): check it parses and its mounts exist."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tapewire.core import metrics

ROOT = Path(__file__).resolve().parents[3]


COMPOSE_ROLES = ("connector", "normalize", "aggregate", "trade", "sink", "api")
"""The roles the compose deployment runs: all but the notifier, which needs the operator's
channels (docs/notifications.md)."""


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_has_the_full_stack() -> None:
    services = _compose()["services"]
    assert set(services) >= {"kafka", "schema-registry", "clickhouse", "prometheus", "grafana"}
    for name, service in services.items():
        assert service.get("image"), f"service {name} has no image"
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_every_bind_mount_exists() -> None:
    compose = _compose()
    named_volumes = set(compose.get("volumes") or {})
    checked = 0
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source in named_volumes:
                continue
            assert source.startswith("./"), f"{name}: unexpected mount {volume}"
            assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
            checked += 1
    assert checked >= 4


def test_grafana_provisioning_parses_and_dashboards_use_known_metrics() -> None:
    provisioning = ROOT / "infra/grafana/provisioning"
    datasources = yaml.safe_load((provisioning / "datasources/datasources.yml").read_text())
    uids = {d["uid"] for d in datasources["datasources"]}
    assert uids == {"tapewire-clickhouse", "tapewire-prometheus"}
    yaml.safe_load((provisioning / "dashboards/dashboards.yml").read_text())

    known = {m.name for m in metrics.REGISTRY.collect()}
    dashboards = sorted((ROOT / "infra/grafana/dashboards").glob("*.json"))
    assert dashboards
    for path in dashboards:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] in uids
            for target in panel["targets"]:
                if panel["datasource"]["uid"] != "tapewire-prometheus":
                    continue
                for name in re.findall(r"tapewire_[a-z_]+", target["expr"]):
                    base = re.sub(r"_(total|bucket|sum|count|created)$", "", name)
                    assert base in known, f"{path.name}: {name} not in tapewire.core.metrics"


def test_prometheus_config_scrapes_tapewire() -> None:
    config = yaml.safe_load((ROOT / "infra/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert "tapewire" in jobs


def test_every_role_is_a_service_of_the_one_image_with_the_compose_deployment() -> None:
    from tapewire.deploy.config import load_config

    services = _compose()["services"]
    kafka = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    internal = re.search(r"PLAINTEXT://([^,]+)", kafka)
    assert internal is not None
    config = load_config(ROOT / "examples/compose.toml")
    # every role but the notifier (the operator's to add: it needs their channels)
    assert config.roles() == COMPOSE_ROLES
    assert config.kafka.bootstrap == internal.group(1)  # kafka:29092 inside the network
    assert config.clickhouse.url is not None
    assert "@clickhouse:8123/" in config.clickhouse.url
    for role in COMPOSE_ROLES:
        service = services[f"tapewire-{role}"]
        assert (service["image"], service["build"]) == ("tapewire:latest", ".")
        assert service["command"] == ["run", role, "--config", "/etc/tapewire/deploy.toml"]
        assert "./examples/compose.toml:/etc/tapewire/deploy.toml:ro" in service["volumes"]
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_the_dockerfile_copies_every_package_folder_and_runs_tapewire() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    linked = sorted(p.name for p in (ROOT / "tapewire").iterdir() if p.is_symlink())
    assert linked == ["connectors", "schemas", "sinks", "streams"]
    for folder in ("tapewire", *linked):
        assert f"COPY {folder} ./{folder}" in dockerfile
    assert 'ENTRYPOINT ["tapewire"]' in dockerfile
    assert "RUN pip install ." in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "*-data", "tests"} <= set(ignored)


def test_prometheus_scrapes_every_role_service_at_its_metrics_port() -> None:
    from tapewire.deploy.config import load_config

    config = yaml.safe_load((ROOT / "infra/prometheus/prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "tapewire-roles"]
    ports = {d["names"][0]: d["port"] for d in job["dns_sd_configs"]}
    config = load_config(ROOT / "examples/compose.toml")
    assert config.metrics.host == "0.0.0.0"  # noqa: S104 - inside its container
    assert ports == {f"tapewire-{role}": config.metrics_port(role) for role in COMPOSE_ROLES}
