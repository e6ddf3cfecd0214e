"""Write one batch of raw messages durably: valid events to `interactions`, rejections to the
dead-letter topic and `dead_letters`. The caller acknowledges the batch's offsets only after
`write_batch` returns, so a crash at any point replays the batch and never loses it.

Exactly-once effect: before inserting, the sink asks ClickHouse which of the batch's keys are
already stored (a replay after a restart, a producer resending an event) and skips them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from datetime import datetime, timedelta, timezone
from collections import Counter
from typing import Awaitable, Callable, Sequence

from vox.schemas import Event
from vox.worker.retry import Patient
from vox.errors import RefusedError
from vox.core.forgotten import Forgotten
from vox.core.interactions import (
    DIGEST,
    EVENT_ID,
    SOURCE_OFFSET,
    SOURCE_PARTITION,
    SOURCE_TOPIC,
    dead_letter_position,
    dead_letter_row,
    interaction_row,
)
from vox.metrics import WorkerMetrics
from vox.core.keys import source_id
from vox.core.progress import NOTHING_YET, Mark
from vox.core.ports import EventTables, RoutingMemory
from vox.core.stage import StageRouter
from vox.worker.commit import Commit, Step, nothing
from vox.core.triage import RawMessage, Rejection, triage

log = logging.getLogger("vox.sink")

REFUSALS_BEFORE_BLAMING_THE_TABLE = 8  # single rows refused, none accepted: the table is at fault
DeadLetterPublisher = Callable[[Sequence[Rejection]], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    """A keyed stage as ingest sees it: its router, and how its records are published (with
    the batch's event-time marks, `vox.core.progress`, to every partition of its topic)."""

    router: StageRouter
    publish: Callable[[Sequence, Marks], Awaitable[None]]


Marks = dict  # source id -> `vox.core.progress.Mark`, or None for a source known but not read here
#: (topic, partition) -> (next offset, caught up) for the input partitions this worker reads, None
#: for those it knows of but another worker reads: what the ingest loop tells the sink
Positions = Callable[[Sequence[RawMessage]], Awaitable[dict[tuple[str, int], tuple[int, bool] | None]]]


@dataclass
class _Batch:
    now: datetime
    valid: list  # (event, message) of every valid message
    accepted: list  # the same, but for forgotten customers' (redacted)
    rejected: list[Rejection]
    events: dict[str, tuple[Event, RawMessage]] = field(default_factory=dict)  # first copies, by id
    fresh: list[tuple] = field(default_factory=list)  # their rows, for those not stored yet
    routed: list[tuple[Route, list]] = field(default_factory=list)
    marks: Marks = field(default_factory=dict)
    refused: list[tuple[tuple, str]] = field(default_factory=list)


@dataclass(frozen=True)
class BatchReport:
    consumed: int
    written: int
    rejected: int
    duplicates: int


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class IngestSink:
    def __init__(
        self,
        tables: EventTables,
        family_of_topic: dict[str, str],
        publish_dead_letters: DeadLetterPublisher,
        metrics: WorkerMetrics,
        patient: Patient | None = None,
        clock: Callable[[], datetime] = utcnow,
        routes: Sequence[Route] = (),
        memory: RoutingMemory | None = None,
        max_clock_skew_s: float = 86_400.0,
        positions: Positions | None = None,
        sentiment: bool = True,
    ):
        self.max_clock_skew = timedelta(seconds=max_clock_skew_s)
        self.sentiment = sentiment  # read each text's sentiment into its row
        self.forgotten = Forgotten()  # filled from ClickHouse by the worker and `vox replay`
        self.routes = routes  # the keyed stages routed to (none in `vox replay`: it routes itself)
        self.memory = memory  # what routers recall from (the tables themselves in the worker)
        self.tables = tables
        self.positions = positions  # the ingest loop's view of its partitions, for the marks
        self.latest: dict[int, float] = {}  # source id -> the latest event time read from it
        self._marks_sent: Marks | None = None
        self.family_of_topic = family_of_topic
        self.publish_dead_letters = publish_dead_letters
        self.metrics = metrics
        self.clock = clock
        self.patient = patient or Patient(on_failure=lambda _: metrics.write_errors.inc(),
                                          on_duration=metrics.write_seconds.observe)  # fmt: skip

    async def write_batch(self, messages: Sequence[RawMessage], mark: Step = nothing) -> BatchReport:
        """Validate, route and write a batch, in the commit order of `vox.worker.commit`
        (`mark`: the caller's watermark step)."""
        batch = await self._prepare(messages)
        await Commit(announce=partial(self._announce, batch), store=partial(self._store, batch), mark=mark).run()
        written = len(batch.fresh) - len(batch.refused)
        duplicates = len(batch.accepted) - len(batch.fresh)
        self._count(messages, batch.valid, batch.rejected, duplicates)
        return BatchReport(len(messages), written, len(batch.rejected), duplicates)

    async def _prepare(self, messages: Sequence[RawMessage]) -> "_Batch":
        """Triage, the first copy of each event id, which are not stored yet, their keyed records."""
        now = self.clock()
        sorted_out = triage(messages, self.family_of_topic, now + self.max_clock_skew)
        batch = _Batch(now, sorted_out.accepted, self.without_forgotten(sorted_out.accepted),
                       self.forgotten_rejections_dropped(sorted_out.rejected))  # fmt: skip
        rows: dict[str, tuple] = {}
        for event, message in batch.accepted:
            row = interaction_row(event, message, now, self.sentiment)
            first = rows.get(event.event_id)
            if first is None:  # the first copy wins
                rows[event.event_id] = row
                batch.events[event.event_id] = (event, message)
            elif first[DIGEST] != row[DIGEST]:
                self.metrics.resent_changed.inc()
        batch.fresh = await self.patient.call(self._not_yet_stored, list(rows.values()))
        if self.routes:
            new_events = [batch.events[row[EVENT_ID]][0] for row in batch.fresh]
            positions = [(source_id(row[SOURCE_TOPIC], row[SOURCE_PARTITION]), row[SOURCE_OFFSET]) for row in batch.fresh]
            for route in self.routes:
                # look-ups on the ClickHouse thread, the pure routing on the event loop
                if self.memory is not None and new_events:
                    await self.patient.call(route.router.recall, self.memory, new_events)
                # routed even when nothing is new: the marks still advance every partition
                batch.routed.append((route, route.router.records_of(new_events, positions) if new_events else []))
            batch.marks = await self._marks(messages, batch.valid)
        return batch

    async def _marks(self, messages: Sequence[RawMessage], valid: list) -> Marks:
        """How far each input partition has come in event time, after this batch: every valid
        event counts, stored already or not (a resent tail is progress too)."""
        latest = self.latest
        for event, message in valid:
            source, at = source_id(message.topic, message.partition), event.occurred_at.timestamp()
            if at > latest.get(source, NOTHING_YET):
                latest[source] = at
        if self.positions is None:
            return {}
        marks: Marks = {}
        for (topic, partition), position in (await self.positions(messages)).items():
            source = source_id(topic, partition)
            marks[source] = None if position is None else Mark(position[0], latest.get(source, NOTHING_YET), position[1])
        return marks

    async def _announce(self, batch: "_Batch") -> None:
        if batch.rejected:
            await self.patient.send(self.publish_dead_letters, batch.rejected)
        if not batch.routed or (not batch.fresh and batch.marks == self._marks_sent):
            return  # nothing new to route, no progress to tell
        for route, records in batch.routed:
            await self.patient.send(route.publish, records, batch.marks)
        self._marks_sent = batch.marks

    async def _store(self, batch: "_Batch") -> None:
        batch.refused = await self.patient.call(self._insert_interactions, batch.fresh)
        if batch.refused:
            # ClickHouse refused these rows alone: dead letters, announced now (their keyed
            # records are out already: documented in the README)
            late = [Rejection(batch.events[row[EVENT_ID]][1], "store_refused", reason) for row, reason in batch.refused]
            await self.patient.send(self.publish_dead_letters, late)
            batch.rejected = batch.rejected + late
        await self.patient.call(self._insert_dead_letters, [dead_letter_row(r, batch.now) for r in batch.rejected])

    def without_forgotten(self, accepted: list[tuple[Event, RawMessage]]) -> list[tuple[Event, RawMessage]]:
        """Events of forgotten customers dropped (counted), their id stripped from others'."""
        if not self.forgotten:
            return accepted
        kept = [(redacted, message) for event, message in accepted
                if (redacted := self.forgotten.redact(event)) is not None]  # fmt: skip
        if len(kept) < len(accepted):
            self.metrics.forgotten.inc(len(accepted) - len(kept))
        return kept

    def forgotten_rejections_dropped(self, rejected: list[Rejection]) -> list[Rejection]:
        """Rejected messages that name a forgotten customer are dropped, not dead-lettered."""
        if not self.forgotten:
            return list(rejected)
        kept = [r for r in rejected if not self.forgotten.named_in(r.message.value)]
        if len(kept) < len(rejected):
            self.metrics.forgotten.inc(len(rejected) - len(kept))
        return kept

    def _count(self, messages: Sequence[RawMessage], valid: Sequence[tuple[Event, RawMessage]],
               rejected: Sequence[Rejection], duplicates: int) -> None:  # fmt: skip
        m = self.metrics
        if not messages:
            return  # the marks alone (`positions`): no batch to count
        m.batch_size.observe(len(messages))
        consumed = Counter(message.topic for message in messages)
        valid_per_topic = Counter(message.topic for _, message in valid)
        for topic, count in consumed.items():
            m.consumed.labels(topic).inc(count)
            m.valid.labels(topic).inc(valid_per_topic[topic])
        for rejection in rejected:
            m.rejected.labels(rejection.message.topic, rejection.reason_class).inc()
        if duplicates:
            m.duplicates.labels("interactions").inc(duplicates)
        m.last_batch_at.set_to_current_time()
        for message in messages:
            m.mark_processed(message.topic, message.partition, message.offset)

    def write_rows(self, rows: list[tuple], dead: list[tuple]) -> tuple[int, int]:
        """Insert what is not stored yet; return (rows written, rows already there). (`vox
        replay`: a row ClickHouse refuses stops it with the reason.)"""
        fresh = self._not_yet_stored(rows)
        if refused := self._insert_interactions(fresh):
            row, reason = refused[0]
            raise RefusedError(f"event {row[EVENT_ID]!r} was refused by ClickHouse: {reason}")
        self._insert_dead_letters(dead)
        return len(fresh), len(rows) - len(fresh)

    def _insert_interactions(self, fresh: list[tuple]) -> list[tuple[tuple, str]]:
        """Insert rows known to be new; return those ClickHouse refuses alone, with its reason.

        A refused batch is split in halves until the refused rows are found, so one row the
        server cannot store never stalls the others. When the first rows tried alone are all
        refused, the refusal is the table's (dropped, altered), not the rows': it is raised."""
        refused: list[tuple[tuple, str]] = []
        accepted_any = False

        def insert(rows: list[tuple]) -> None:
            nonlocal accepted_any
            try:
                self.tables.insert_interactions(rows)
                accepted_any = True
            except RefusedError as exc:
                if len(rows) > 1:
                    insert(rows[: len(rows) // 2])
                    insert(rows[len(rows) // 2 :])
                    return
                refused.append((rows[0], str(exc)))
                if not accepted_any and len(refused) >= REFUSALS_BEFORE_BLAMING_THE_TABLE:
                    raise

        if fresh:
            insert(fresh)
        return refused

    def _insert_dead_letters(self, dead: list[tuple]) -> None:
        fresh_dead = self._dead_letters_not_yet_stored(dead)
        self.tables.insert_dead_letters(fresh_dead)
        if len(fresh_dead) < len(dead):
            self.metrics.duplicates.labels("dead_letters").inc(len(dead) - len(fresh_dead))

    def _not_yet_stored(self, rows: list[tuple]) -> list[tuple]:
        """The rows whose event id is not stored yet, whatever else the stored copy says: the
        first copy of an id wins, and a resend whose content differs from it is counted."""
        if not rows:
            return rows
        stored = self.tables.stored_digests([row[EVENT_ID] for row in rows])  # event id -> digest of the stored copy
        if not stored:
            return rows
        fresh = []
        for row in rows:
            digest = stored.get(row[EVENT_ID])
            if digest is None:
                fresh.append(row)
            elif digest and int(digest) != row[DIGEST]:
                self.metrics.resent_changed.inc()
        return fresh

    def _dead_letters_not_yet_stored(self, dead: list[tuple]) -> list[tuple]:
        if not dead:
            return dead
        stored = self.tables.stored_dead_letters([dead_letter_position(row) for row in dead])
        return [row for row in dead if dead_letter_position(row) not in stored]

    def close(self) -> None:
        self.patient.close()
