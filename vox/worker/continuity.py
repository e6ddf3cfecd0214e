"""The guard of `vox.core.continuity` each stage runs: watermarks kept in a `ProgressTable`
(ClickHouse), holes read back from Kafka (`vox.kafka.holes`).

Each stage (ingest, scoring) owns one guard. `complete` runs before a batch is written and adds
the records of any hole in offset order; `written` runs after, and stores the watermarks that
moved, in the same ClickHouse thread as the batch's rows (so they never run ahead of them).
"""

from __future__ import annotations

import logging
import time
from typing import Awaitable, Callable, Generic, Sequence, TypeVar

from vox.worker.retry import Patient
from vox.core.continuity import Hole, TopicPartition as TP, Watermarks, offsets_by_partition
from vox.metrics import WorkerMetrics
from vox.core.ports import ProgressTable

log = logging.getLogger("vox.continuity")

SAVE_INTERVAL_S = 1.0  # one tiny insert per stage per second, not one per batch

R = TypeVar("R")  # a record: anything with topic, partition and offset


class ContinuityGuard(Generic[R]):
    """Makes sure a stage processes every offset of its partitions (see `vox.core.continuity`)."""

    def __init__(self, progress: ProgressTable, group: str, patient: Patient, metrics: WorkerMetrics,
                 read_hole: Callable[[Hole], Awaitable[list]], to_record: Callable[[object], R],
                 on_filled: Callable[[Sequence[R]], None] = lambda records: None):  # fmt: skip
        self.progress, self.group, self.patient, self.metrics = progress, group, patient, metrics
        self.read_hole, self.to_record, self.on_filled = read_hole, to_record, on_filled
        self.watermarks = Watermarks()
        self._unsaved: dict[TP, int] = {}
        self._saved_at = float("-inf")

    async def complete(self, records: Sequence[R]) -> Sequence[R]:
        """The batch, with the records of any hole below or inside it added in offset order."""
        offsets = offsets_by_partition(records)
        if unknown := self.watermarks.unknown(offsets):
            self.watermarks.seed(unknown, await self.patient.call(self.progress.load_progress, self.group, unknown))
        holes = self.watermarks.holes(offsets)
        if not holes:
            return records
        filled: list[R] = []
        for hole in holes:
            found = [self.to_record(raw) for raw in await self.read_hole(hole)]
            log.warning("offsets %d-%d of %s/%d were never handed over by the consumer: read back %d of them",
                        hole.start, hole.end - 1, hole.topic, hole.partition, len(found))  # fmt: skip
            self.metrics.holes_filled.labels(hole.topic).inc(len(found))
            filled.extend(found)
        self.on_filled(filled)
        return sorted([*records, *filled], key=lambda r: (r.topic, r.partition, r.offset))

    async def written(self, records: Sequence[R]) -> None:
        """The batch (holes included) is written: store the watermarks that moved, at most once
        per `SAVE_INTERVAL_S`. A stored mark that lags is safe: a worker taking the partition
        over reads the lagging stretch again (each stage recognises what it already wrote);
        one that ran ahead of the data would not be."""
        self._unsaved.update(self.watermarks.advance(offsets_by_partition(records)))
        if time.monotonic() - self._saved_at >= SAVE_INTERVAL_S:
            await self.flush()

    async def flush(self) -> None:
        """Store the watermarks written since the last save (the worker also calls this on a
        timer and at shutdown, so a stage that went idle does not leave its mark behind)."""
        if self._unsaved:
            moved, self._unsaved = self._unsaved, {}
            await self.patient.call(self.progress.save_progress, self.group, moved)
        self._saved_at = time.monotonic()

    def forget(self, partitions: Sequence[TP]) -> None:
        self.watermarks.forget(partitions)
