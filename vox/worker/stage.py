"""A keyed stage in the worker (`vox.core.stage`): its records applied to per-key states that
live in a changelogged Faust table, its rows written, its messages published.

A message of a stage's topic carries the records of one ingest batch for the keys of one
partition (see `Publisher.keyed`), so a stage handles a few messages per batch, not one per
event. Exactly-once effect, with at-least-once delivery: a state records the highest offset of
the stage's topic applied to it (a key's records all travel in one partition), so records
re-read after a restart are skipped if the changelog already had them; and records carry their
input position, which the stage's logic recognises when routing sent a batch twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Awaitable, Callable, MutableMapping, Sequence

from vox.core.forgotten import forget_key
from vox.core.keys import PARTITION_KEY_PREFIX, KeyPartitions, partition_key, source_id
from vox.core.progress import NOTHING_YET, Mark, Progress
from vox.core.progress import decode as decode_marks
from vox.core.stage import KeyedLogic, KeyedStage, StageOutput, by_key
from vox.metrics import WorkerMetrics
from vox.worker.commit import Commit, Step, nothing
from vox.worker.retry import Patient

Rows = Callable[[str, Sequence[str], list[tuple]], None]  # (table, columns, rows): a ClickHouse insert
Messages = Callable[[list[tuple[str, bytes, bytes]]], Awaitable[None]]  # (topic suffix, key, value)
Records = Callable[[str, list, dict], Awaitable[None]]  # (a stage's topic suffix, keyed records for it, marks)


@dataclass(frozen=True, slots=True)
class KeyedMessage:
    topic: str
    key: bytes | None
    value: bytes
    partition: int
    offset: int
    progress: bytes | None = None  # the event-time marks it carries (`vox.core.progress.HEADER`)


class StageRunner:
    """`upstream`: the source ids of the stage partitions that send this stage records (and so
    event-time marks), which its watermark waits for; ingest names the input partitions itself."""

    def __init__(self, stage: KeyedStage, logic: KeyedLogic, table: MutableMapping[bytes, bytes], insert: Rows,
                 publish: Messages, publish_records: Records, patient: Patient, metrics: WorkerMetrics,
                 partition_of: KeyPartitions, upstream: Sequence[int] = (), feeds: Sequence[str] | None = None):  # fmt: skip
        self.stage, self.logic, self.table = stage, logic, table
        # the stages it feeds that run here (`KeyedStage.feeds` names all it may feed)
        self.feeds = tuple(stage.feeds if feeds is None else feeds)
        self.insert, self.publish, self.patient, self.metrics = insert, publish, patient, metrics
        self.publish_records, self.partition_of, self.upstream = publish_records, partition_of, tuple(upstream)
        self.forgotten: set[str] = set()  # keys (`forget_key`) of forgotten customers
        self._progress_keys: dict[int, bytes] = {}

    def progress_key(self, partition: int) -> bytes:
        key = self._progress_keys.get(partition)
        if key is None:
            key = self._progress_keys[partition] = partition_key("progress", partition, self.partition_of).encode()
        return key

    def progress(self, messages: Sequence[KeyedMessage]) -> dict[int, tuple[Progress, int]]:
        """Each partition's event-time progress after these messages (its marks merged into what
        the table holds), with the partition's next offset."""
        found: dict[int, tuple[Progress, int]] = {}
        for message in messages:
            known = found.get(message.partition)
            if known is None:
                known = (Progress.from_bytes(self.table.get(self.progress_key(message.partition))), 0)
                known[0].expect(self.upstream)
            if message.progress is not None:
                known[0].merge(decode_marks(message.progress))
            found[message.partition] = (known[0], max(known[1], message.offset + 1))
        return found

    def apply(self, messages: Sequence[KeyedMessage]) -> list[str]:
        """Fold the messages' records into their keys' states; the keys touched, in order."""
        touched: list[str] = []
        applied = 0
        for message in messages:
            source = source_id(message.topic, message.partition)
            for key, records in by_key(self.stage, self.stage.unpack(message.value)).items():
                if self.forgotten and forget_key(key) in self.forgotten:
                    continue  # a forgotten customer's records (resolved before they were forgotten)
                done = self.logic.apply(key, records, source, message.offset, partial(self.table.get, key.encode()))
                if done is not None:  # None: the changelog had this offset already
                    applied += done
                    touched.append(key)  # its offset moved: save it either way
        self.metrics.signals_applied.labels(self.stage.name).inc(applied)
        return touched

    async def write_batch(self, messages: Sequence[KeyedMessage], mark: Step = nothing) -> StageOutput:
        progress = self.progress(messages)
        advance = getattr(self.logic, "advance", None)  # optional: a logic that acts on event time
        for partition, (known, _) in progress.items():
            watermark = known.watermark()
            if advance is not None:
                advance(partition, watermark, self.table)
            if watermark != NOTHING_YET:
                self.metrics.watermark.labels(self.stage.name, str(partition)).set(watermark)
        output = self.logic.flush(self.apply(messages))
        output.states.update((self.progress_key(p).decode(), known.to_bytes()) for p, (known, _) in progress.items()
                             if known.marks)  # fmt: skip
        if self.feeds:
            # what this stage sends on carries how far it has come: the stages it feeds wait for it
            marks = {source_id(self.stage_topic(messages), p): Mark(offset, known.watermark(), known.caught_up())
                     for p, (known, offset) in progress.items()}  # fmt: skip
            for topic in self.feeds:
                output.marks[topic] = marks
                output.records.setdefault(topic, [])
        await Commit(announce=partial(self._announce, output), store=partial(self._store, output),
                     keep=partial(self._keep, output), mark=mark).run()  # fmt: skip
        for table, _, rows in output.rows:
            self.metrics.rows_written.labels(self.stage.name, table).inc(len(rows))
        self.metrics.votes_unresolved.inc(output.counts.get("votes unresolved", 0))
        self.metrics.count_alerts(output.counts)
        self.metrics.count_leader_changes(output.counts)
        self.metrics.show_levels(output.levels)
        for message in messages:
            self.metrics.mark_processed(message.topic, message.partition, message.offset)
        return output

    async def _announce(self, output: StageOutput) -> None:
        # before they are stored: a crash between the two announces a move again (at least
        # once) rather than storing one nobody heard of
        if output.messages:
            await self.patient.send(self.publish, output.messages)
        for topic, records in output.records.items():
            await self.patient.send(self.publish_records, topic, records, output.marks.get(topic, {}))

    async def _store(self, output: StageOutput) -> None:
        for table, columns, rows in output.rows:
            if rows:
                await self.patient.call(self.insert, table, columns, rows)

    async def _keep(self, output: StageOutput) -> None:
        for key, state in output.states.items():
            if state is None:  # a state the logic deleted (evicted)
                self.table.pop(key.encode(), None)
            else:
                self.table[key.encode()] = state

    @staticmethod
    def stage_topic(messages: Sequence[KeyedMessage]) -> str:
        return messages[0].topic

    def forget(self, keys: set[str]) -> None:
        """Drop these forgotten customers (keys of `vox.core.forgotten`) from the stage's states:
        a state deleted from the table writes a tombstone to its changelog, a redacted one its
        new value. Their records still in flight are skipped from now on."""
        self.forgotten |= keys
        redact = getattr(self.logic, "redact", None)
        for stored, value in list(self.table.items()):
            key = stored.decode(errors="replace")
            if key.startswith(PARTITION_KEY_PREFIX):
                continue  # a partition's own record, no customer's
            kept = redact(key, value, keys) if redact else (None if forget_key(key) in keys else value)
            if kept is None:
                del self.table[stored]
                self.logic.drop(key)
            elif kept != value:
                self.table[stored] = kept
                self.logic.drop(key)
