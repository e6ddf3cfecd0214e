"""docker-compose.yml cannot run here (no Docker engine): check it statically against vox."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vox.settings import Settings, env_name

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
KNOWN_ENV = {env_name(field) for field in Settings.model_fields}


def test_compose_has_the_whole_stack() -> None:
    assert {"kafka", "clickhouse", "vox", "prometheus", "grafana"} <= set(COMPOSE["services"])


def test_worker_environment_is_valid_vox_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = COMPOSE["services"]["vox"]["environment"]
    assert set(environment) <= KNOWN_ENV, set(environment) - KNOWN_ENV
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    settings = Settings()
    assert settings.clickhouse.kind == "server" and settings.clickhouse.host == "clickhouse"
    kafka_host = settings.kafka_bootstrap.split(":")[0]
    assert kafka_host in COMPOSE["services"]


def test_prometheus_scrapes_the_worker_port() -> None:
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
    ports = COMPOSE["services"]["vox"]["ports"]
    assert targets == [f"vox:{ports[0].split(':')[1]}"] == [f"vox:{Settings.model_fields['web_port'].default}"]
