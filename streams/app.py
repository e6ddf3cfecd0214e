"""The vox worker: a Faust app that drains the input topics in batches into ClickHouse.

Thin shell: Faust brings consumer groups, rebalancing and offset commits; validation lives in
`vox.triage`, rows in `vox.interactions`, durable writes in `streams.sink`. Messages are
consumed as raw bytes (no Faust codec), so pydantic-core parses each payload exactly once.

Delivery: `take_events` acknowledges a batch only when the loop asks for the next one, i.e.
after `write_batch` has returned; Faust commits acknowledged offsets only. A crash replays the
uncommitted tail, which the sink deduplicates.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Sequence

import faust
from aiokafka import ConsumerRecord

from streams.continuity import ContinuityGuard, read_hole
from streams.retry import Patient
from streams.routing import StoreBackedRouter
from streams.scoring import ScoreSink, SignalRecord
from streams.sink import IngestSink
from vox.metrics import WorkerMetrics
from vox.scoring.engine import Transition
from vox.scoring.rows import segment_message
from vox.scoring.signals import Signal, pack
from vox.settings import Settings
from vox.store import Store
from vox.topics import bootstrap, topic_names
from vox.triage import RawMessage, Rejection

log = logging.getLogger("vox.worker")

LAG_REPORT_INTERVAL_S = 2.0


def raw_message(event: faust.types.EventT) -> RawMessage:
    message = event.message
    return RawMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        value=message.value,
        key=message.key,
        timestamp_ms=int((message.timestamp or 0) * 1000),
    )


def raw_record(record: ConsumerRecord) -> RawMessage:
    """An input record read back by offset (aiokafka: timestamps already in milliseconds)."""
    return RawMessage(record.topic, record.partition, record.offset, record.value, record.key, record.timestamp or 0)


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
        web_port=settings.web_port,
        web_in_thread=False,
        producer_acks=-1,
        # Faust's 60 s default leaves a crashed worker's partitions idle for a minute; heartbeats
        # come from a background task, so a slow batch does not count as silence.
        broker_session_timeout=settings.consumer_session_timeout_s,
        broker_heartbeat_interval=settings.consumer_session_timeout_s / 5,
    )
    inputs = app.topic(*names.inputs, key_type=bytes, value_type=bytes, allow_empty=True)
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
            pending.append(await dlq.send(key=key, value=message.value or b"", headers=headers))
        for future in pending:
            await future

    signals = app.topic(names.signals, key_type=bytes, value_type=bytes)
    segments = app.topic(names.segments, key_type=bytes, value_type=bytes)
    # Customer states, keyed like `vox.signals` (the producer's partitioner on the customer id),
    # so a customer's state and signals live in the same partition number.
    # (the app's serializers are raw: the table stores our own bytes)
    customers = app.Table("vox-customers", key_type=bytes, value_type=bytes, partitions=settings.topic_partitions,
                          use_partitioner=True)  # fmt: skip
    patient = Patient(settings.write_retry_max_s, on_failure=metrics.write_errors.inc,
                      on_duration=metrics.write_seconds.observe)  # fmt: skip

    async def publish_signals(batch: Sequence[Signal]) -> None:
        """One message per customer per batch, in the batch's order: a customer's signals stay
        together and in order, and the scoring stage reads a fraction of the messages."""
        per_customer: dict[str, list[Signal]] = {}
        for signal in batch:
            per_customer.setdefault(signal.customer_id, []).append(signal)
        pending = [await signals.send(key=customer.encode(), value=pack(group))
                   for customer, group in per_customer.items()]  # fmt: skip
        for future in pending:
            await future
        metrics.signals_published.inc(len(batch))

    async def publish_transitions(moves: Sequence[Transition]) -> None:
        pending = [await segments.send(key=t.customer_id.encode(), value=segment_message(t)) for t in moves]
        for future in pending:
            await future

    sink = IngestSink(store, names.inputs, publish_dead_letters, metrics, patient=patient,
                      router=StoreBackedRouter(settings.scoring, store), publish_signals=publish_signals)  # fmt: skip
    score_sink = ScoreSink(store, settings.scoring, customers, publish_transitions, patient, metrics)
    app.vox_sink = sink  # type: ignore[attr-defined]

    def acknowledge(records: Sequence[RawMessage | SignalRecord]) -> None:
        """Records read back from a hole are written: let Faust's commit move past them too."""
        for r in records:
            app.consumer.ack(faust.types.Message(r.topic, r.partition, r.offset, 0.0, 0, None, None, None, None))

    read_back = partial(read_hole, bootstrap(settings))
    guard_ingest = ContinuityGuard(store, settings.consumer_group, patient, metrics, read_back,
                                   to_record=raw_record, on_filled=acknowledge)  # fmt: skip
    guard_score = ContinuityGuard(store, settings.consumer_group, patient, metrics, read_back,
                                  to_record=signal_record, on_filled=acknowledge)  # fmt: skip

    @app.on_partitions_revoked.connect
    async def forget_revoked(sender: faust.App, revoked: set, **kwargs) -> None:  # noqa: ANN003 - Faust signal
        for guard in (guard_ingest, guard_score):
            guard.forget([(tp.topic, tp.partition) for tp in revoked])

    @app.agent(inputs, name="vox-ingest")
    async def ingest(stream: faust.StreamT) -> None:
        async for events in stream.take_events(settings.batch_max_events, within=settings.batch_max_wait_s):
            batch = await guard_ingest.complete([raw_message(event) for event in events])
            report = await sink.write_batch(batch)
            await guard_ingest.written(batch)
            log.debug("batch: %s", report)

    @app.agent(signals, name="vox-score")
    async def score(stream: faust.StreamT) -> None:
        async for events in stream.take_events(settings.batch_max_events * 2, within=settings.batch_max_wait_s):
            batch = await guard_score.complete([signal_record(event.message) for event in events])
            await score_sink.write_batch(batch)
            await guard_score.written(batch)

    @app.timer(interval=LAG_REPORT_INTERVAL_S)
    async def report_lag() -> None:
        consumer = app.consumer
        for tp in consumer.assignment():
            if tp.topic not in names.inputs and tp.topic != names.signals:
                continue  # the table's changelog and Faust's own topics are not work
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            processed = metrics.processed.get((tp.topic, tp.partition))
            position = processed + 1 if processed is not None else await consumer.position(tp)
            if position is not None:
                metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, highwater - position))

    @app.page("/metrics")
    async def metrics_page(web, request):  # noqa: ANN001 - Faust's view signature
        return web.bytes(metrics.render(), content_type="text/plain", headers={"X-Vox": "metrics"})

    @app.page("/healthz")
    async def health(web, request):  # noqa: ANN001
        return web.json({"status": "ok"})

    return app

