"""`vox replay FILE`: the scoring core in-process over a JSON-lines file.

For backfills (history imported with `vox import`) and what-ifs (the same events with other
settings, into another database). Lines are validated exactly as the worker validates
messages; valid events are written to `interactions` (skipping those already stored) and scored;
invalid ones go to `dead_letters`. Customers are placed in the typology every
`VOX_BATCH_MAX_EVENTS` events, as the worker places them at the end of each batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from vox.worker.sink import IngestSink
from vox.forget import load_forgotten
from vox.core.interactions import dead_letter_row, interaction_row
from vox.metrics import WorkerMetrics
from vox.core.customers.engine import Placement, ScoringEngine, Transition
from vox.core.customers.rows import SCORE_COLUMNS, TRANSITION_COLUMNS, score_row, transition_row
from vox.clickhouse.store import Store
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


def write_scores(store: Store, placements: list[Placement], transitions: list[Transition]) -> None:
    """Latest scores for every placement, a history row for those that moved, the transitions.
    Every row has a deterministic key, so writing the same placements twice changes nothing."""
    store.insert("customer_scores", SCORE_COLUMNS, [score_row(p) for p in placements])
    store.insert("customer_score_history", SCORE_COLUMNS, [score_row(p) for p in placements if p.snapshot])
    store.insert("segment_transitions", TRANSITION_COLUMNS, [transition_row(t) for t in transitions])


def replay_file(path: Path, store: Store, engine: ScoringEngine, batch_events: int, progress: bool = True,
                write_interactions: bool = True, max_clock_skew_s: float = 86_400.0) -> ReplayReport:  # fmt: skip
    from tqdm import tqdm

    report = ReplayReport()
    sink = IngestSink(store, {}, _no_dead_letter_topic, WorkerMetrics())
    sink.forgotten = load_forgotten(store)  # a replay must not bring back who was forgotten
    seen: set[int] = set()  # 64-bit hashes of event ids: a resent event is scored once
    touched: list[str] = []
    now = datetime.now(timezone.utc)
    latest = now + timedelta(seconds=max_clock_skew_s)  # the window the worker applies at ingestion
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
                if len(chunk) >= batch_events:
                    _replay_chunk(chunk, sink, engine, seen, touched, report, now, latest, write_interactions, store)
                    chunk = []
            _replay_chunk(chunk, sink, engine, seen, touched, report, now, latest, write_interactions, store)
    finally:
        sink.close()
    report.customers = len(engine.scorer.customers)
    return report


async def _no_dead_letter_topic(rejections) -> None:  # a file has no Kafka position to report
    return None


def _replay_chunk(chunk: list[RawMessage], sink: IngestSink, engine: ScoringEngine, seen: set[int],
                  touched: list[str], report: ReplayReport, now: datetime, latest: datetime,
                  write_interactions: bool, store: Store) -> None:  # fmt: skip
    if not chunk:
        return
    sorted_out = triage(chunk, {}, latest)
    report.lines += len(chunk)
    rejected = sink.forgotten_rejections_dropped(sorted_out.rejected)
    report.invalid += len(rejected)
    for rejection in rejected:
        report.reasons[rejection.reason_class] = report.reasons.get(rejection.reason_class, 0) + 1
    rows = []
    for event, message in sink.without_forgotten(sorted_out.accepted):
        key = hash(event.event_id)
        if key in seen:
            report.resent += 1
            continue
        seen.add(key)
        report.events += 1
        touched.extend(engine.process(event))
        rows.append(interaction_row(event, message, now))
    if write_interactions:
        report.stored += sink.write_rows(rows, [dead_letter_row(r, now) for r in rejected])[0]
    placements, transitions = engine.scorer.place(touched)
    touched.clear()
    report.transitions += len(transitions)
    write_scores(store, placements, transitions)
