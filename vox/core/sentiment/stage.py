"""The sentiment stage: opinions keyed by subject (`vox.core.sentiment.subjects`), states in
`vox-subjects`, windows to `sentiment_windows`, alerts to `sentiment_alerts` and `vox.alerts`.

Bounds: a subject's state holds its open windows (`keep_windows`, 48 hourly by default), its
detector (about 30 numbers and the evidence ids) and the opinions waiting for event time to
pass them (a few seconds' worth): about 3 KB for a busy subject. Past `HELD_IN_STATE_MAX` held
opinions (a backlog, while event time stalls), they are stored in chunks under keys of the
subject's partition (`held_key`, `vox.core.held.HeldOut`), each batch's once. There is
one subject per brand, product, category and topic the events name; a deployment with a
million products holds a million small states in the stage's table, as the customers stage
holds a state per customer, and decodes only those touched in a batch.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from pydantic_core import from_json, to_json

from vox.core.customers.rows import at
from vox.core.interactions import event_sentiment
from vox.core.held import HELD_MARK, HeldKeys, HeldOut, held_key
from vox.core.keys import PARTITION_KEY_PREFIX, KeyPartitions
from vox.core.sentiment.config import SentimentConfig
from vox.core.sentiment.subjects import Alert, Detector, Windows, review_opinion, subject_key, subject_of
from vox.core.stage import JsonRecords, KeyedStage, NoRecall, StageOutput
from vox.schemas import Event, Post, Review

if TYPE_CHECKING:
    from vox.settings import Settings

RECORDS_FORMAT = 1
# opinions per chunk of held ones: about 40-60 bytes each, far below Kafka's 1 MB message
HELD_CHUNK_OPINIONS = 5000
GAUGED_SUBJECTS = 20  # the busiest subjects a worker shows as gauges: a bounded label set
#: the voice of the customer: staff and partner accounts speak for the company, not to it
VOICES = ("customer", "anonymous")

WINDOW_COLUMNS = ("subject_kind", "subject", "window_start", "window_minutes", "opinions", "mean",
                  "share_negative", "share_positive", "version")  # fmt: skip
ALERT_COLUMNS = ("alert_id", "subject_kind", "subject", "status", "direction", "baseline", "baseline_sd", "level",
                 "magnitude", "started_at", "detected_at", "detected_event_id", "events_since_change", "evidence",
                 "ended_at", "end_reason", "ended_level", "version")  # fmt: skip

# A record: [subject key, source, offset, at, event id, opinion]
Record = list


def subjects_of(event: Event) -> list[str]:
    if isinstance(event, Review):  # a review with no brand (a source that does not say) names none
        named = [("brand", event.brand), ("product", event.product_id), ("category", event.category)]
    elif isinstance(event, Post):
        named = [("topic", event.topic), ("brand", event.brand), ("product", event.product_id)]
    else:
        return []
    return [subject_key(kind, name) for kind, name in named if name]


def opinion_of(event: Event, config: SentimentConfig) -> float | None:
    if not isinstance(event, (Review, Post)) or event.actor_role not in VOICES:
        return None
    text_score = event_sentiment(event)[0] if config.texts else None
    if isinstance(event, Review):
        return round(review_opinion(event.rating, text_score, config.star_weight), 4)
    return text_score


class SentimentRouter(NoRecall):
    def __init__(self, config: SentimentConfig):
        self.config = config

    def records_of(self, events: Sequence[Event], positions: Sequence[tuple[int, int]]) -> list[Record]:
        out: list[Record] = []
        for event, (source, offset) in zip(events, positions):
            opinion = opinion_of(event, self.config)
            if opinion is None:
                continue
            at = event.occurred_at.timestamp()
            out.extend([subject, source, offset, at, event.event_id, opinion] for subject in subjects_of(event))
        return out


_RECORDS = JsonRecords(RECORDS_FORMAT, "an opinion record")
pack, unpack = _RECORDS.pack, _RECORDS.unpack


class SubjectState:
    """JSON: {"offset", "seen": {source: offset}, "held": [[at, event id, opinion]], "held_out":
    [generation, chunks], "windows", "detector", "dropped"}: "held" is empty while "held_out"
    counts chunks, which the reader reads (`SentimentLogic._state`)."""

    def __init__(self, data: bytes | None = None):
        stored = from_json(data) if data else {}
        self.offset: int = stored.get("offset", -1)
        self.seen: dict[str, int] = stored.get("seen", {})
        self.held: list[list] = stored.get("held", [])
        self.held_out = HeldOut(*stored.get("held_out", (0, 0)))
        self.windows = Windows(stored.get("windows"))
        self.windows.dropped = stored.get("dropped", 0)
        self.detector = Detector(stored.get("detector"))
        self.data = data

    def to_bytes(self) -> bytes:
        out = self.held_out
        return to_json({"offset": self.offset, "seen": self.seen, "held": [] if out.chunks else self.held,
                        "held_out": [out.generation, out.chunks], "windows": self.windows.to_dict(),
                        "detector": self.detector.to_list(), "dropped": self.windows.dropped})  # fmt: skip


class SentimentLogic:
    """Opinions held per subject until the partition's watermark is `lateness_s` past them
    (`vox.core.held`), then taken in (time, event id) order: windows, detector, alerts."""

    def __init__(self, config: SentimentConfig, partitions: int):
        self.config = config
        self.held = HeldKeys(partitions, config.lateness_s)
        self.partition_of = KeyPartitions(partitions)
        self.table: Mapping[bytes, bytes] = {}
        self.states: dict[str, SubjectState] = {}  # decoded this batch
        # subjects with held opinions out of their state, kept while the table holds what they
        # wrote: their next batch's opinions are written alone, not all of them again
        self.holding: dict[str, SubjectState] = {}
        self.volumes: dict[str, int] = {}  # opinions taken per subject by this process, for the gauges
        self.recent: dict[str, float] = {}  # each subject's latest window mean

    def advance(self, partition: int, watermark: float, table: Mapping[bytes, bytes]) -> None:
        self.table = table
        self.held.advance(partition, watermark, table)

    def held_key(self, key: str, generation: int, chunk: int) -> str:
        """The key of a chunk of the subject's held opinions, in the subject's partition."""
        return held_key(key, generation, chunk, self.partition_of, HELD_MARK)

    def _state(self, key: str, stored: Callable[[], bytes | None]) -> SubjectState:
        state = self.states.get(key)
        if state is None:
            data = stored()
            state = self.holding.get(key)
            if state is None or state.data != data:  # first seen here, or another worker's since
                state = SubjectState(data)
                state.held_out.read_back(state.held, lambda g, i: self.table.get(self.held_key(key, g, i).encode()),
                                         from_json)  # fmt: skip
            self.states[key] = state
        return state

    def apply(self, key: str, records: list[Record], source: int, offset: int,
              stored: Callable[[], bytes | None]) -> int | None:  # fmt: skip
        if key.startswith(PARTITION_KEY_PREFIX):
            return 0
        state = self._state(key, stored)
        if offset <= state.offset:
            return None  # the changelog had it already
        applied = 0
        for _, record_source, record_offset, when, event_id, opinion in records:
            seen = state.seen.get(str(record_source), -1)
            if record_source >= 0 and record_offset <= seen:
                continue  # a batch routing sent twice
            state.seen[str(record_source)] = max(seen, record_offset)
            state.held.append([when, event_id, opinion])
            applied += 1
        state.offset = offset
        if state.held:
            self.held.hold(key)
        return applied

    def flush(self, keys: Sequence[str]) -> StageOutput:
        output = StageOutput()
        windows: list[tuple] = []
        alerts: list[Alert] = []
        touched = [key for key in dict.fromkeys(keys) if not key.startswith(PARTITION_KEY_PREFIX)]
        for cut, key in self.held.due():
            state = self._state(key, lambda key=key: self.table.get(key.encode()))
            if self._release(key, state, cut, windows, alerts):
                touched.append(key)
            if not state.held:
                self.held.settled(key)
        for key in dict.fromkeys(touched):
            state = self.states[key]
            # held chunks before the state that counts them, the ones it no longer counts after
            chunks, dropped = state.held_out.writes(state.held, to_json, HELD_CHUNK_OPINIONS)
            output.states.update((self.held_key(key, *at), chunk) for at, chunk in chunks)
            state.data = output.states[key] = state.to_bytes()
            output.states.update((self.held_key(key, *at), None) for at in dropped)
            if state.held_out.chunks:
                self.holding[key] = state
            else:
                self.holding.pop(key, None)
        self.held.save(output)
        self.states = {}
        if windows:
            output.rows.append(("sentiment_windows", WINDOW_COLUMNS, windows))
            for kind, name, _, _, _, mean, *_ in windows:
                self.recent[f"{kind}:{name}"] = mean
            busiest = sorted(self.volumes, key=lambda k: (-self.volumes[k], k))[:GAUGED_SUBJECTS]
            output.levels = {key: self.recent[key] for key in busiest if key in self.recent}
        if alerts:
            output.rows.append(("sentiment_alerts", ALERT_COLUMNS, [alert_row(a) for a in alerts]))
            output.messages.extend(("alerts", a.subject.encode(), alert_message(a)) for a in alerts)
            for a in alerts:
                name = f"alerts {a.status} {subject_of(a.subject)[0]} {a.direction}"
                output.counts[name] = output.counts.get(name, 0) + 1
        return output

    def _release(self, key: str, state: SubjectState, cut: float, windows: list, alerts: list) -> bool:
        """Take the held opinions that occurred by `cut`, in (time, event id) order."""
        ready = [held for held in state.held if held[0] <= cut]
        if not ready:
            return False
        state.held = [held for held in state.held if held[0] > cut]
        ready.sort(key=lambda held: (held[0], held[1]))
        self.volumes[key] = self.volumes.get(key, 0) + len(ready)
        c = self.config
        width = c.window_minutes * 60
        changed: dict[int, tuple] = {}
        for when, event_id, opinion in ready:
            start = state.windows.add(when, opinion, width, c.keep_windows)
            if start is not None:
                # as it stands now: a release spanning more than the kept windows (event time
                # stalled, then moving on) drops the oldest from the state before it ends
                changed[start] = tuple(state.windows.windows[start])
            alert = state.detector.observe(key, when, event_id, opinion, c)
            if alert is not None:
                alerts.append(Alert.from_list(alert.to_list()))  # as it is now: an open one may end later
        kind, name = subject_of(key)
        for start, (n, total, negative, positive) in sorted(changed.items()):
            windows.append((kind, name, at(start), c.window_minutes, n, round(total / n, 4),
                            round(negative / n, 4), round(positive / n, 4), n))  # fmt: skip
        return True

    def drop(self, key: str) -> None:
        self.states.pop(key, None)
        self.holding.pop(key, None)


def alert_row(a: Alert) -> tuple:
    kind, name = subject_of(a.subject)
    return (a.alert_id, kind, name, a.status, a.direction, a.baseline, a.baseline_sd, a.level, a.magnitude,
            at(a.started_at), at(a.detected_at), a.detected_event, a.events_since_change, list(a.evidence),
            None if a.ended_at is None else at(a.ended_at), a.end_reason, a.ended_level, 0 if a.ended_at is None else 1)  # fmt: skip


def alert_message(a: Alert) -> bytes:
    """What `vox.alerts` carries: one JSON object when an alert is raised, one when it ends."""
    kind, name = subject_of(a.subject)

    def iso(seconds: float | None) -> str | None:
        return None if seconds is None else at(seconds).isoformat().replace("+00:00", "Z")

    return json.dumps({
        "alert_id": a.alert_id, "status": a.status, "subject_kind": kind, "subject": name, "direction": a.direction,
        "baseline": a.baseline, "level": a.level, "magnitude_sd": a.magnitude, "started_at": iso(a.started_at),
        "detected_at": iso(a.detected_at), "detected_event_id": a.detected_event,
        "events_since_change": a.events_since_change, "evidence_event_ids": a.evidence,
        "ended_at": iso(a.ended_at), "end_reason": a.end_reason or None, "ended_level": a.ended_level,
    }, ensure_ascii=False).encode()  # fmt: skip


#: Its tables, applied as migration 10 (a built-in stage's tables are part of the schema)
DDL = (
    # One row per subject and event-time window, its latest counts winning (version: opinions).
    """
    CREATE TABLE IF NOT EXISTS {db}.sentiment_windows (
        subject_kind {label},
        subject String,
        window_start {ts},
        window_minutes UInt16,
        opinions UInt32,
        mean Float32,
        share_negative Float32,
        share_positive Float32,
        version UInt64
    ) ENGINE = ReplacingMergeTree(version)
    PARTITION BY toYYYYMM(window_start)
    ORDER BY (subject_kind, subject, window_start)
    """,
    # One row per alert: raised (version 0), then ended (version 1).
    """
    CREATE TABLE IF NOT EXISTS {db}.sentiment_alerts (
        alert_id String,
        subject_kind {label},
        subject String,
        status {label},
        direction {label},
        baseline Float32,
        baseline_sd Float32,
        level Float32,
        magnitude Float32,
        started_at {ts},
        detected_at {ts},
        detected_event_id String,
        events_since_change UInt32,
        evidence Array(String),
        ended_at Nullable({ts}),
        end_reason String,
        ended_level Nullable(Float32),
        version UInt8
    ) ENGINE = ReplacingMergeTree(version)
    ORDER BY alert_id
    """,
    # Each subject's timeline, one row per window, as analysts and dashboards read it.
    """
    CREATE VIEW IF NOT EXISTS {db}.sentiment_timeline AS
    SELECT subject_kind, subject, window_start, window_minutes, opinions, mean, share_negative, share_positive
    FROM {db}.sentiment_windows FINAL
    """,
    """
    CREATE VIEW IF NOT EXISTS {db}.open_alerts AS
    SELECT alert_id, subject_kind, subject, direction, baseline, level, magnitude, started_at, detected_at,
           events_since_change, evidence
    FROM {db}.sentiment_alerts FINAL
    WHERE status = 'open'
    """,
)


def _logic(settings: "Settings") -> SentimentLogic:
    return SentimentLogic(settings.sentiment, settings.topic_partitions)


SENTIMENT: KeyedStage[Record] = KeyedStage(
    name="sentiment",
    topic="opinions",
    table="vox-subjects",
    router=lambda settings: SentimentRouter(settings.sentiment),
    logic=_logic,
    key_of=lambda record: record[0],
    pack=pack,
    unpack=unpack,
    outputs=("alerts",),
)
