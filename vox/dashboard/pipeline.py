"""Pipeline health for the dashboard, from this worker's own Prometheus registry: events per
second (over the last minute of samples), messages behind, rejected messages, write errors and
the age of the last batch. Pure: the caller passes the clock."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

RATE_WINDOW_S = 60.0


def totals(registry: CollectorRegistry) -> dict[str, float]:
    """Each metric family's samples summed over their labels (counters by their `_total`)."""
    summed: dict[str, float] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name.endswith(("_created", "_bucket")):
                continue
            summed[sample.name] = summed.get(sample.name, 0.0) + sample.value
    return summed


@dataclass
class PipelineHealth:
    registry: CollectorRegistry
    samples: deque = field(default_factory=lambda: deque(maxlen=64))  # (time, events consumed)

    def sample(self, now: float, summed: dict[str, float] | None = None) -> None:
        consumed = (summed if summed is not None else totals(self.registry)).get("vox_events_consumed_total", 0.0)
        self.samples.append((now, consumed))
        while len(self.samples) > 2 and now - self.samples[1][0] >= RATE_WINDOW_S:
            self.samples.popleft()

    def events_per_second(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, n0), (t1, n1) = self.samples[0], self.samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else None

    def snapshot(self, now: float, wall_now: float, health: dict) -> dict[str, Any]:
        summed = totals(self.registry)
        self.sample(now, summed)
        last_batch = summed.get("vox_last_batch_timestamp_seconds", 0.0)
        rate = self.events_per_second()
        return {
            "status": health.get("status", "ok"), "problems": health.get("problems", []),
            "events_per_second": None if rate is None else round(rate, 1),
            "events_consumed": int(summed.get("vox_events_consumed_total", 0)),
            "events_rejected": int(summed.get("vox_events_rejected_total", 0)),
            "consumer_lag": int(summed.get("vox_consumer_lag", 0)),
            "write_errors": int(summed.get("vox_clickhouse_write_errors_total", 0)),
            "seconds_since_last_batch": None if last_batch <= 0 else round(max(0.0, wall_now - last_batch), 1),
        }  # fmt: skip
