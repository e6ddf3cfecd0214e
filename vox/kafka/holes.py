"""Reading back a stretch of a partition that a consumer never handed over (`vox.core.continuity`)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

from vox.core.continuity import Hole
from vox.errors import VoxError

HOLE_READ_TIMEOUT_S = 60.0


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
