"""docker-compose.yml and the Dockerfile cannot run here (no Docker engine): checked statically
against vox (YAML, interpolation, paths, users, ports), and by `docker compose config` where a
Compose client is installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from vox.settings import Settings, env_name

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docker-compose.yml").read_text()
PASSWORDS = {"CLICKHOUSE_PASSWORD": "secret-1", "CLICKHOUSE_READER_PASSWORD": "secret-2",
             "GRAFANA_ADMIN_PASSWORD": "secret-3"}  # fmt: skip
KNOWN_ENV = {env_name(field) for field in Settings.model_fields}
WORKERS = ("vox-1", "vox-2")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:?message}` and `$$` (a literal dollar)."""
    def value(match: re.Match) -> str:
        name, _, required = match.group(1).partition(":?")
        if name not in env:
            raise KeyError(f"{name}: {required or 'unset'}")
        return env[name]

    return re.sub(r"\$\{([^}]+)\}", value, text.replace("$$", "\0")).replace("\0", "$")


COMPOSE = yaml.safe_load(interpolate(TEXT, PASSWORDS))
SERVICES = COMPOSE["services"]


def test_compose_has_the_whole_stack() -> None:
    assert {"kafka", "clickhouse", *WORKERS, "producer", "prometheus", "grafana"} <= set(SERVICES)


def test_no_password_is_written_in_the_file() -> None:
    with pytest.raises(KeyError, match="CLICKHOUSE_PASSWORD"):
        interpolate(TEXT, {})
    values = re.findall(r"^ *\w*PASSWORD: *(\S+)", TEXT, re.M)
    assert values and all(value.startswith("${") for value in values), values


@pytest.mark.parametrize("worker", WORKERS)
def test_each_worker_is_valid_vox_configuration_in_one_group(worker: str, monkeypatch: pytest.MonkeyPatch) -> None:
    service = SERVICES[worker]
    environment = service["environment"]
    assert set(environment) <= KNOWN_ENV, set(environment) - KNOWN_ENV
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    settings = Settings()
    assert settings.clickhouse.kind == "server" and settings.clickhouse.host == "clickhouse"
    assert settings.clickhouse.password == PASSWORDS["CLICKHOUSE_PASSWORD"]
    assert settings.kafka_bootstrap.split(":")[0] in SERVICES
    assert environment == SERVICES[WORKERS[0]]["environment"]  # same group, same topics
    assert "healthz" in " ".join(service["healthcheck"]["test"])
    assert service["volumes"] == [f"{worker}-data:/var/lib/vox"] and f"{worker}-data" in COMPOSE["volumes"]


def test_published_ports_listen_on_loopback_and_do_not_clash() -> None:
    published = [port for service in SERVICES.values() for port in service.get("ports", [])]
    assert published and all(port.startswith("127.0.0.1:") for port in published)
    host_ports = [port.split(":")[1] for port in published]
    assert len(host_ports) == len(set(host_ports))


def test_kafka_is_reachable_from_the_host() -> None:
    kafka = SERVICES["kafka"]["environment"]
    advertised = dict(item.split("://") for item in kafka["KAFKA_ADVERTISED_LISTENERS"].split(","))
    host, port = advertised["EXTERNAL"].split(":")
    assert host == "localhost" and f"127.0.0.1:{port}:{port}" in SERVICES["kafka"]["ports"]
    assert f"EXTERNAL://:{port}" in kafka["KAFKA_LISTENERS"] and "EXTERNAL:PLAINTEXT" in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]


def test_every_mounted_file_exists() -> None:
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), volume


def test_prometheus_scrapes_every_worker_and_loads_the_rules() -> None:
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
    port = Settings.model_fields["web_port"].default
    assert targets == [f"{worker}:{port}" for worker in WORKERS]
    assert all(f"127.0.0.1:{p}:{port}" in SERVICES[w]["ports"] for w, p in zip(WORKERS, (6066, 6067)))
    assert scrape["rule_files"] == ["rules.yml"]
    mounts = SERVICES["prometheus"]["volumes"]
    assert "./deploy/prometheus/rules.yml:/etc/prometheus/rules.yml:ro" in mounts


def test_grafana_is_provisioned_with_the_plugin_and_the_reader() -> None:
    grafana = SERVICES["grafana"]
    assert "grafana-clickhouse-datasource" in grafana["environment"]["GF_INSTALL_PLUGINS"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
    assert grafana["environment"]["CLICKHOUSE_READER_PASSWORD"] == PASSWORDS["CLICKHOUSE_READER_PASSWORD"]
    source = (ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "vox.yml").read_text()
    assert "$CLICKHOUSE_READER_PASSWORD" in source and "username: vox_reader" in source
    reader = (ROOT / "deploy" / "clickhouse" / "create-reader.sh").read_text()
    assert "readonly = 2" in reader and "GRANT SELECT ON vox.* TO vox_reader" in reader


def test_the_producer_publishes_simulated_traffic_once_a_worker_is_healthy() -> None:
    producer = SERVICES["producer"]
    assert producer["command"][:2] == ["simulate", "--rate"]
    assert producer["depends_on"]["vox-1"]["condition"] == "service_healthy"
    assert producer["environment"]["VOX_TOPIC_PARTITIONS"] == SERVICES["vox-1"]["environment"]["VOX_TOPIC_PARTITIONS"]


def test_the_image_gives_nobody_its_data_directory_and_a_healthcheck() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines() if line.strip() and not line.startswith("#")]
    home = next(re.search(r"VOX_HOME=(\S+)", line).group(1) for line in lines if "VOX_HOME=" in line)
    user = next(line.split()[1] for line in lines if line.startswith("USER "))
    owned = next(i for i, line in enumerate(lines) if f"chown {user}" in line and home in line)
    assert owned < next(i for i, line in enumerate(lines) if line.startswith("USER "))  # done as root, before USER
    assert any(line.startswith("HEALTHCHECK") for line in lines)


def test_docker_compose_config_accepts_the_file() -> None:
    client = ([shutil.which("docker"), "compose"] if shutil.which("docker") and subprocess.run(
        ["docker", "compose", "version"], capture_output=True).returncode == 0 else
        [shutil.which("docker-compose")] if shutil.which("docker-compose") else None)  # fmt: skip
    if client is None:
        pytest.skip("no Compose client on this machine: the file is checked statically above")
    done = subprocess.run([*client, "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"], cwd=ROOT,
                          env={**os.environ, **PASSWORDS}, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
