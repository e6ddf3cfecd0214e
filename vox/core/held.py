"""Keys holding records until event time passes them, per partition of a keyed stage.

A stage whose result depends on the order of its records (a shift detector, a graph whose
PageRank is pushed edge by edge) holds each key's records in the key's state until the
partition's watermark (`vox.core.progress`) is `lateness_s` past them, then takes them in
(time, event id) order: every worker and `vox replay` see one sequence. Which keys hold
records is a record of the partition itself (a `partition_key`), changelogged with its states,
so that a worker taking the partition over knows which keys to look at without reading them all.

A key that holds many records (a busy customer or topic while event time stalls, as it does on
a backlog) stores them out of its state, in chunks under keys of their own (`HeldOut`): each
batch's new records are written once, never the whole list at every batch.
"""

from __future__ import annotations

import json
from typing import Callable, Iterator, Mapping

from vox.core.keys import KeyPartitions, key_in_partition, partition_key
from vox.core.stage import StageOutput


SEPARATOR = "\x1f"  # between a key and its chunk's name in a chunk's key (no id or label holds a control character)
HELD_MARK = "\x00held"  # a chunk's name starts with it where other keys beside the state share the separator
# held records up to this many stay in the key's state (most keys hold a few): a key of their own
# would be a changelog message more at every write; beyond, they all move out
HELD_IN_STATE_MAX = 256
# beyond, the held records are written again from the first chunk: a chunk is a changelog
# message, and rewriting all every 64 writes is 1/64 of rewriting them at every write
HELD_CHUNKS_MAX = 64


def held_key(key: str, generation: int, chunk: int, partition_of: KeyPartitions, mark: str = "") -> str:
    """The key of one chunk of `key`'s held records, in `key`'s partition: `key`, the separator,
    `mark`, generation.number, the separator, and the number that lands it there."""
    return key_in_partition(f"{key}{SEPARATOR}{mark}{generation}.{chunk}{SEPARATOR}", partition_of(key), partition_of)


class HeldOut:
    """Where a key's held records are stored out of its state: `chunks` chunks of generation
    `generation`, each under a key of its own in the key's partition (the stage names them), and
    none while the records are few (they stay in the state).

    Each batch's new records go into a chunk of their own, so a long wait writes each record
    once, not the whole list at every batch (a backlog's states held thousands, rewritten at
    every batch, and grew towards the changelog's message limit). The held list is only ever
    appended to in place; any other change (some were taken) gives a new list, written again
    under a new generation, or into the state if few are left. A chunk the stored state counts
    is never overwritten, so a crash between the writes (chunks, then the state, then the
    deletions, all in one changelog partition) leaves that state whole, and chunks nobody
    counts, which a later write replaces."""

    __slots__ = ("generation", "chunks", "_packed")

    def __init__(self, generation: int = 0, chunks: int = 0):
        self.generation, self.chunks = generation, chunks
        self._packed: tuple[list, int] | None = None  # (the held list, how many of it the chunks hold)

    def writes(self, held: list, pack: Callable[[list], bytes],
               per_chunk: int) -> tuple[list[tuple[tuple[int, int], bytes]], list[tuple[int, int]]]:  # fmt: skip
        """The chunks to write before the state, by (generation, number), and those to delete
        after it; `chunks` then says whether the state holds the records itself (0)."""
        generation, before = self.generation, self.chunks
        counted = [(generation, i) for i in range(before)]
        packed = self._packed
        appended = before > 0 and packed is not None and packed[0] is held and packed[1] <= len(held)
        if len(held) <= HELD_IN_STATE_MAX and not appended:
            self.chunks, self._packed = 0, None  # few: in the state, as they were or again
            return [], counted
        if appended and not (packed[1] < len(held) and before >= HELD_CHUNKS_MAX):  # type: ignore[index]
            first, covered, dropped = before, packed[1], []  # type: ignore[index]
        else:
            generation, first, covered, dropped = generation + (before > 0), 0, 0, counted
        new = held[covered:]
        chunks = [((generation, first + n), pack(new[i : i + per_chunk]))
                  for n, i in enumerate(range(0, len(new), per_chunk))]  # fmt: skip
        self.generation, self.chunks = generation, first + len(chunks)
        self._packed = (held, len(held))
        return chunks, dropped

    def read(self, held: list) -> None:
        """`held` was read back from the chunks counted: only what comes after is written."""
        self._packed = (held, len(held))

    def read_back(self, held: list, stored: Callable[[int, int], bytes | None], unpack: Callable[[bytes], list]) -> None:
        """Append to `held` the records of the chunks counted, `stored(generation, number)` giving
        each chunk's bytes (None: not there, which a crash can leave)."""
        for i in range(self.chunks):
            chunk = stored(self.generation, i)
            if chunk is not None:
                held.extend(unpack(chunk))
        self.read(held)


class HeldKeys:
    def __init__(self, partitions: int, lateness_s: float):
        self.partition_of = KeyPartitions(partitions)
        self.lateness_s = lateness_s
        self.watermarks: dict[int, float] = {}
        self.pending: dict[int, set[str]] = {}
        self.stored: dict[int, bytes | None] = {}
        self.advanced: set[int] = set()
        self._keys: dict[int, str] = {}

    def pending_key(self, partition: int) -> str:
        key = self._keys.get(partition)
        if key is None:
            key = self._keys[partition] = partition_key("pending", partition, self.partition_of)
        return key

    def advance(self, partition: int, watermark: float, table: Mapping[bytes, bytes]) -> None:
        data = table.get(self.pending_key(partition).encode())
        if partition not in self.pending or self.stored.get(partition) != data:
            # first seen here, or another worker's since: the table is the truth
            self.pending[partition] = set(json.loads(data)) if data else set()
            self.stored[partition] = data
        self.watermarks[partition] = max(self.watermarks.get(partition, -float("inf")), watermark)
        self.advanced.add(partition)

    def hold(self, key: str) -> None:
        self.pending.setdefault(self.partition_of(key), set()).add(key)

    def due(self) -> Iterator[tuple[float, str]]:
        """(cut, key) for every key holding records in the partitions advanced since `save`, in
        a fixed order; the caller takes the key's records up to the cut and calls `settled`."""
        for partition in sorted(self.advanced):
            cut = self.watermarks[partition] - self.lateness_s
            for key in sorted(self.pending.get(partition, ())):
                yield cut, key

    def settled(self, key: str) -> None:
        """The key holds no record any more."""
        self.pending.get(self.partition_of(key), set()).discard(key)

    def save(self, output: StageOutput) -> None:
        """The partitions' records into the output, after the keys' states (see CustomerLogic.flush)."""
        for partition in sorted(self.advanced):
            data = json.dumps(sorted(self.pending.get(partition, ()))).encode()
            if data != self.stored.get(partition):
                output.states[self.pending_key(partition)] = self.stored[partition] = data
        self.advanced = set()
