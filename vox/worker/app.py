"""The vox worker: one process, two stages, one ClickHouse thread.

* ingest (`vox.worker.ingest`): the input topics, read in batches with a consumer of its own,
  validated (`vox.core.triage`), written to ClickHouse (`vox.worker.sink`), routed into signals that go
  to `vox.signals`, one message per partition per batch;
* scoring (`vox.worker.scoring`): a Faust agent on `vox.signals`, with the customer states in a
  changelogged Faust table, writing scores and announcing moves on `vox.segments`.

Thin shell: Faust brings the scoring stage's group, rebalancing, table recovery and the web
server (/metrics). Messages are raw bytes everywhere (no Faust codec), so pydantic-core parses
each payload exactly once.

Delivery: each stage advances its offsets only after its batch is durable (ingest commits after
`write_batch`; the scoring agent acknowledges a batch when it asks for the next one). A crash
replays the uncommitted tail, which both stages recognise.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from functools import partial
from typing import Sequence

import faust
from aiokafka import ConsumerRecord
from aiokafka.partitioner import murmur2
from prometheus_client import CONTENT_TYPE_LATEST

from vox.worker.continuity import SAVE_INTERVAL_S, ContinuityGuard, read_hole
from vox.worker.health import Health
from vox.worker.ingest import IngestLoop, raw_record
from vox.worker.retry import Patient
from vox.worker.routing import StoreBackedRouter
from vox.worker.scoring import ScoreSink, SignalRecord
from vox.worker.sink import IngestSink
from vox.forget import load_forgotten
from vox.metrics import WorkerMetrics
from vox.core.customers.engine import Transition
from vox.core.customers.rows import segment_message
from vox.core.customers.signals import Signal, pack
from vox.settings import Settings
from vox.clickhouse.store import Store
from vox.kafka.topics import bootstrap, ingest_group, topic_names
from vox.core.triage import RawMessage, Rejection

log = logging.getLogger("vox.worker")

LAG_REPORT_INTERVAL_S = 2.0
SIGNALS_PER_MESSAGE = 2000  # about 200 KB of JSON: far below Kafka's 1 MB message limit
# Largest original payload re-published on the DLQ: below the producer's 1 MB request limit with
# headers and batch overhead. A larger one goes out cut, with `vox-truncated` giving its size;
# `dead_letters` keeps it whole.
DLQ_MAX_VALUE_BYTES = 900_000
END_OFFSETS_TIMEOUT_S = 5.0
FORGOTTEN_REFRESH_S = 10.0


class SignalPartitions:
    """The `vox.signals` partition of a customer: the one the producer's default partitioner
    (murmur2 of the key, as in the Java client) picks for the customer id, which is where the
    Faust table (`use_partitioner`) keeps the customer's state. Memoised, bounded."""

    CAPACITY = 1_000_000

    def __init__(self, partitions: int):
        self.partitions = partitions
        self.known: dict[str, int] = {}

    def __call__(self, customer_id: str) -> int:
        found = self.known.get(customer_id)
        if found is None:
            if len(self.known) >= self.CAPACITY:
                self.known.clear()
            found = self.known[customer_id] = (murmur2(customer_id.encode()) & 0x7FFFFFFF) % self.partitions
        return found


def signal_record(message: faust.types.Message | ConsumerRecord) -> SignalRecord:
    return SignalRecord(message.topic, message.key, message.value, message.partition, message.offset)


def build_app(settings: Settings, store: Store, metrics: WorkerMetrics) -> faust.App:
    names = topic_names(settings)
    brokers = ";".join(f"kafka://{server.strip()}" for server in bootstrap(settings).split(","))
    app = faust.App(
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
    dlq = app.topic(names.dlq, key_type=bytes, value_type=bytes)

    async def publish_dead_letters(rejections: Sequence[Rejection]) -> None:
        """Original bytes to the DLQ, with where they came from and why in headers; awaited
        until the broker has them, before the batch's offsets may be committed."""
        pending = []
        for rejection in rejections:
            message = rejection.message
            headers = {
                "vox-source-topic": message.topic.encode(),
                "vox-source-partition": str(message.partition).encode(),
                "vox-source-offset": str(message.offset).encode(),
                "vox-reason-class": rejection.reason_class.encode(),
                "vox-reason": rejection.reason.encode("utf-8", errors="replace")[:4000],
            }
            key = f"{message.topic}:{message.partition}:{message.offset}".encode()
            value = message.value or b""
            if len(value) > DLQ_MAX_VALUE_BYTES:
                headers["vox-truncated"] = str(len(value)).encode()
                value = value[:DLQ_MAX_VALUE_BYTES]
            pending.append(await dlq.send(key=key, value=value, headers=headers))
        for future in pending:
            await future

    signals = app.topic(names.signals, key_type=bytes, value_type=bytes)
    segments = app.topic(names.segments, key_type=bytes, value_type=bytes)
    # Customer states, keyed like `vox.signals` (the producer's partitioner on the customer id),
    # so a customer's state and signals live in the same partition number.
    # (the app's serializers are raw: the table stores our own bytes)
    customers = app.Table("vox-customers", key_type=bytes, value_type=bytes, partitions=settings.topic_partitions,
                          use_partitioner=True)  # fmt: skip
    health = Health(settings.stall_timeout_s, settings.stall_exit_s, started_at=time.monotonic())

    def write_failed(exc: BaseException) -> None:
        metrics.write_errors.inc()
        health.failed(time.monotonic(), " ".join(str(exc).split())[:200] or type(exc).__name__)

    patient = Patient(settings.write_retry_max_s, on_failure=write_failed, on_duration=metrics.write_seconds.observe,
                      on_recovery=health.recovered)  # fmt: skip

    partition_of = SignalPartitions(settings.topic_partitions)

    async def publish_signals(batch: Sequence[Signal]) -> None:
        """A batch's signals, one message per partition (in chunks), in the batch's order: each
        signal goes to the partition its customer's key hashes to, where the customer's state
        lives, and the scoring stage handles a few messages per batch instead of one per event."""
        per_partition: dict[int, list[Signal]] = {}
        for signal in batch:
            per_partition.setdefault(partition_of(signal.customer_id), []).append(signal)
        pending = [await signals.send(value=pack(group[i : i + SIGNALS_PER_MESSAGE]), partition=partition)
                   for partition, group in per_partition.items()
                   for i in range(0, len(group), SIGNALS_PER_MESSAGE)]  # fmt: skip
        for future in pending:
            await future
        metrics.signals_published.inc(len(batch))

    async def publish_transitions(moves: Sequence[Transition]) -> None:
        pending = [await segments.send(key=t.customer_id.encode(), value=segment_message(t)) for t in moves]
        for future in pending:
            await future

    sink = IngestSink(store, names.inputs, publish_dead_letters, metrics, patient=patient,
                      router=StoreBackedRouter(settings.scoring, store), publish_signals=publish_signals,
                      max_clock_skew_s=settings.max_clock_skew_s)  # fmt: skip
    score_sink = ScoreSink(store, settings.scoring, customers, publish_transitions, patient, metrics)
    sink.forgotten = load_forgotten(store)

    @app.timer(interval=FORGOTTEN_REFRESH_S)
    async def refresh_forgotten() -> None:
        """Customers forgotten (`vox forget`) while the worker runs: ingest drops their events
        from now on, and the scoring stage drops their state (a tombstone in its changelog)."""
        forgotten = await patient.call(load_forgotten, store)
        new = forgotten.keys - sink.forgotten.keys
        sink.forgotten = forgotten
        if new:
            score_sink.forget(new)
    app.vox_sink = sink  # type: ignore[attr-defined]

    def acknowledge(records: Sequence[RawMessage | SignalRecord]) -> None:
        """Records read back from a hole are written: let Faust's commit move past them too."""
        for r in records:
            app.consumer.ack(faust.types.Message(r.topic, r.partition, r.offset, 0.0, 0, None, None, None, None))

    read_back = partial(read_hole, bootstrap(settings))
    # the ingest stage commits the highest offset of each written batch: filled holes need no ack
    guard_ingest = ContinuityGuard(store, settings.consumer_group, patient, metrics, read_back, to_record=raw_record)
    guard_score = ContinuityGuard(store, settings.consumer_group, patient, metrics, read_back,
                                  to_record=signal_record, on_filled=acknowledge)  # fmt: skip

    @app.on_partitions_revoked.connect
    async def forget_revoked(sender: faust.App, revoked: set, **kwargs) -> None:  # noqa: ANN003 - Faust signal
        guard_score.forget([(tp.topic, tp.partition) for tp in revoked])

    async def write_input_batch(records: Sequence[RawMessage]) -> None:
        batch = await guard_ingest.complete(records)
        report = await sink.write_batch(batch)
        await guard_ingest.written(batch)
        health.progressed("ingest", time.monotonic())
        log.debug("batch: %s", report)

    ingest_loop = IngestLoop(bootstrap(settings), ingest_group(settings.consumer_group), list(names.inputs),
                             write_input_batch, max_events=settings.batch_max_events,
                             max_wait_s=settings.batch_max_wait_s,
                             session_timeout_s=settings.consumer_session_timeout_s, on_revoked=guard_ingest.forget)  # fmt: skip
    app.vox_failure = None  # type: ignore[attr-defined]

    def stop_worker(reason: str) -> None:
        """A worker that no longer works must not look alive: stop it, say why, exit non-zero
        (`run_worker`), so that its supervisor restarts it."""
        if app.vox_failure is not None:  # type: ignore[attr-defined]
            return  # stopping already: the first reason is the one reported
        log.critical("stopping the worker: %s", reason)
        app.vox_failure = reason  # type: ignore[attr-defined]
        os.kill(os.getpid(), signal.SIGTERM)

    @app.task
    async def ingest() -> None:
        try:
            await ingest_loop.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported, then the worker stops
            log.debug("ingest failure", exc_info=True)
            stop_worker(f"its ingest stage failed: {exc}")

    @app.agent(signals, name="vox-score")
    async def score(stream: faust.StreamT) -> None:
        try:
            async for events in stream.take_events(settings.batch_max_events * 2, within=settings.batch_max_wait_s):
                batch = await guard_score.complete([signal_record(event.message) for event in events])
                await score_sink.write_batch(batch)
                await guard_score.written(batch)
                health.progressed("scoring", time.monotonic())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Faust would log it and leave the stage dead
            log.debug("scoring failure", exc_info=True)
            stop_worker(f"its scoring stage failed: {exc}")

    @app.timer(interval=SAVE_INTERVAL_S)
    async def save_watermarks() -> None:
        for guard in (guard_ingest, guard_score):
            await guard.flush()

    @app.on_before_shutdown.connect
    async def save_watermarks_at_exit(sender: faust.App, **kwargs) -> None:  # noqa: ANN003 - Faust signal
        await save_watermarks()

    async def end_offsets(consumer, partitions: list) -> dict:  # noqa: ANN001 - aiokafka or Faust consumer
        """The partitions' end offsets, asked of the broker: unlike the fetcher's high-water
        marks they keep growing while a stage is paused on an outage. Unanswered: {}."""
        if not partitions:
            return {}
        if consumer is app.consumer:  # Faust's: its fetcher runs on, so its marks stay fresh
            return {tp: consumer.highwater(tp) for tp in partitions if consumer.highwater(tp) is not None}
        try:
            return await asyncio.wait_for(consumer.end_offsets(partitions), END_OFFSETS_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - the broker away: keep the last figures
            log.info("end offsets not available: %s", exc)
            return {}

    @app.timer(interval=LAG_REPORT_INTERVAL_S)
    async def report_lag() -> None:
        for stage, consumer in (("ingest", ingest_loop.consumer), ("scoring", app.consumer)):
            mine = [tp for tp in (consumer.assignment() if consumer is not None else ())
                    if tp.topic in names.inputs or tp.topic == names.signals]  # not the changelog: no work  # fmt: skip
            total = None
            for tp, end in (await end_offsets(consumer, mine)).items():
                processed = metrics.processed.get((tp.topic, tp.partition))
                position = processed + 1 if processed is not None else await consumer.position(tp)
                if position is not None:
                    lag = max(0, end - position)
                    metrics.lag.labels(tp.topic, str(tp.partition)).set(lag)
                    total = (total or 0) + lag
            if total is not None:
                health.behind(stage, total)
        if reason := health.should_exit(time.monotonic()):
            stop_worker(f"stalled: {reason}")

    @app.page("/metrics")
    async def metrics_page(web, request):  # noqa: ANN001 - Faust's view signature
        # the exposition format's content type with its version, as Prometheus negotiates it
        return web.bytes(metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/healthz")
    async def healthz(web, request):  # noqa: ANN001
        verdict = health.verdict(time.monotonic())
        return web.json(verdict, status=200 if verdict["status"] == "ok" else 503)

    return app

