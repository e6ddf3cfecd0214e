"""The worker's web server binds where it is told and serves vox's pages only."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.test_e2e import settings_for_test
from vox.kafka.topics import create_topics
from vox.local.worker_process import WorkerProcess

pytestmark = pytest.mark.e2e


def listening_addresses(port: int) -> set[str]:
    """Local addresses listening on `port`, from /proc/net/tcp (state 0A: LISTEN)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_worker_serves_metrics_and_health_on_its_address_only(kafka_home: Path, tmp_path: Path) -> None:
    settings = settings_for_test(kafka_home, f"chdb://{tmp_path}/chdb", tmp_path)
    create_topics(settings)
    worker = WorkerProcess(settings)
    worker.start()
    try:
        assert listening_addresses(worker.port) == {"127.0.0.1"}
        with urllib.request.urlopen(worker.metrics_url, timeout=3) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=")
        base = worker.metrics_url.removesuffix("/metrics")
        assert status_of(base + "/healthz") == 200
        assert [status_of(f"{base}{page}") for page in ("/table/", "/router/", "/graph/", "/stats/")] == [404] * 4
    finally:
        worker.stop()
