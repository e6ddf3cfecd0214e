"""Offset continuity: every offset of a partition the worker reads is processed, none skipped.

Why vox does not simply trust the consumer group's committed offsets: Faust (0.15) can lose a
handful of messages around a rebalance. Records already fetched are dropped while the flow is
suspended, and its commit can then move past them (faust-streaming#606: a single missing offset
at the head of the acknowledged run is taken for a compaction gap). Seen here as 8 to 18 missing
messages per partition when a second worker joined and left mid-stream.

So each stage keeps its own watermark per partition: the next offset it has not processed, with
nothing missing below it. It is stored in ClickHouse next to the data (`ingest_progress`), so a
worker taking a partition over starts from what was really written, not from what was committed.
When a batch starts beyond the watermark, the missing range is a hole: the worker reads it
itself, by offset, before it writes the batch. Whatever that read does not return does not exist
any more (retention, compaction, transaction markers) and is not waited for.

A batch starting *below* the watermark is a replay (an operator rewound the group, a restart
re-reads the uncommitted tail): it is processed normally, the sink's deduplication makes it
harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Hole:
    """Offsets [start, end) of one partition that were never handed to the worker."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


class Watermarks:
    """Per partition, the next offset not processed yet (nothing missing below it)."""

    def __init__(self) -> None:
        self.next: dict[TopicPartition, int] = {}

    def unknown(self, partitions: Iterable[TopicPartition]) -> list[TopicPartition]:
        return [tp for tp in partitions if tp not in self.next]

    def seed(self, stored: Mapping[TopicPartition, int]) -> None:
        """Watermarks read back from the store (a partition this process had not seen yet)."""
        for tp, offset in stored.items():
            self.next[tp] = max(offset, self.next.get(tp, offset))

    def holes(self, offsets: Mapping[TopicPartition, Iterable[int]]) -> list[Hole]:
        """The ranges missing below or between a batch's offsets. A partition with no watermark
        (never processed by anyone) starts at its first offset in the batch."""
        found = []
        for (topic, partition), seen in offsets.items():
            ordered = sorted(set(seen))
            expected = self.next.get((topic, partition), ordered[0])
            for offset in ordered:
                if offset > expected:
                    found.append(Hole(topic, partition, expected, offset))
                expected = max(expected, offset + 1)
        return found

    def advance(self, offsets: Mapping[TopicPartition, Iterable[int]]) -> dict[TopicPartition, int]:
        """After a batch and its holes are written: move each watermark past the batch; return
        the watermarks that moved (to be stored)."""
        moved = {}
        for tp, seen in offsets.items():
            after = max(seen) + 1
            if after > self.next.get(tp, -1):
                self.next[tp] = moved[tp] = after
        return moved

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Partitions handed to another worker: read the stored watermark again if they return."""
        for tp in partitions:
            self.next.pop(tp, None)


def offsets_by_partition(records: Iterable) -> dict[TopicPartition, list[int]]:
    """Offsets of records (anything with topic, partition, offset), grouped by partition."""
    grouped: dict[TopicPartition, list[int]] = {}
    for record in records:
        grouped.setdefault((record.topic, record.partition), []).append(record.offset)
    return grouped
