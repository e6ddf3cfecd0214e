"""A real `vox worker` in a child process, watched through its /metrics page.

Used by `vox demo`, the end-to-end tests and the benchmarks: they all run the worker exactly
as an operator would, and read its progress the way Prometheus would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from vox.errors import VoxError
from vox.local.broker import free_port
from vox.settings import Settings
from vox.kafka.topics import topic_names

WORKER_START_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 120.0


def scrape(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None


def lag_samples(text: str) -> list[tuple[str, str, float]]:
    """(partition, topic, lag) of every vox_consumer_lag sample in Prometheus text format."""
    from prometheus_client.parser import text_string_to_metric_families

    return [(sample.labels["partition"], sample.labels["topic"], sample.value)
            for family in text_string_to_metric_families(text) if family.name == "vox_consumer_lag"
            for sample in family.samples]  # fmt: skip


def metric_total(text: str, name: str) -> float:
    """Sum of every sample of a counter in Prometheus text format (prometheus_client's parser)."""
    from prometheus_client.parser import text_string_to_metric_families

    return sum(sample.value for family in text_string_to_metric_families(text) if family.name == name
               for sample in family.samples if sample.name == f"{name}_total")  # fmt: skip


class WorkerProcess:
    """`vox worker` with the given settings, on a free port for its HTTP server."""

    def __init__(self, settings: Settings, source: Path | None = None):
        """`source`: a checkout of another vox version to run instead of this one (the
        benchmark's pair of commits); its code, this environment's libraries."""
        self.settings = settings
        self.port = free_port()
        self.log_path = settings.home.resolve() / "worker.log"
        self.env = {**os.environ, **settings.as_env(), "VOX_WEB_PORT": str(self.port)}
        self.source = source
        if source is not None:
            self.env["PYTHONPATH"] = str(source)
        self.process: subprocess.Popen | None = None

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vox", "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=self.source,
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
                raise VoxError(f"the worker wrote {seen:.0f} of {expected} messages in {timeout_s:.0f} s "
                               f"(lag by partition: {self.lag_summary()})")  # fmt: skip
            time.sleep(0.2)
        return seen

    def lag_summary(self) -> str:
        """`topic/partition=lag` for every partition with work left, from /metrics."""
        text = scrape(self.metrics_url) or ""
        lags = lag_samples(text)
        behind = [f"{topic}/{partition}={float(lag):.0f}" for partition, topic, lag in lags if float(lag) > 0]
        return ", ".join(behind) or ("none" if lags else "not reported yet")

    def wait_settled(self, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        """Wait until every stage has caught up: no message left unwritten in any input or
        signals partition, twice in a row (the lag gauge is refreshed every two seconds)."""
        wait_all_settled([self], timeout_s)

    @property
    def _input_partitions(self) -> set[tuple[str, int]]:
        return {(topic, p) for topic in topic_names(self.settings).inputs for p in range(self.settings.topic_partitions)}

    @property
    def _stage_topics(self) -> set[str]:
        """The topics of the stages ingest feeds: each must have reported its lag (read something)."""
        from vox.stages import declared_stages

        return {self.settings.topic(stage.topic) for stage in declared_stages(self.settings) if stage.from_ingest}

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


def wait_all_settled(workers: list[WorkerProcess], timeout_s: float = DRAIN_TIMEOUT_S) -> None:
    """Wait until the workers of one group have caught up between them: every input partition
    reported by one of them, and no lag anywhere, twice in a row."""
    deadline = time.monotonic() + timeout_s
    calm = 0
    while calm < 2:
        for worker in workers:
            if worker.process is not None and worker.process.poll() is not None:
                raise VoxError(f"the worker stopped unexpectedly; see {worker.log_path}: {worker._log_tail()}")
        if time.monotonic() > deadline:
            raise VoxError(f"the worker did not catch up within {timeout_s:.0f} s")
        lags = [lag for worker in workers for lag in lag_samples(scrape(worker.metrics_url) or "")]
        reported = {(topic, int(partition)) for partition, topic, _ in lags}
        # a partition not fetched yet has no lag figure: every input partition must be there
        topics = {topic for _, topic, _ in lags}
        settled = (workers[0]._input_partitions <= reported and workers[0]._stage_topics <= topics
                   and all(float(v) == 0 for _, _, v in lags))  # fmt: skip
        calm = calm + 1 if settled else 0
        time.sleep(2.1)
