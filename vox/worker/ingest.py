"""The ingest stage of the worker: input topics -> rows in ClickHouse, dead letters, signals.

It reads with a plain aiokafka consumer, in a consumer group of its own, rather than through a
Faust agent. faust-streaming 0.15 hands every message to a stream one at a time (an
`asyncio.wait` per message in `Consumer._drain_messages`): on this machine that alone caps a
process near 10,000 messages/s before any work is done (`bench/contenders.py framework`). The
input topics carry one message per event, so that cap would be vox's. The scoring stage reads a
few messages per batch (`vox.signals` packs a batch's signals per partition) and stays a Faust
agent, with its changelogged table.

Delivery: a batch's offsets are committed only after its rows, dead letters and signals are
durable (at-least-once; the sink deduplicates a replayed tail). When partitions are taken away
in a rebalance, the batch in flight is finished and committed first, up to a bound, so the
next owner does not replay it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from vox.core.triage import RawMessage

log = logging.getLogger("vox.ingest")

REVOKE_WAIT_S = 20.0  # how long a rebalance waits for the batch in flight before giving it up
FETCH_BYTES_PER_PARTITION = 4 * 1024 * 1024  # whole batches per fetch, not 1 MiB slices
IDLE_MARKS_S = 2.0  # while nothing arrives, event-time marks (`positions`) go out this often

WriteBatch = Callable[[Sequence[RawMessage]], Awaitable[None]]


def raw_record(record) -> RawMessage:  # noqa: ANN001 - aiokafka ConsumerRecord
    """An input record as the sink takes it (aiokafka timestamps are milliseconds already)."""
    return RawMessage(record.topic, record.partition, record.offset, record.value, record.key, record.timestamp or 0)


class IngestLoop(ConsumerRebalanceListener):
    """Batches, written one at a time, then committed. (Checking batch N+1 while N was written
    was measured: 13.1 k -> 13.5 k events/s, within the noise, and it widened the window in
    which a crash re-sends signals, so it is not done.)"""

    def __init__(self, bootstrap: str, group: str, topics: Sequence[str], write: WriteBatch, *,
                 max_events: int, max_wait_s: float, session_timeout_s: float,
                 on_revoked: Callable[[list[tuple[str, int]]], None]):  # fmt: skip
        self.topics, self.write, self.on_revoked = list(topics), write, on_revoked
        self.max_events, self.max_wait_s = max_events, max_wait_s
        self.consumer: AIOKafkaConsumer | None = None  # made in `run`: aiokafka wants a running loop
        self._config = dict(
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,  # committed after the batch is durable, by `_commit`
            auto_offset_reset="earliest",  # a new group starts at the beginning: nothing skipped
            max_partition_fetch_bytes=FETCH_BYTES_PER_PARTITION,
            fetch_max_bytes=4 * FETCH_BYTES_PER_PARTITION,
            session_timeout_ms=int(session_timeout_s * 1000),
            heartbeat_interval_ms=int(session_timeout_s * 200),
        )
        self._in_flight: asyncio.Task | None = None  # the batch being finished

    async def run(self) -> None:
        """Consume until cancelled (the worker stops) or a fatal error (raised to the caller)."""
        self.consumer = AIOKafkaConsumer(**self._config)
        self.consumer.subscribe(self.topics, listener=self)
        await self.consumer.start()
        loop = asyncio.get_running_loop()
        try:
            idle_since = loop.time()
            while True:
                records = await self._take()
                if not records:
                    if loop.time() - idle_since < IDLE_MARKS_S:
                        continue
                    records, idle_since = [], loop.time()  # nothing new: the marks alone, see `positions`
                else:
                    idle_since = loop.time()
                self._in_flight = asyncio.create_task(self._write(records))
                await asyncio.shield(self._in_flight)  # a task: a rebalance or a stop waits for it
                self._in_flight = None
        finally:
            if self._in_flight is not None and not self._in_flight.done():
                # stopping: let the batch in flight land and commit, within bounds
                await asyncio.wait([self._in_flight], timeout=REVOKE_WAIT_S)
            await self.consumer.stop()

    async def _write(self, records: Sequence[RawMessage]) -> None:
        await self.write(records)
        if records:
            await self._commit(records)

    async def positions(self, records: Sequence[RawMessage]) -> dict[tuple[str, int], tuple[int, bool] | None]:
        """After `records`: (next offset, caught up) of each input partition this consumer
        reads, and None for each other partition of the input topics (another worker reads it:
        a stage hears of it here, and waits for that worker's marks). Sent with every batch,
        and every `IDLE_MARKS_S` while nothing arrives, so that a partition with nothing to
        read, or read to its end, never holds event time back."""
        consumer = self.consumer
        assert consumer is not None
        known: dict[tuple[str, int], tuple[int, bool] | None] = {}
        for topic in self.topics:
            for partition in consumer.partitions_for_topic(topic) or ():
                known[(topic, partition)] = None
        after = {(r.topic, r.partition): r.offset + 1 for r in records}
        for tp in consumer.assignment():
            try:
                position = await consumer.position(tp)
            except IllegalStateError:
                continue  # taken away meanwhile: its next owner reports it
            position = max(position, after.get((tp.topic, tp.partition), 0))
            end = consumer.highwater(tp)
            known[(tp.topic, tp.partition)] = (position, end is not None and position >= end)
        return known

    async def _take(self) -> list[RawMessage]:
        """Up to `max_events` records, waiting at most `max_wait_s` for the batch to fill."""
        assert self.consumer is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait_s
        records: list[RawMessage] = []
        while len(records) < self.max_events and (left := deadline - loop.time()) > 0:
            fetched = await self.consumer.getmany(timeout_ms=int(left * 1000) + 1,
                                                  max_records=self.max_events - len(records))  # fmt: skip
            for batch in fetched.values():
                records.extend(map(raw_record, batch))
        return records

    async def _commit(self, records: Sequence[RawMessage]) -> None:
        assert self.consumer is not None
        next_offsets: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            next_offsets[tp] = max(next_offsets.get(tp, 0), r.offset + 1)
        assigned = self.consumer.assignment()
        mine = {tp: offset for tp, offset in next_offsets.items() if tp in assigned}
        if not mine:
            return
        try:
            await self.consumer.commit(mine)
        except (CommitFailedError, IllegalStateError) as exc:
            # The partitions moved on in a rebalance: their next owner replays this batch's
            # tail, which the sink recognises. Nothing is lost.
            log.info("batch written, but its offsets could not be committed (%s): the next owner re-reads them", exc)

    # ConsumerRebalanceListener
    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if self._in_flight is not None and not self._in_flight.done():
            done, _ = await asyncio.wait([self._in_flight], timeout=REVOKE_WAIT_S)
            if not done:
                log.warning("the batch in flight took over %.0f s: giving its partitions up uncommitted", REVOKE_WAIT_S)
        self.on_revoked([(tp.topic, tp.partition) for tp in revoked])

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("ingest partitions assigned: %s", ", ".join(f"{tp.topic}/{tp.partition}" for tp in sorted(assigned)))

