"""Prometheus metrics of the worker, on their own registry (served at /metrics).

Label sets are bounded: topics are vox's own, reason classes come from a fixed list
(`vox.core.triage.REASON_CLASSES`), partitions from the topic configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000)
WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass
class WorkerMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.consumed = Counter("vox_events_consumed", "Messages read from input topics.", ["topic"], registry=r)
        self.valid = Counter("vox_events_valid", "Messages that passed validation.", ["topic"], registry=r)
        self.rejected = Counter(
            "vox_events_rejected", "Messages sent to the dead-letter topic.", ["topic", "reason_class"], registry=r
        )
        self.duplicates = Counter(
            "vox_events_duplicate", "Rows not written because their key was already stored.", ["table"], registry=r
        )
        self.resent_changed = Counter(
            "vox_events_resent_changed", "Resent event ids whose content differs from the copy stored first "
            "(the first copy is kept).", registry=r)  # fmt: skip
        self.batch_size = Histogram("vox_batch_size", "Messages per batch.", buckets=BATCH_BUCKETS, registry=r)
        self.write_seconds = Histogram(
            "vox_clickhouse_write_seconds", "Time to write one batch to ClickHouse.", buckets=WRITE_BUCKETS, registry=r
        )
        self.write_errors = Counter("vox_clickhouse_write_errors", "Failed ClickHouse writes (retried).", registry=r)
        self.lag = Gauge("vox_consumer_lag", "Messages behind the end of each partition.", ["topic", "partition"], registry=r)
        self.last_batch_at = Gauge(
            "vox_last_batch_timestamp_seconds", "Wall time the last batch was committed to ClickHouse.", registry=r
        )

        self.forgotten = Counter("vox_events_forgotten", "Events of forgotten customers (vox forget) dropped at ingest.",
                                 registry=r)  # fmt: skip
        self.votes_unresolved = Counter(
            "vox_votes_unresolved", "Votes whose content never showed up within vote_wait_days (or the waiting "
            "room's bound): dropped from scoring, credited to no one.", registry=r)  # fmt: skip
        self.signals_published = Counter("vox_signals_published", "Keyed records routing sent to a keyed stage "
                                         "(signals, for the customers stage).", ["stage"], registry=r)  # fmt: skip
        self.signals_applied = Counter("vox_signals_applied", "Keyed records a stage applied to its states.", ["stage"],
                                       registry=r)  # fmt: skip
        self.rows_written = Counter("vox_stage_rows_written", "Rows a keyed stage wrote (customer_scores: placements, "
                                    "segment_transitions: moves between cells).", ["stage", "table"], registry=r)  # fmt: skip
        self.watermark = Gauge("vox_event_time_watermark_seconds", "Event time up to which a keyed stage's "
                               "partition has heard from every source (vox.core.progress).", ["stage", "partition"],
                               registry=r)  # fmt: skip
        self.leader_changes = Counter(
            "vox_leader_changes", "Customers entering and leaving a topic's opinion leaders (docs/leaders.md).",
            ["change"], registry=r)  # fmt: skip
        self.sentiment_alerts = Counter(
            "vox_sentiment_alerts", "Sentiment shift alerts, raised and ended (docs/sentiment.md).",
            ["subject_kind", "direction", "status"], registry=r)  # fmt: skip
        self.sentiment_alerts_open = Gauge(
            "vox_sentiment_alerts_open", "Alerts this worker raised that have not ended (sentiment_alerts in "
            "ClickHouse holds every worker's).", ["subject_kind", "direction"], registry=r)  # fmt: skip
        self.sentiment_level = Gauge(
            "vox_sentiment_level", "Mean opinion (-1..1) of the latest window of the 20 busiest subjects this worker "
            "holds (the rest: sentiment_windows).", ["subject_kind", "subject"], registry=r)  # fmt: skip
        self._gauged: set[tuple[str, str]] = set()
        self.holes_filled = Counter(
            "vox_offset_holes_filled", "Messages the consumer never handed over, read back by offset.", ["topic"], registry=r
        )
        self.processed: dict[tuple[str, int], int] = {}  # (topic, partition) -> last offset written

    def count_alerts(self, counts: dict[str, int]) -> None:
        """A stage's "alerts STATUS KIND DIRECTION" counts (`vox.core.sentiment.stage`)."""
        for name, n in counts.items():
            words = name.split()
            if len(words) == 4 and words[0] == "alerts":
                _, status, kind, direction = words
                self.sentiment_alerts.labels(kind, direction, "raised" if status == "open" else "ended").inc(n)
                self.sentiment_alerts_open.labels(kind, direction).inc(n if status == "open" else -n)

    def count_leader_changes(self, counts: dict[str, int]) -> None:
        """A stage's "leaders entered" / "leaders left" counts (`vox.core.leaders.stage`)."""
        for change in ("entered", "left"):
            if n := counts.get(f"leaders {change}"):
                self.leader_changes.labels(change).inc(n)

    def show_levels(self, levels: dict[str, float]) -> None:
        """A stage's latest levels of its busiest keys ("kind:name"): those no longer among them
        leave the gauge, so its label set stays bounded."""
        if not levels:
            return
        shown = {tuple(key.split(":", 1)) for key in levels}
        for gone in self._gauged - shown:
            self.sentiment_level.remove(*gone)
        for key, level in levels.items():
            self.sentiment_level.labels(*key.split(":", 1)).set(level)
        self._gauged = shown  # type: ignore[assignment]

    def mark_processed(self, topic: str, partition: int, offset: int) -> None:
        """The last offset whose effects are written: the lag gauge counts what is beyond it."""
        key = (topic, partition)
        if offset > self.processed.get(key, -1):
            self.processed[key] = offset

    def render(self) -> bytes:
        return generate_latest(self.registry)
