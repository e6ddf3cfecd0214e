"""`vox demo`: the whole pipeline on embedded defaults, end to end, in one command.

Starts the local broker (unless KAFKA_BOOTSTRAP is set), creates the topics, applies the
migrations, runs a real `vox worker` process, publishes the bundled sample, waits until the
worker has written every message, stops it, and prints what landed in ClickHouse.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from vox.errors import VoxError
from vox.local_kafka import LocalKafka, free_port
from vox.migrations import migrate
from vox.produce import produce_file
from vox.settings import Settings
from vox.store import Store, open_store
from vox.topics import create_topics

SAMPLE = Path(__file__).parent / "samples" / "sample-events.jsonl"
WORKER_START_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 120.0


def scrape(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None


def metric_total(text: str, name: str) -> float:
    """Sum of every sample of a counter in Prometheus text format."""
    return sum(float(value) for value in re.findall(rf"^{name}_total{{[^}}]*}} (\S+)$", text, re.MULTILINE))


class WorkerProcess:
    """A real `vox worker` in a child process, watched through its /metrics page."""

    def __init__(self, settings: Settings, env: dict[str, str] | None = None):
        self.settings = settings
        self.port = free_port()
        self.log_path = settings.home.resolve() / "worker.log"
        self.env = {**os.environ, **(env or {}), "VOX_WEB_PORT": str(self.port), "VOX_HOME": str(settings.home.resolve())}
        self.process: subprocess.Popen | None = None

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vox", "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        while scrape(self.metrics_url) is None:
            if self.process.poll() is not None:
                raise VoxError(f"the worker exited at start; see {self.log_path}: {self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise VoxError(f"the worker did not start within {WORKER_START_TIMEOUT_S:.0f} s; see {self.log_path}")
            time.sleep(0.3)

    def consumed(self) -> float:
        text = scrape(self.metrics_url) or ""
        return metric_total(text, "vox_events_consumed")

    def wait_consumed(self, expected: int, timeout_s: float = DRAIN_TIMEOUT_S) -> float:
        """Wait until the worker has written at least `expected` messages; return the count."""
        deadline = time.monotonic() + timeout_s
        while (seen := self.consumed()) < expected:
            if self.process is not None and self.process.poll() is not None:
                raise VoxError(f"the worker stopped unexpectedly; see {self.log_path}: {self._log_tail()}")
            if time.monotonic() > deadline:
                raise VoxError(f"the worker wrote {seen:.0f} of {expected} messages in {timeout_s:.0f} s")
            time.sleep(0.2)
        return seen

    def stop(self, timeout_s: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _log_tail(self) -> str:
        try:
            lines = [line for line in self.log_path.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            return ""
        return " | ".join(lines[-3:])[-500:]


def summary(store: Store) -> str:
    db = store.database
    lines = ["", "What landed in ClickHouse:", "  interactions by family:"]
    for family, count, customers in store.query(
        f"SELECT event_type, count(), uniqExact(customer_id) FROM {db}.interactions GROUP BY event_type ORDER BY event_type"
    ):
        lines.append(f"    {family:<8} {int(count):>6} events from {int(customers)} customers")
    lines.append("  average rating by brand:")
    for brand, reviews, rating in store.query(
        f"SELECT brand, count(), round(avg(rating), 2) FROM {db}.interactions "
        f"WHERE event_type = 'review' GROUP BY brand ORDER BY brand"
    ):
        lines.append(f"    {brand:<8} {float(rating):>5.2f} over {int(reviews)} reviews")
    dead = store.query(f"SELECT source_topic, reason_class, reason FROM {db}.dead_letters ORDER BY source_topic")
    lines.append(f"  dead letters: {len(dead)}")
    for topic, reason_class, reason in dead:
        lines.append(f"    {topic:<12} {reason_class:<14} {reason}")
    return "\n".join(lines)


def run_demo(settings: Settings, keep_running: bool = False, sample: Path = SAMPLE) -> int:
    broker = None if settings.kafka_bootstrap else LocalKafka(settings)
    if broker is not None:
        state = broker.start()
        print(f"[1/5] Kafka broker serving at {state.bootstrap}")
    else:
        print(f"[1/5] using Kafka at {settings.kafka_bootstrap}")
    try:
        created = create_topics(settings)
        print(f"[2/5] topics: {', '.join(f'{t} ({o})' for t, o in created.items())}")
        with open_store(settings.clickhouse) as store:  # the worker opens it again: chDB allows one process
            migrate(store)
        worker = WorkerProcess(settings)
        worker.start()
        print(f"[3/5] worker running, metrics at {worker.metrics_url}")
        try:
            already = worker.consumed()
            report = produce_file(sample, settings, progress=False)
            print(f"[4/5] {report.summary()}")
            seen = worker.wait_consumed(int(already) + report.published)
            print(f"      the worker has written all {seen:.0f} messages")
        finally:
            worker.stop()
        with open_store(settings.clickhouse) as store:
            print(f"[5/5] {settings.clickhouse.describe()}")
            print(summary(store))
        print("\nQuery it yourself: vox sql \"SELECT brand, avg(rating) FROM vox.interactions "
              "WHERE event_type = 'review' GROUP BY brand\"")  # fmt: skip
    finally:
        if broker is not None and not keep_running:
            broker.stop()
    return 0
