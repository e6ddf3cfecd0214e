"""The worker's web server binds where it is told and serves vox's pages only."""

from __future__ import annotations

import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from tests.e2e.test_e2e import settings_for_test
from vox.kafka.topics import create_topics
from vox.local.worker_process import WorkerProcess
from vox.settings import Settings

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


def status_of(url: str | urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@contextmanager
def running_worker(settings: Settings) -> Iterator[WorkerProcess]:
    """A real `vox worker` process on these settings, its topics created, stopped afterwards."""
    create_topics(settings)
    worker = WorkerProcess(settings)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def test_the_worker_serves_metrics_and_health_on_its_address_only(kafka_home: Path, tmp_path: Path) -> None:
    settings = settings_for_test(kafka_home, f"chdb://{tmp_path}/chdb", tmp_path)
    with running_worker(settings) as worker:
        assert listening_addresses(worker.port) == {"127.0.0.1"}
        with urllib.request.urlopen(worker.metrics_url, timeout=3) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=")
        base = worker.metrics_url.removesuffix("/metrics")
        assert status_of(base + "/healthz") == 200
        assert [status_of(f"{base}{page}") for page in ("/table/", "/router/", "/graph/", "/stats/")] == [404] * 4
    # one line at start says where everything is; nothing for a terminal in a log file
    log = worker.log_path.read_text()
    assert f"metrics {base}/metrics, health {base}/healthz, analysts' SQL {base}/sql" in log.splitlines()[0]
    assert "\x1b" not in log


def test_analysts_query_a_running_chdb_worker_while_it_ingests(kafka_home: Path, tmp_path: Path) -> None:
    """On the embedded default the worker holds chDB; `vox sql` and `vox explain` go through its
    read-only /sql while it writes, and what they see grows as events land."""
    import threading

    from tests.integration.test_cli import assert_one_line_error, vox
    from vox.kafka.produce import produce_file
    from vox.simulator.generate import SimConfig
    from vox.simulator.run import write_simulation

    write_simulation(SimConfig(customers=400, days=30, seed=5), tmp_path / "sim", progress=False)
    settings = settings_for_test(kafka_home, f"chdb://{tmp_path}/chdb", tmp_path)
    create_topics(settings)
    worker = WorkerProcess(settings)
    worker.start()
    try:
        env = {key: value for key, value in worker.env.items() if key.startswith(("VOX_", "KAFKA_", "CLICKHOUSE_"))}
        producing = threading.Thread(target=produce_file, args=(tmp_path / "sim" / "events.jsonl", settings),
                                     kwargs={"progress": False})  # fmt: skip
        producing.start()
        counts = []
        while producing.is_alive() or len(counts) < 3:
            done = vox("sql", "SELECT count() AS events FROM interactions", env=env)
            assert done.returncode == 0 and done.stdout.startswith("events\n"), done.stderr
            counts.append(int(done.stdout.split()[1]))
        producing.join()
        worker.wait_settled()
        final = int(vox("sql", "SELECT count() FROM interactions", env=env).stdout.split()[1])
        assert counts == sorted(counts) and counts[-1] <= final and len(set(counts)) >= 2, counts
        # read-only at the engine level through the worker too, and bounded
        assert_one_line_error(vox("sql", "SELECT * FROM file('/etc/passwd', 'TSV', 'l String')", env=env), "read-only")
        assert_one_line_error(vox("sql", "SELECT number FROM system.numbers", env=env), "over 100,000 rows")
        customer = vox("sql", "SELECT customer_id FROM customer_scores FINAL WHERE is_staff = 0 "
                       "ORDER BY competence DESC LIMIT 1", env=env).stdout.split()[1]  # fmt: skip
        explained = vox("explain", customer, env=env)
        assert explained.returncode == 0 and f"Customer {customer}" in explained.stdout, explained.stderr
        base = worker.metrics_url.removesuffix("/metrics")
        request = urllib.request.Request(f"{base}/sql", data=b"SELECT 1", method="DELETE")
        assert status_of(request) == 405
        assert status_of(urllib.request.Request(f"{base}/sql?format=csv", data=b"-- " + b"x" * 200_000)) == 413
    finally:
        worker.stop()


def test_topics_with_another_partition_count_are_named_and_refused(kafka_home: Path, tmp_path: Path) -> None:
    """`VOX_TOPIC_PARTITIONS=12 vox topics create` on 3-partition topics used to say "exists":
    a worker would then look for keys in partitions that do not hold them."""
    from tests.integration.test_cli import assert_one_line_error, vox

    settings = settings_for_test(kafka_home, f"chdb://{tmp_path}/chdb", tmp_path)
    create_topics(settings)
    env = {**settings.as_env(), "VOX_TOPIC_PARTITIONS": "5"}
    done = vox("topics", "create", env=env)
    assert_one_line_error(done, "VOX_TOPIC_PARTITIONS=5", f"{settings.topic('signals')}", "3. Set VOX_TOPIC_PARTITIONS")
    assert vox("worker", env=env).returncode == 1  # the worker's preflight refuses the same way
    assert vox("topics", "create", env=settings.as_env()).stdout.count(": exists") == len(create_topics(settings))
