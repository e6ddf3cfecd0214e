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
from vox.core.keys import source_id
from vox.core.stage import KeyedLogic, KeyedStage, StageOutput, by_key
from vox.metrics import WorkerMetrics
from vox.worker.commit import Commit, Step, nothing
from vox.worker.retry import Patient

Rows = Callable[[str, Sequence[str], list[tuple]], None]  # (table, columns, rows): a ClickHouse insert
Messages = Callable[[list[tuple[str, bytes, bytes]]], Awaitable[None]]  # (topic suffix, key, value)
Records = Callable[[str, list], Awaitable[None]]  # (a stage's topic suffix, keyed records for it)


@dataclass(frozen=True, slots=True)
class KeyedMessage:
    topic: str
    key: bytes | None
    value: bytes
    partition: int
    offset: int


class StageRunner:
    def __init__(self, stage: KeyedStage, logic: KeyedLogic, table: MutableMapping[bytes, bytes], insert: Rows,
                 publish: Messages, publish_records: Records, patient: Patient, metrics: WorkerMetrics):  # fmt: skip
        self.stage, self.logic, self.table = stage, logic, table
        self.insert, self.publish, self.patient, self.metrics = insert, publish, patient, metrics
        self.publish_records = publish_records
        self.forgotten: set[str] = set()  # keys (`forget_key`) of forgotten customers

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
        output = self.logic.flush(self.apply(messages))
        await Commit(announce=partial(self._announce, output), store=partial(self._store, output),
                     keep=partial(self._keep, output), mark=mark).run()  # fmt: skip
        for table, _, rows in output.rows:
            self.metrics.rows_written.labels(self.stage.name, table).inc(len(rows))
        self.metrics.votes_unresolved.inc(output.counts.get("votes unresolved", 0))
        for message in messages:
            self.metrics.mark_processed(message.topic, message.partition, message.offset)
        return output

    async def _announce(self, output: StageOutput) -> None:
        # before they are stored: a crash between the two announces a move again (at least
        # once) rather than storing one nobody heard of
        if output.messages:
            await self.patient.send(self.publish, output.messages)
        for topic, records in output.records.items():
            await self.patient.send(self.publish_records, topic, records)

    async def _store(self, output: StageOutput) -> None:
        for table, columns, rows in output.rows:
            if rows:
                await self.patient.call(self.insert, table, columns, rows)

    async def _keep(self, output: StageOutput) -> None:
        for key, state in output.states.items():
            self.table[key.encode()] = state

    def forget(self, keys: set[str]) -> None:
        """Drop these forgotten customers (keys of `vox.core.forgotten`) from the stage's states:
        a state deleted from the table writes a tombstone to its changelog, a redacted one its
        new value. Their records still in flight are skipped from now on."""
        self.forgotten |= keys
        redact = getattr(self.logic, "redact", None)
        for stored, value in list(self.table.items()):
            key = stored.decode(errors="replace")
            kept = redact(key, value, keys) if redact else (None if forget_key(key) in keys else value)
            if kept is None:
                del self.table[stored]
                self.logic.drop(key)
            elif kept != value:
                self.table[stored] = kept
                self.logic.drop(key)
