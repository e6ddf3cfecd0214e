"""Outages end to end: a real worker, a broker and a ClickHouse server of the test's own, each
taken down and brought back. Nothing is lost or doubled; /healthz fails while the worker is
stuck and is ok again after; the lag gauge keeps counting while writes are paused; the local
broker comes back on its port."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kafka import KafkaProducer

from tests.factories import click, encode
from vox.local.server import LocalClickHouseServer
from vox.local.broker import LocalKafka
from vox.settings import Settings, parse_clickhouse_url
from vox.clickhouse.store import open_store
from vox.kafka.topics import create_topics, topic_names
from vox.local.worker_process import WorkerProcess, scrape

pytestmark = pytest.mark.e2e

OUTAGE_S = 60.0
PER_STEP = 120


def health(worker: WorkerProcess) -> tuple[int, dict]:
    url = worker.metrics_url.replace("/metrics", "/healthz")
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(condition, timeout_s: float, what: str):  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout_s:.0f} s: {what}")


def publish(settings: Settings, step: int) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for n in range(PER_STEP):
        event = click(event_id=f"step{step}-{n}", customer_id=f"c{n % 13}", occurred_at="2026-03-01T12:00:00Z")
        producer.send(topic_names(settings).for_family("click"), key=event["customer_id"].encode(), value=encode(event))
    producer.flush()
    producer.close()


def total_lag(worker: WorkerProcess) -> float:
    text = scrape(worker.metrics_url) or ""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("vox_consumer_lag{") and "clicks" in line)  # fmt: skip


def test_clickhouse_down_60_s_and_a_broker_restart_lose_and_double_nothing(tmp_path: Path) -> None:
    broker = LocalKafka(Settings(home=tmp_path / "kafka"))
    state = broker.start()
    server = LocalClickHouseServer(tmp_path / "clickhouse").start()
    settings = Settings(home=tmp_path / "worker", kafka_bootstrap=state.bootstrap, clickhouse_url=server.url("outage"),
                        topic_partitions=2, batch_max_events=100, batch_max_wait_s=0.2, consumer_session_timeout_s=6,
                        stall_timeout_s=5, write_retry_max_s=2)  # fmt: skip
    create_topics(settings)
    worker = WorkerProcess(settings)
    worker.start()
    try:
        publish(settings, 1)
        worker.wait_consumed(PER_STEP)
        wait_for(lambda: health(worker)[0] == 200, 30, "healthy after the first step")

        server.stop()  # ClickHouse goes away mid-stream
        down_at = time.monotonic()
        publish(settings, 2)
        # stalled for lack of progress, and (once they have failed for 5 s) for failing writes
        status, body = wait_for(lambda: (h := health(worker))[0] == 503 and any(
            "writes failing" in p for p in h[1].get("problems", [])) and h, 40, "/healthz failing while stuck")  # fmt: skip
        assert body["status"] == "stalled", body
        wait_for(lambda: total_lag(worker) >= PER_STEP * 0.9, 20, "the lag gauge counting what arrives while paused")
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
        assert worker.process is not None and worker.process.poll() is None, "the worker waits out the outage"
        server.start()
        worker.wait_consumed(2 * PER_STEP, timeout_s=120)
        wait_for(lambda: health(worker)[0] == 200, 60, "/healthz ok once ClickHouse is back")

        broker.stop()  # then the broker restarts, and must come back where the worker looks for it
        assert broker.start().port == state.port
        publish(settings, 3)
        worker.wait_consumed(3 * PER_STEP, timeout_s=180)
        worker.wait_settled()
        assert health(worker)[0] == 200
    finally:
        worker.stop()
        broker.stop()
    with open_store(parse_clickhouse_url(settings.clickhouse_url)) as store:
        rows, distinct = store.query(f"SELECT count(), uniqExact(event_id) FROM {store.database}.interactions")[0]
    server.stop()
    assert (int(rows), int(distinct)) == (3 * PER_STEP, 3 * PER_STEP)


def test_a_worker_stalled_longer_than_its_limit_exits_non_zero_with_the_reason(tmp_path: Path,
                                                                                kafka_home: Path) -> None:  # fmt: skip
    from tests.e2e.test_e2e import settings_for_test

    server = LocalClickHouseServer(tmp_path / "clickhouse").start()
    settings = settings_for_test(kafka_home, server.url("stall"), tmp_path / "worker").model_copy(
        update={"stall_timeout_s": 2, "stall_exit_s": 6, "write_retry_max_s": 1})  # fmt: skip
    create_topics(settings)
    worker = WorkerProcess(settings)
    worker.start()
    try:
        server.stop()
        publish(settings, 1)
        assert worker.process is not None
        code = worker.process.wait(timeout=90)
    finally:
        worker.stop()
        server.stop()
    log = worker.log_path.read_text(errors="replace")
    assert code == 1
    assert re.search(r"the worker stopped: stalled: (writes failing|ingest stage has \d+ messages)", log), log[-600:]


def test_a_deterministic_failure_stops_the_worker_with_the_reason_instead_of_retrying(tmp_path: Path,
                                                                                       kafka_home: Path) -> None:  # fmt: skip
    """A dropped table is no outage: retrying would hang the worker. It stops at once, exit 1,
    with ClickHouse's reason in one line; an outage (the tests above) is waited out instead."""
    from tests.e2e.test_e2e import settings_for_test

    server = LocalClickHouseServer(tmp_path / "clickhouse").start()
    settings = settings_for_test(kafka_home, server.url("dropped"), tmp_path / "worker")
    create_topics(settings)
    worker = WorkerProcess(settings)
    worker.start()
    try:
        with open_store(parse_clickhouse_url(settings.clickhouse_url)) as store:
            store.execute(f"DROP TABLE {store.database}.interactions")
        publish(settings, 20)
        assert worker.process is not None
        started = time.monotonic()
        code = worker.process.wait(timeout=90)
        waited = time.monotonic() - started
    finally:
        worker.stop()
        server.stop()
    log = worker.log_path.read_text(errors="replace")
    stopped = [line for line in log.splitlines() if "the worker stopped:" in line]
    assert code == 1 and waited < 60, log[-600:]
    assert len(stopped) == 1 and "its ingest stage failed" in stopped[0] and "interactions" in stopped[0], log[-600:]
