"""The adapter of `vox.core.continuity`: watermarks stored in ClickHouse, holes read back from Kafka.

Each stage (ingest, scoring) owns one guard. `complete` runs before a batch is written and adds
the records of any hole in offset order; `written` runs after, and stores the watermarks that
moved, in the same ClickHouse thread as the batch's rows (so they never run ahead of them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import Awaitable, Callable, Generic, Sequence, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from vox.worker.retry import Patient
from vox.core.continuity import Hole, TopicPartition as TP, Watermarks, offsets_by_partition
from vox.errors import VoxError
from vox.metrics import WorkerMetrics
from vox.clickhouse.store import Store, in_list, quote

log = logging.getLogger("vox.continuity")

PROGRESS_COLUMNS = ("consumer_group", "topic", "partition", "next_offset", "updated_at")
HOLE_READ_TIMEOUT_S = 60.0
SAVE_INTERVAL_S = 1.0  # one tiny insert per stage per second, not one per batch

R = TypeVar("R")  # a record: anything with topic, partition and offset


def load_progress(store: Store, group: str, partitions: Sequence[TP]) -> dict[TP, int]:
    topics = sorted({topic for topic, _ in partitions})
    rows = store.query(
        f"SELECT topic, partition, max(next_offset) FROM {store.database}.ingest_progress "
        f"WHERE consumer_group = {quote(group)} AND topic IN {in_list(topics)} GROUP BY topic, partition"
    )
    wanted = set(partitions)
    return {(topic, int(p)): int(offset) for topic, p, offset in rows if (topic, int(p)) in wanted}


def save_progress(store: Store, group: str, moved: dict[TP, int]) -> None:
    now = datetime.now(timezone.utc)
    store.insert("ingest_progress", PROGRESS_COLUMNS, [(group, t, p, o, now) for (t, p), o in moved.items()])


async def read_hole(bootstrap_servers: str, hole: Hole) -> list:
    """The records of [start, end) that still exist, in offset order, read with a consumer of
    its own (no group, no commits; holes are rare, so it lives only as long as the read)."""
    # earliest: a range partly gone to retention is read from what is left
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False,
                                auto_offset_reset="earliest", group_id=None)  # fmt: skip
    await consumer.start()
    try:
        tp = TopicPartition(hole.topic, hole.partition)
        consumer.assign([tp])
        consumer.seek(tp, hole.start)
        found = []
        deadline = asyncio.get_running_loop().time() + HOLE_READ_TIMEOUT_S
        while await consumer.position(tp) < hole.end:
            if asyncio.get_running_loop().time() > deadline:
                raise VoxError(f"could not read back offsets {hole.start}-{hole.end - 1} of {hole.topic}/{hole.partition}")
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=hole.size)
            found.extend(r for r in batch.get(tp, []) if hole.start <= r.offset < hole.end)
        return found
    finally:
        await consumer.stop()


class ContinuityGuard(Generic[R]):
    """Makes sure a stage processes every offset of its partitions (see `vox.core.continuity`)."""

    def __init__(self, store: Store, group: str, patient: Patient, metrics: WorkerMetrics,
                 read_hole: Callable[[Hole], Awaitable[list]], to_record: Callable[[object], R],
                 on_filled: Callable[[Sequence[R]], None] = lambda records: None):  # fmt: skip
        self.store, self.group, self.patient, self.metrics = store, group, patient, metrics
        self.read_hole, self.to_record, self.on_filled = read_hole, to_record, on_filled
        self.watermarks = Watermarks()
        self._unsaved: dict[TP, int] = {}
        self._saved_at = float("-inf")

    async def complete(self, records: Sequence[R]) -> Sequence[R]:
        """The batch, with the records of any hole below or inside it added in offset order."""
        offsets = offsets_by_partition(records)
        if unknown := self.watermarks.unknown(offsets):
            self.watermarks.seed(unknown, await self.patient.call(load_progress, self.store, self.group, unknown))
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
            await self.patient.call(save_progress, self.store, self.group, moved)
        self._saved_at = time.monotonic()

    def forget(self, partitions: Sequence[TP]) -> None:
        self.watermarks.forget(partitions)
