"""The vox worker: one process, an ingest stage and the keyed stages, one ClickHouse thread.

* ingest (`vox.worker.ingest`, `vox.worker.sink`): the input topics, read in batches with a
  consumer of its own, validated (`vox.core.triage`), written to `interactions`, and routed into
  the keyed records of every keyed stage, one message per partition per batch;
* each keyed stage (`vox.core.stage`, run by `vox.worker.stage`): a Faust agent on its topic,
  its states in a changelogged Faust table, writing its rows and publishing its messages. The
  customer scoring is one (`vox.core.customers.stage`); `VOX_STAGES` adds others.

Every batch, of every stage, is made durable in the order of `vox.worker.commit`, and its
offsets advance after that. Thin shell: Faust brings the stages' group, rebalancing, table
recovery and the web server (/metrics, /healthz). Messages are raw bytes everywhere (no Faust
codec), so pydantic-core parses each payload exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Sequence

import faust
from aiokafka import ConsumerRecord
from aiokafka.errors import IllegalStateError
from prometheus_client import CONTENT_TYPE_LATEST

from vox.clickhouse.analyst import QueryLimits, analyst_output
from vox.clickhouse.analyst_store import DATABASE_HEADER, MAX_QUERY_BYTES
from vox.clickhouse.formats import FORMATS
from vox.clickhouse.store import Store
from vox.clickhouse.tables import VoxTables
from vox.core import progress
from vox.core.keys import KeyPartitions, source_id
from vox.core.stage import KeyedStage
from vox.core.triage import RawMessage, Rejection
from vox.dashboard.web import add_dashboard
from vox.errors import VoxError
from vox.forget import load_forgotten
from vox.kafka.holes import read_hole
from vox.kafka.topics import bootstrap, ingest_group, topic_names
from vox.metrics import WorkerMetrics
from vox.settings import Settings
from vox.stages import declared_stages
from vox.worker.continuity import SAVE_INTERVAL_S, ContinuityGuard
from vox.worker.health import Health
from vox.worker.ingest import IngestLoop, raw_record
from vox.worker.retry import Patient
from vox.worker.sink import IngestSink, Route
from vox.worker.stage import KeyedMessage, StageRunner

log = logging.getLogger("vox.worker")

LAG_REPORT_INTERVAL_S = 2.0
RECORDS_PER_MESSAGE = 2000  # about 200 KB of JSON: far below Kafka's 1 MB message limit
# Largest original payload re-published on the DLQ: below the producer's 1 MB request limit with
# headers and batch overhead. A larger one goes out cut, with `vox-truncated` giving its size;
# `dead_letters` keeps it whole.
DLQ_MAX_VALUE_BYTES = 900_000
END_OFFSETS_TIMEOUT_S = 5.0
FORGOTTEN_REFRESH_S = 10.0


def keyed_message(message: faust.types.Message | ConsumerRecord) -> KeyedMessage:
    return KeyedMessage(message.topic, message.key, message.value, message.partition, message.offset,
                        progress.header_of(message.headers))  # fmt: skip


def faust_app(settings: Settings) -> faust.App:
    brokers = ";".join(f"kafka://{server.strip()}" for server in bootstrap(settings).split(","))
    return faust.App(
        settings.consumer_group,
        broker=brokers,
        datadir=str(settings.home.resolve() / "faust"),
        key_serializer="raw",
        value_serializer="raw",
        # a new consumer group starts at the beginning: nothing published before the first
        # worker started is skipped
        consumer_auto_offset_reset="earliest",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        web_host=settings.web_host,
        web_bind=settings.web_host,  # Faust binds every address unless told; VOX_WEB_HOST says where
        web_port=settings.web_port,
        # Faust's own pages would show table contents (customer states) and internals: only
        # vox's pages are served (/metrics, /healthz)
        web_router_enabled=False,
        web_tables_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_in_thread=False,
        producer_acks=-1,
        # Faust's 60 s default leaves a crashed worker's partitions idle for a minute; heartbeats
        # come from a background task, so a slow batch does not count as silence.
        broker_session_timeout=settings.consumer_session_timeout_s,
        broker_heartbeat_interval=settings.consumer_session_timeout_s / 5,
    )


async def send_all(sends: Sequence) -> None:
    """Send every message, then wait until the broker has them all: one round trip for many."""
    pending = [await topic.send(**message) for topic, message in sends]
    for future in pending:
        await future


def dead_letter_message(rejection: Rejection) -> dict:
    """Original bytes for the DLQ, with where they came from and why in headers."""
    message = rejection.message
    headers = {
        "vox-source-topic": message.topic.encode(),
        "vox-source-partition": str(message.partition).encode(),
        "vox-source-offset": str(message.offset).encode(),
        "vox-reason-class": rejection.reason_class.encode(),
        "vox-reason": rejection.reason.encode("utf-8", errors="replace")[:4000],
    }
    value = message.value or b""
    if len(value) > DLQ_MAX_VALUE_BYTES:
        headers["vox-truncated"] = str(len(value)).encode()
        value = value[:DLQ_MAX_VALUE_BYTES]
    return {"key": f"{message.topic}:{message.partition}:{message.offset}".encode(), "value": value, "headers": headers}


SHUTDOWN_GRACE_S = 15.0  # how long a stopping worker waits for its batches in flight


def _exit_now(reason: str) -> None:
    print(f"vox: the worker stopped: {reason} (its shutdown waited {SHUTDOWN_GRACE_S:.0f} s for a batch in "
          "flight; exited without it: the next run reads it again)", file=sys.stderr, flush=True)  # fmt: skip
    os._exit(1)


@dataclass
class Worker:
    """What `build_app` wires together, for the pieces that register on the Faust app."""

    settings: Settings
    app: faust.App
    tables: VoxTables
    metrics: WorkerMetrics
    health: Health
    patient: Patient
    sink: IngestSink | None = None
    runners: list[tuple[StageRunner, faust.TopicT]] = field(default_factory=list)
    publishers: dict = field(default_factory=dict)  # stage topic suffix -> how keyed records reach it
    failure: str | None = None

    def topic(self, suffix: str) -> faust.TopicT:
        return self.app.topic(self.settings.topic(suffix), key_type=bytes, value_type=bytes)

    def stop(self, reason: str) -> None:
        """A worker that no longer works must not look alive: stop it, say why, exit non-zero
        (`run_worker`), so that its supervisor restarts it."""
        if self.failure is not None:
            return  # stopping already: the first reason is the one reported
        log.critical("stopping the worker: %s", reason)
        self.failure = reason
        os.kill(os.getpid(), signal.SIGTERM)
        # Faust's shutdown waits for the batches in flight, and a stalled one may never end (a
        # write retried through an outage): past the grace, exit as a kill would. Nothing is
        # lost: offsets move only after writes, and the next run reads the batch again.
        timer = threading.Timer(SHUTDOWN_GRACE_S, _exit_now, (reason,))
        timer.daemon = True  # a shutdown that ends in time exits at once
        timer.start()

    def guard(self, on_filled=None) -> ContinuityGuard:  # noqa: ANN001
        extra = {"to_record": keyed_message, "on_filled": on_filled} if on_filled else {"to_record": raw_record}
        return ContinuityGuard(self.tables, self.settings.consumer_group, self.patient, self.metrics,
                               partial(read_hole, bootstrap(self.settings)), **extra)  # fmt: skip


def build_app(settings: Settings, store: Store, metrics: WorkerMetrics, analyst: Store | None = None) -> faust.App:
    app = faust_app(settings)
    health = Health(settings.stall_timeout_s, settings.stall_exit_s, started_at=time.monotonic())

    def write_failed(exc: BaseException) -> None:
        metrics.write_errors.inc()
        health.failed(time.monotonic(), " ".join(str(exc).split())[:200] or type(exc).__name__)

    patient = Patient(settings.write_retry_max_s, on_failure=write_failed, on_duration=metrics.write_seconds.observe,
                      on_recovery=health.recovered)  # fmt: skip
    worker = Worker(settings, app, VoxTables(store), metrics, health, patient)
    routes = [add_keyed_stage(worker, stage) for stage in declared_stages(settings)]
    add_ingest(worker, [route for route in routes if route is not None])
    add_forgotten_refresh(worker)
    add_timers(worker)
    add_pages(worker, analyst)
    app.vox_worker = worker  # type: ignore[attr-defined] - `run_worker` closes the sink and reads the failure
    return app


def add_keyed_stage(worker: Worker, stage: KeyedStage) -> Route | None:
    """The stage's topic, table, agent and runner; returns how ingest routes to it (None: it
    takes records from other stages only)."""
    settings, app = worker.settings, worker.app
    topic = worker.topic(stage.topic)
    outputs = {suffix: worker.topic(suffix) for suffix in stage.outputs}
    # states keyed like the stage's topic (the producer's partitioner on the key), so a key's
    # state and records live in the same partition number; raw bytes: our own format
    table = app.Table(stage.table, key_type=bytes, value_type=bytes, partitions=settings.topic_partitions,
                      use_partitioner=True)  # fmt: skip

    partition_of = KeyPartitions(settings.topic_partitions)
    # the changelog partition of a state, computed here as the producer's partitioner would:
    # Faust asks the producer's metadata, which on a fresh broker may not list a changelog yet
    # (the first state kept failed: 'NoneType' object is not iterable; fetching the metadata
    # at the agent's start instead left customers unplaced in the two-worker test)
    table.partition_for_key = lambda key: partition_of(key.decode())  # type: ignore[method-assign]

    async def publish_outputs(messages: list[tuple[str, bytes, bytes]]) -> None:
        # by key, as the keyed records of ingest: to another stage's topic, where the key's state is
        await send_all([(outputs[suffix], {"key": key, "value": value, "partition": partition_of(key.decode())})
                        for suffix, key, value in messages])  # fmt: skip

    async def publish_records(topic: str, records: list, marks: dict) -> None:
        await worker.publishers[topic](records, marks)  # another stage's, as ingest publishes to it

    # the stages that send this one records: it waits for their marks (every partition of theirs)
    upstream = [source_id(settings.topic(other.topic), p) for other in declared_stages(settings)
                if stage.topic in other.feeds for p in range(settings.topic_partitions)]  # fmt: skip
    running = {other.topic for other in declared_stages(settings)}
    runner = StageRunner(stage, stage.logic(settings), table, worker.tables.insert_rows, publish_outputs,
                         publish_records, worker.patient, worker.metrics, partition_of, upstream,
                         [topic for topic in stage.feeds if topic in running])  # fmt: skip
    worker.runners.append((runner, topic))

    def acknowledge(records: Sequence[KeyedMessage]) -> None:
        """Records read back from a hole are written: let Faust's commit move past them too."""
        for r in records:
            app.consumer.ack(faust.types.Message(r.topic, r.partition, r.offset, 0.0, 0, None, None, None, None))

    guard = worker.guard(on_filled=acknowledge)
    app.on_partitions_revoked.connect(partial(_forget_revoked, guard))
    app.timer(interval=SAVE_INTERVAL_S, name=f"vox-save-{stage.name}")(guard.flush)
    app.on_before_shutdown.connect(partial(_flush_at_exit, guard))

    async def run(stream: faust.StreamT) -> None:
        try:
            async for events in stream.take_events(settings.batch_max_events * 2, within=settings.batch_max_wait_s):
                batch = await guard.complete([keyed_message(event.message) for event in events])
                await runner.write_batch(batch, mark=partial(guard.written, batch))
                worker.health.progressed(stage.name, time.monotonic())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Faust would log it and leave the stage dead
            log.error("%s stage failed", stage.name, exc_info=True)  # the traceback, for a bug report
            worker.stop(f"its {stage.name} stage failed: {exc}")

    app.agent(topic, name=f"vox-{stage.name}")(run)
    publish = partial(publish_keyed, worker, stage, topic, KeyPartitions(settings.topic_partitions))
    worker.publishers[stage.topic] = publish
    return Route(stage.router(settings), publish) if stage.from_ingest else None


async def publish_keyed(worker: Worker, stage: KeyedStage, topic: faust.TopicT, partition_of: KeyPartitions,
                        records: Sequence, marks: dict) -> None:  # fmt: skip
    """A batch's records, one message per partition (in chunks), in the batch's order: each
    record goes to the partition its key hashes to, where the key's state lives. With marks
    (`vox.core.progress`), every partition gets a message, its last one carrying them in a
    header: a partition with no record still learns how far event time has come."""
    per_partition: dict[int, list] = {p: [] for p in range(partition_of.partitions)} if marks else {}
    for record in records:
        per_partition.setdefault(partition_of(stage.key_of(record)), []).append(record)
    header = [(progress.HEADER, progress.encode(marks))] if marks else None
    sends = []
    for partition, group in per_partition.items():
        chunks = [group[i : i + RECORDS_PER_MESSAGE] for i in range(0, len(group), RECORDS_PER_MESSAGE)] or [[]]
        for i, chunk in enumerate(chunks):
            message = {"value": stage.pack(chunk), "partition": partition}
            if header and i == len(chunks) - 1:
                message["headers"] = header
            sends.append((topic, message))
    await send_all(sends)
    worker.metrics.signals_published.labels(stage.name).inc(len(records))


async def _forget_revoked(guard: ContinuityGuard, sender: faust.App, revoked: set, **kwargs) -> None:  # noqa: ANN003
    guard.forget([(tp.topic, tp.partition) for tp in revoked])


async def _flush_at_exit(guard: ContinuityGuard, sender: faust.App, **kwargs) -> None:  # noqa: ANN003 - Faust signal
    await guard.flush()


def add_ingest(worker: Worker, routes: list[Route]) -> None:
    settings, names = worker.settings, topic_names(worker.settings)
    dlq = worker.topic("dlq")

    async def publish_dead_letters(rejections: Sequence[Rejection]) -> None:
        await send_all([(dlq, dead_letter_message(r)) for r in rejections])

    worker.sink = sink = IngestSink(worker.tables, names.inputs, publish_dead_letters, worker.metrics,
                                    patient=worker.patient, routes=routes, memory=worker.tables,
                                    max_clock_skew_s=settings.max_clock_skew_s, sentiment=settings.sentiment.texts,
                                    positions=lambda records: loop.positions(records))  # fmt: skip
    sink.forgotten = load_forgotten(worker.tables)
    # the ingest stage commits the highest offset of each written batch: filled holes need no ack
    guard = worker.guard()
    worker.app.timer(interval=SAVE_INTERVAL_S, name="vox-save-ingest")(guard.flush)
    worker.app.on_before_shutdown.connect(partial(_flush_at_exit, guard))

    async def write_input_batch(records: Sequence[RawMessage]) -> None:
        batch = await guard.complete(records)
        await sink.write_batch(batch, mark=partial(guard.written, batch))
        worker.health.progressed("ingest", time.monotonic())

    loop = IngestLoop(bootstrap(settings), ingest_group(settings.consumer_group), list(names.inputs),
                      write_input_batch, max_events=settings.batch_max_events, max_wait_s=settings.batch_max_wait_s,
                      session_timeout_s=settings.consumer_session_timeout_s, on_revoked=guard.forget)  # fmt: skip
    worker.app.vox_ingest_loop = loop  # type: ignore[attr-defined] - read by the lag report

    async def ingest() -> None:
        try:
            await loop.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported, then the worker stops
            log.debug("ingest failure", exc_info=True)
            worker.stop(f"its ingest stage failed: {exc}")

    worker.app.task(ingest)


def add_forgotten_refresh(worker: Worker) -> None:
    applied: set[str] = set()
    async def refresh_forgotten() -> None:
        """Customers forgotten (`vox forget`) while the worker runs: ingest drops their events
        from now on, and the keyed stages drop their state (a tombstone in the changelog)."""
        assert worker.sink is not None
        forgotten = await worker.patient.call(load_forgotten, worker.tables)
        worker.sink.forgotten = forgotten
        # all of them on the first tick: states recovered from a changelog written before
        # they were forgotten (by votes they cast, waiting in the content stage) are redacted too
        new = forgotten.keys - applied
        applied.update(new)
        if new:
            for runner, _ in worker.runners:
                runner.forget(new)

    worker.app.timer(interval=FORGOTTEN_REFRESH_S)(refresh_forgotten)


async def end_offsets(app: faust.App, consumer, partitions: list) -> dict:  # noqa: ANN001 - aiokafka or Faust's
    """The partitions' end offsets, asked of the broker: unlike the fetcher's high-water marks
    they keep growing while a stage is paused on an outage. Unanswered: {}."""
    if not partitions:
        return {}
    if consumer is app.consumer:  # Faust's: its fetcher runs on, so its marks stay fresh
        return {tp: consumer.highwater(tp) for tp in partitions if consumer.highwater(tp) is not None}
    try:
        return await asyncio.wait_for(consumer.end_offsets(partitions), END_OFFSETS_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - the broker away: keep the last figures
        log.info("end offsets not available: %s", exc)
        return {}


async def position_of(consumer, tp) -> int | None:  # noqa: ANN001 - aiokafka or Faust's consumer
    """The consumer's position, or None for a partition a rebalance took away meanwhile (the
    lag report must never be what stops a worker)."""
    try:
        return await consumer.position(tp)
    except IllegalStateError:
        return None


def add_timers(worker: Worker) -> None:
    app, metrics, health = worker.app, worker.metrics, worker.health
    names = topic_names(worker.settings)
    stage_topics = {topic.get_topic_name(): runner.stage.name for runner, topic in worker.runners}

    reported: set[tuple[str, str]] = set()  # lag labels set, to drop those of partitions taken away

    async def report_lag() -> None:
        ingest_consumer = app.vox_ingest_loop.consumer  # type: ignore[attr-defined]
        assigned: set[tuple[str, str]] = set()
        for stage, consumer, topics in (("ingest", ingest_consumer, set(names.inputs)),
                                        ("keyed", app.consumer, set(stage_topics))):  # fmt: skip
            # the changelogs are Faust's to read: no work of ours
            mine = [tp for tp in (consumer.assignment() if consumer is not None else ()) if tp.topic in topics]
            assigned.update((tp.topic, str(tp.partition)) for tp in mine)
            behind: dict[str, int] = {}
            for tp, end in (await end_offsets(app, consumer, mine)).items():
                processed = metrics.processed.get((tp.topic, tp.partition))
                position = processed + 1 if processed is not None else await position_of(consumer, tp)
                if position is not None:
                    lag = max(0, end - position)
                    metrics.lag.labels(tp.topic, str(tp.partition)).set(lag)
                    reported.add((tp.topic, str(tp.partition)))
                    name = stage if stage == "ingest" else stage_topics[tp.topic]
                    behind[name] = behind.get(name, 0) + lag
            for name, lag in behind.items():
                health.behind(name, lag)
        for gone in reported - assigned:  # taken away in a rebalance: another worker's figure now
            metrics.lag.remove(*gone)
            reported.discard(gone)
        if reason := health.should_exit(time.monotonic()):
            worker.stop(f"stalled: {reason}")

    app.timer(interval=LAG_REPORT_INTERVAL_S)(report_lag)


CONTENT_TYPES = {"pretty": "text/plain", "tsv": "text/tab-separated-values", "csv": "text/csv",
                 "jsonl": "application/x-ndjson", "json": "application/json"}  # fmt: skip


def add_pages(worker: Worker, analyst: Store | None = None) -> None:
    """/metrics, /healthz and, with an analyst connection, /sql (see below) and the dashboard
    (`vox.dashboard.web`), both on one analyst thread, so writes never wait for them."""
    async def metrics_page(web, request):  # noqa: ANN001 - Faust's view signature
        # the exposition format's content type with its version, as Prometheus negotiates it
        return web.bytes(worker.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(web, request):  # noqa: ANN001
        verdict = worker.health.verdict(time.monotonic())
        return web.json(verdict, status=200 if verdict["status"] == "ok" else 503)

    worker.app.page("/metrics")(metrics_page)
    worker.app.page("/healthz")(healthz)
    if analyst is not None:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vox-analyst")
        add_sql_page(worker, analyst, executor)
        add_dashboard(worker, analyst, executor)
        worker.app.on_before_shutdown.connect(partial(_close_analyst, executor, analyst))


def add_sql_page(worker: Worker, analyst: Store, executor: ThreadPoolExecutor) -> None:
    """/sql: analysts' queries while the worker runs (on chDB no other process may open the data).
    `GET /sql?query=...&format=tsv` or `POST /sql?format=tsv` with the query as the body; the
    answer is ClickHouse's own output format, or 400 with the reason on one line. The connection
    is the analyst path's (`vox.clickhouse.analyst`): read-only at the engine level and bounded by
    VOX_QUERY_MAX_SECONDS and VOX_QUERY_MAX_ROWS."""
    limits = QueryLimits(worker.settings.query_max_seconds, worker.settings.query_max_rows)
    served = {DATABASE_HEADER: worker.settings.clickhouse.describe()}

    async def answer(view: faust.web.View, sql: str, fmt: str) -> faust.web.Response:
        if fmt not in FORMATS:
            return view.text(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}\n", status=400, headers=served)
        try:
            body = await asyncio.get_running_loop().run_in_executor(
                executor, analyst_output, analyst, sql, limits, FORMATS[fmt])
        except VoxError as exc:
            return view.text(f"{exc}\n", status=400, headers=served)
        # (aiohttp refuses a charset in content_type=; in the header it is taken as written)
        return view.bytes(body, headers={"Content-Type": f"{CONTENT_TYPES[fmt]}; charset=utf-8", **served})

    class Sql(faust.web.View):
        async def get(self, request: faust.web.Request) -> faust.web.Response:
            return await answer(self, request.query.get("query", ""), request.query.get("format", "tsv"))

        async def post(self, request: faust.web.Request) -> faust.web.Response:
            body = await request.read()
            if len(body) > MAX_QUERY_BYTES:
                return self.text(f"the query is over {MAX_QUERY_BYTES:,} bytes\n", status=413, headers=served)
            return await answer(self, body.decode("utf-8", errors="replace"), request.query.get("format", "tsv"))

    worker.app.page("/sql")(Sql)


async def _close_analyst(executor: ThreadPoolExecutor, analyst: Store, sender: faust.App, **kwargs) -> None:  # noqa: ANN003
    executor.shutdown(wait=False, cancel_futures=True)
