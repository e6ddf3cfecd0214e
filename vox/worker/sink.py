"""Write one batch of raw messages durably: valid events to `interactions`, rejections to the
dead-letter topic and `dead_letters`. The caller acknowledges the batch's offsets only after
`write_batch` returns, so a crash at any point replays the batch and never loses it.

Exactly-once effect: before inserting, the sink asks ClickHouse which of the batch's keys are
already stored (a replay after a restart, a producer resending an event) and skips them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
import hashlib
from datetime import datetime, timedelta, timezone
from collections import Counter
from itertools import groupby
from typing import TYPE_CHECKING, Awaitable, Callable, Sequence

from vox.schemas import Event
from vox.worker.retry import Patient
from vox.errors import RefusedError
from vox.forget import Forgotten
from vox.core.interactions import (
    DEAD_LETTER_COLUMNS,
    DIGEST,
    EVENT_ID,
    INTERACTION_COLUMNS,
    SOURCE_OFFSET,
    SOURCE_PARTITION,
    SOURCE_TOPIC,
    dead_letter_row,
    interaction_row,
)
from vox.metrics import WorkerMetrics
from vox.core.customers.signals import source_id
from vox.clickhouse.store import Store, in_list
from vox.core.triage import RawMessage, Rejection, triage

if TYPE_CHECKING:
    from vox.worker.routing import StoreBackedRouter
    from vox.core.customers.signals import Signal

log = logging.getLogger("vox.sink")

REFUSALS_BEFORE_BLAMING_THE_TABLE = 8  # single rows refused, none accepted: the table is at fault
KEY_LOOKUP_CHUNK = 8000  # hashes per key look-up: about 170 KB of SQL, under max_query_size (256 KiB)
DeadLetterPublisher = Callable[[Sequence[Rejection]], Awaitable[None]]
SignalPublisher = Callable[[Sequence["Signal"]], Awaitable[None]]


@dataclass(frozen=True)
class BatchReport:
    consumed: int
    written: int
    rejected: int
    duplicates: int


def event_key(event_id: str) -> int:
    """ClickHouse's halfMD5(event_id): the hash the `event_keys` table is sorted by."""
    return int.from_bytes(hashlib.md5(event_id.encode()).digest()[:8], "big")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class IngestSink:
    def __init__(
        self,
        store: Store,
        family_of_topic: dict[str, str],
        publish_dead_letters: DeadLetterPublisher,
        metrics: WorkerMetrics,
        patient: Patient | None = None,
        clock: Callable[[], datetime] = utcnow,
        router: "StoreBackedRouter | None" = None,
        publish_signals: SignalPublisher | None = None,
        max_clock_skew_s: float = 86_400.0,
    ):
        self.max_clock_skew = timedelta(seconds=max_clock_skew_s)
        self.votes_dropped = 0  # the router's count of unresolved votes, already in the metric
        self.forgotten = Forgotten()  # filled from ClickHouse by the worker and `vox replay`
        self.router, self.publish_signals = router, publish_signals
        self.store = store
        self.family_of_topic = family_of_topic
        self.publish_dead_letters = publish_dead_letters
        self.metrics = metrics
        self.clock = clock
        self.patient = patient or Patient(on_failure=lambda _: metrics.write_errors.inc(),
                                          on_duration=metrics.write_seconds.observe)  # fmt: skip

    async def write_batch(self, messages: Sequence[RawMessage]) -> BatchReport:
        now = self.clock()
        sorted_out = triage(messages, self.family_of_topic, now + self.max_clock_skew)
        accepted = self.without_forgotten(sorted_out.accepted)
        rows: dict[str, tuple] = {}
        events: dict[str, tuple[Event, RawMessage]] = {}
        for event, message in accepted:
            row = interaction_row(event, message, now)
            first = rows.get(event.event_id)
            if first is None:  # the first copy wins
                rows[event.event_id] = row
                events[event.event_id] = (event, message)
            elif first[DIGEST] != row[DIGEST]:
                self.metrics.resent_changed.inc()
        rejected = self.forgotten_rejections_dropped(sorted_out.rejected)
        if rejected:
            await self.patient.send(self.publish_dead_letters, rejected)
        fresh = await self.patient.call(self._not_yet_stored, list(rows.values()))
        if self.router is not None and self.publish_signals is not None and fresh:
            # Signals go out before the rows go in: a crash between the two re-sends signals
            # (each customer's state recognises them) rather than losing them. Look-ups run on
            # the ClickHouse thread, the pure routing on the event loop.
            new_events = [events[row[EVENT_ID]][0] for row in fresh]
            await self.patient.call(self.router.recall, new_events)
            signals = self.router.signals_of(new_events, [(source_id(row[SOURCE_TOPIC], row[SOURCE_PARTITION]),
                                                           row[SOURCE_OFFSET]) for row in fresh])  # fmt: skip
            await self.patient.send(self.publish_signals, signals)
            self._count_unresolved_votes(self.router.content.dropped)
        refused = await self.patient.call(self._insert_interactions, fresh)
        if refused:
            # ClickHouse refused these rows alone (their signals are out already: documented)
            late = [Rejection(events[row[EVENT_ID]][1], "store_refused", reason) for row, reason in refused]
            await self.patient.send(self.publish_dead_letters, late)
            rejected += late
        await self.patient.call(self._insert_dead_letters, [dead_letter_row(r, now) for r in rejected])
        written = len(fresh) - len(refused)
        duplicates = len(accepted) - len(fresh)
        self._count(messages, sorted_out.accepted, rejected, duplicates)
        return BatchReport(len(messages), written, len(rejected), duplicates)

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

    def _count_unresolved_votes(self, dropped: int) -> None:
        if dropped > self.votes_dropped:
            self.metrics.votes_unresolved.inc(dropped - self.votes_dropped)
            self.votes_dropped = dropped

    def _count(self, messages: Sequence[RawMessage], valid: Sequence[tuple[Event, RawMessage]],
               rejected: Sequence[Rejection], duplicates: int) -> None:  # fmt: skip
        m = self.metrics
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
                self.store.insert("interactions", INTERACTION_COLUMNS, rows)
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
        self.store.insert("dead_letters", DEAD_LETTER_COLUMNS, fresh_dead)
        if len(fresh_dead) < len(dead):
            self.metrics.duplicates.labels("dead_letters").inc(len(dead) - len(fresh_dead))

    def _not_yet_stored(self, rows: list[tuple]) -> list[tuple]:
        """The rows whose event id is not stored yet, whatever else the stored copy says: the
        first copy of an id wins. `event_keys` (migration 6) holds every stored id by its hash;
        a hit is compared by id (a hash collision is another event), and a resend whose content
        differs from the stored copy is counted."""
        if not rows:
            return rows
        db = self.store.database
        keys = list({event_key(row[EVENT_ID]) for row in rows})
        stored: dict[str, int] = {}  # event id -> digest of the stored copy
        for start in range(0, len(keys), KEY_LOOKUP_CHUNK):
            chunk = keys[start : start + KEY_LOOKUP_CHUNK]
            stored.update(self.store.query(
                f"SELECT event_id, max(content_digest) FROM {db}.event_keys "
                f"WHERE key IN ({','.join(map(str, chunk))}) GROUP BY event_id"))  # fmt: skip
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
        db = self.store.database
        stored: set[tuple] = set()
        for (topic, partition), group in groupby(sorted(dead, key=lambda r: (r[0], r[1], r[2])), key=lambda r: (r[0], r[1])):
            offsets = [r[2] for r in group]
            sql = (
                f"SELECT source_topic, source_partition, source_offset FROM {db}.dead_letters "
                f"WHERE source_topic IN {in_list([topic])} AND source_partition = {int(partition)} "
                f"AND source_offset IN {in_list(offsets)}"
            )
            stored.update((r[0], int(r[1]), int(r[2])) for r in self.store.query(sql))
        return [row for row in dead if (row[0], row[1], row[2]) not in stored]

    def close(self) -> None:
        self.patient.close()
