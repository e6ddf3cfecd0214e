"""Partition rules: where an input event goes, and where a keyed record goes.

Both live here so that the two are read together: the input rule decides which worker routes an
event (reviews by product, so one worker sees all of a product's reviews in order, for its
rating consensus; everything else by customer), the keyed rule which worker holds a key's state.
"""

from __future__ import annotations

import zlib

from aiokafka.partitioner import murmur2


def input_key(event: dict) -> object:
    """The partition key of an input event (`vox produce`, the simulator, producers' guide)."""
    return event.get("product_id") if event.get("type") == "review" else event.get("customer_id")


class KeyPartitions:
    """The partition of a keyed record: the one the producer's default partitioner (murmur2 of
    the key, as in the Java client) picks for the key, which is where the Faust table
    (`use_partitioner`) keeps the key's state. Memoised, bounded."""

    CAPACITY = 1_000_000

    def __init__(self, partitions: int):
        self.partitions = partitions
        self.known: dict[str, int] = {}

    def __call__(self, key: str) -> int:
        found = self.known.get(key)
        if found is None:
            if len(self.known) >= self.CAPACITY:
                self.known.clear()
            found = self.known[key] = (murmur2(key.encode()) & 0x7FFFFFFF) % self.partitions
        return found


def source_id(topic: str, partition: int) -> int:
    """A stable 32-bit id for an input partition: keyed records carry it with their offset."""
    return zlib.crc32(f"{topic}/{partition}".encode())


PARTITION_KEY_PREFIX = "\x00"  # no customer, product or content id starts with a NUL (triage refuses it)


def partition_key(name: str, partition: int, partition_of: KeyPartitions) -> str:
    """A table key that lands in `partition`: where a stage keeps what belongs to the partition
    rather than to one key (its event-time progress), changelogged with the partition's states."""
    return key_in_partition(f"{PARTITION_KEY_PREFIX}{name}:{partition}:", partition, partition_of)


def key_in_partition(prefix: str, partition: int, partition_of: KeyPartitions) -> str:
    """`prefix` and the first number after which the key lands in `partition`: a state kept
    beside another key's, in its partition (a topic's members, a customer's held signals)."""
    for n in range(100_000):
        key = f"{prefix}{n}"
        if partition_of(key) == partition:
            return key
    raise ValueError(f"no key {prefix!r}... lands in partition {partition}")
