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
harmless, and from there on it is checked for holes like any other stretch.
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
    """Per partition, where the next batch must start for nothing to be missing.

    `next` is the cursor holes are measured from: the stored watermark for the first batch this
    process sees of a partition, then just past the last batch. So a replay below the watermark
    is checked for holes too, from where it started. `stored` is the highest mark written to the
    store (it never moves back: a replay does not undo what was processed).
    """

    def __init__(self) -> None:
        self.next: dict[TopicPartition, int] = {}
        self.stored: dict[TopicPartition, int] = {}
        self.revoked: set[TopicPartition] = set()

    def unknown(self, partitions: Iterable[TopicPartition]) -> list[TopicPartition]:
        """Partitions whose stored watermark must be read before holes can be measured."""
        return [tp for tp in partitions if tp not in self.next or tp in self.revoked]

    def seed(self, asked: Iterable[TopicPartition], stored: Mapping[TopicPartition, int]) -> None:
        """Watermarks read back from the store for the partitions `unknown` named. A partition
        this process held before keeps its cursor, unless another worker stored progress since."""
        for tp in asked:
            self.revoked.discard(tp)
            mark = stored.get(tp)
            if mark is None:
                continue
            if tp not in self.next or mark > self.stored.get(tp, -1):
                self.next[tp] = mark
            self.stored[tp] = max(mark, self.stored.get(tp, mark))

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
        """After a batch and its holes are written: move each cursor just past the batch; return
        the watermarks that rose above what is stored (to be stored)."""
        moved = {}
        for tp, seen in offsets.items():
            after = self.next[tp] = max(seen) + 1
            if after > self.stored.get(tp, -1):
                self.stored[tp] = moved[tp] = after
        return moved

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Partitions taken away in a rebalance: if they come back, the store says whether
        another worker moved them on in between."""
        self.revoked.update(tp for tp in partitions if tp in self.next)


def offsets_by_partition(records: Iterable) -> dict[TopicPartition, list[int]]:
    """Offsets of records (anything with topic, partition, offset), grouped by partition."""
    grouped: dict[TopicPartition, list[int]] = {}
    for record in records:
        grouped.setdefault((record.topic, record.partition), []).append(record.offset)
    return grouped
