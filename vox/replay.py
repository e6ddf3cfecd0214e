"""`vox replay FILE`: the scoring core in-process over a JSON-lines file.

For backfills (history imported with `vox import`) and what-ifs (the same events with other
settings, into another database). Lines are validated exactly as the worker validates
messages; valid events are written to `interactions` (skipping those already stored) and scored;
invalid ones go to `dead_letters`. Customers are scored and placed at the same event-time
sweep points as in the worker (`vox.core.customers.sweeps`), the file's watermark being the
latest event time read so far; the last point the data passes by the allowed lateness is the
last swept (as in a stream that stops there). Every keyed
stage (`VOX_STAGES`) runs through the same router and logic as in the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Sequence

from vox.worker.sink import IngestSink
from vox.forget import load_forgotten
from vox.core.interactions import dead_letter_row, interaction_row
from vox.metrics import WorkerMetrics
from vox.core.customers.stage import is_customer_key
from vox.core.ports import ReplayTables
from vox.core.progress import NOTHING_YET
from vox.core.stage import KeyedStage, StageOutput, by_key
from vox.schemas import Event
from vox.settings import Settings
from vox.stages import declared_stages
from vox.core.triage import RawMessage, triage


@dataclass
class ReplayReport:
    lines: int = 0
    events: int = 0
    resent: int = 0
    invalid: int = 0
    stored: int = 0
    customers: int = 0
    transitions: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"replayed {self.lines} lines: {self.events} events scored ({self.resent} resent skipped), "
                f"{self.stored} new rows in interactions, {self.invalid} invalid to dead_letters; "
                f"{self.customers} customers scored, {self.transitions} segment transitions")  # fmt: skip


NO_POSITION = (-1, -1)  # a file's line has no input partition: records are recognised by their ids


class InProcessStage:
    """A keyed stage run in this process, through the same router and logic as in the worker;
    its table is a dict of the same bytes the worker's changelog holds."""

    def __init__(self, stage: KeyedStage, settings: Settings):
        # one partition: what the stream spreads over partitions (a customer's state, a share of
        # the population's histogram) is here in one place, and sums to the same
        settings = settings.model_copy(update={"topic_partitions": 1})
        self.stage, self.router, self.logic = stage, stage.router(settings), stage.logic(settings)
        self.table: dict[bytes, bytes] = {}
        self.batches = 0  # stands for the offset of the stage's topic: each batch is new

    def run(self, events: Sequence[Event], fed: Sequence = (), watermark: float = NOTHING_YET) -> StageOutput:
        """The stage's records of these events, then those another stage sent it (`fed`); the
        file's watermark: the latest event time read so far (one source, read in order)."""
        records = [*self.router.records_of(events, [NO_POSITION] * len(events)), *fed] if self.stage.from_ingest \
            else list(fed)  # fmt: skip
        self.batches += 1
        if (advance := getattr(self.logic, "advance", None)) is not None:
            advance(0, watermark, self.table)
        touched = [key for key, recs in by_key(self.stage, records).items()
                   if self.logic.apply(key, recs, -1, self.batches, partial(self.table.get, key.encode())) is not None]  # fmt: skip
        output = self.logic.flush(touched)
        for key, state in output.states.items():
            if state is None:  # a state the logic deleted (evicted)
                self.table.pop(key.encode(), None)
            else:
                self.table[key.encode()] = state
        return output


def replay_file(path: Path, tables: ReplayTables, settings: Settings, batch_events: int | None = None,
                progress: bool = True, write_interactions: bool = True) -> ReplayReport:  # fmt: skip
    """Replay a file into `tables` with the keyed stages of `settings`, `batch_events` events at a
    time (default: VOX_BATCH_MAX_EVENTS, as the worker's batches; the rows do not depend on it)."""
    from tqdm import tqdm

    report = ReplayReport()
    sink = IngestSink(tables, {}, _no_dead_letter_topic, WorkerMetrics(), sentiment=settings.sentiment.texts)
    sink.forgotten = load_forgotten(tables)  # a replay must not bring back who was forgotten
    run = _Replay(sink, [InProcessStage(stage, settings) for stage in declared_stages(settings)], tables, report,
                  datetime.now(timezone.utc), write_interactions)  # fmt: skip
    latest = run.now + timedelta(seconds=settings.max_clock_skew_s)  # the window the worker applies at ingestion
    size = batch_events or settings.batch_max_events
    source = f"file:{path.name}"
    try:
        with open(path, "rb") as lines, tqdm(total=path.stat().st_size, unit="B", unit_scale=True,
                                             desc=f"replaying {path.name}", disable=not progress) as bar:  # fmt: skip
            chunk: list[RawMessage] = []
            for number, line in enumerate(lines, start=1):
                bar.update(len(line))
                payload = line.rstrip(b"\r\n")
                if not payload.strip():
                    continue
                chunk.append(RawMessage(source, 0, number, payload))
                if len(chunk) >= size:
                    run.chunk(chunk, latest)
                    chunk = []
            run.chunk(chunk, latest)  # each chunk drains what its stages send each other
    finally:
        sink.close()
    report.customers = next((sum(is_customer_key(key.decode()) for key in s.table)
                             for s in run.stages if s.stage.name == "customers"), 0)  # fmt: skip
    return report


async def _no_dead_letter_topic(rejections) -> None:  # a file has no Kafka position to report
    return None


@dataclass
class _Replay:
    sink: IngestSink
    stages: list[InProcessStage]
    tables: ReplayTables
    report: ReplayReport
    now: datetime
    write_interactions: bool
    seen: set[int] = field(default_factory=set)  # 64-bit hashes of event ids: a resent event is scored once
    watermark: float = NOTHING_YET
    fed: dict[str, list] = field(default_factory=dict)  # stage topic -> records another stage sent it

    @property
    def topics(self) -> set[str]:
        return {stage.stage.topic for stage in self.stages}

    def chunk(self, chunk: list[RawMessage], latest: datetime) -> None:
        if not chunk:
            return
        report, sink = self.report, self.sink
        sorted_out = triage(chunk, {}, latest)
        report.lines += len(chunk)
        rejected = sink.forgotten_rejections_dropped(sorted_out.rejected)
        report.invalid += len(rejected)
        for rejection in rejected:
            report.reasons[rejection.reason_class] = report.reasons.get(rejection.reason_class, 0) + 1
        rows, events = [], []
        for event, message in sink.without_forgotten(sorted_out.accepted):
            self.watermark = max(self.watermark, event.occurred_at.timestamp())  # a resend is progress too
            key = hash(event.event_id)
            if key in self.seen:
                report.resent += 1
                continue
            self.seen.add(key)
            events.append(event)
            rows.append(interaction_row(event, message, self.now, sink.sentiment and self.write_interactions))
        report.events += len(events)
        if self.write_interactions:
            report.stored += sink.write_rows(rows, [dead_letter_row(r, self.now) for r in rejected])[0]
        self.run_stages(events)
        self.drain()  # what the stages send each other, now: the same whatever the chunk's size

    def run_stages(self, events: list[Event]) -> None:
        """Every stage in order: what one sends a later one is fed to it now, an earlier one
        at the next chunk (the population's cuts back to the customers stage)."""
        fed = self.fed
        for stage in self.stages:
            output = stage.run(events, fed.pop(stage.stage.topic, ()), self.watermark)
            for table, columns, stage_rows in output.rows:
                if stage_rows:
                    self.tables.insert_rows(table, columns, stage_rows)
                if table == "segment_transitions":
                    self.report.transitions += len(stage_rows)
            for topic, records in output.records.items():
                if records and topic in self.topics:  # a stage it may feed that does not run: nothing
                    fed.setdefault(topic, []).extend(records)

    def drain(self) -> None:
        """What the stages still send each other (a sweep waits for the population's cuts of
        sweeps before it: a chunk spanning many of them goes round several times), until quiet."""
        for _ in range(10_000):
            if not self.fed:
                return
            self.run_stages([])
        raise RuntimeError("the stages of a replay kept sending each other records")
