"""Keys holding records until event time passes them, per partition of a keyed stage.

A stage whose result depends on the order of its records (a shift detector, a graph whose
PageRank is pushed edge by edge) holds each key's records in the key's state until the
partition's watermark (`vox.core.progress`) is `lateness_s` past them, then takes them in
(time, event id) order: every worker and `vox replay` see one sequence. Which keys hold
records is a record of the partition itself (a `partition_key`), changelogged with its states,
so that a worker taking the partition over knows which keys to look at without reading them all.
"""

from __future__ import annotations

import json
from typing import Iterator, Mapping

from vox.core.keys import KeyPartitions, partition_key
from vox.core.stage import StageOutput


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
