"""`vox demo`: the whole pipeline on embedded defaults, end to end, in one command.

Starts the local broker (unless KAFKA_BOOTSTRAP is set), creates the topics, applies the
migrations, runs a real `vox worker` process (its dashboard's address printed), publishes the
bundled sample (three broken messages among them), then simulated traffic with planted opinion
leaders and planted sentiment shifts, and tells what the worker announces as it happens (moves
between cells, leaders appearing, alerts with their evidence). Then what landed in ClickHouse;
`--keep-running` keeps the worker and broker up until Ctrl-C.
"""

from __future__ import annotations

import faulthandler
import signal
import threading
import time
from pathlib import Path

from vox.local.broker import LocalKafka
from vox.clickhouse.migrations import migrate
from vox.kafka.produce import produce_file
from vox.settings import Settings
from vox.clickhouse.store import Store, open_store
from vox.clickhouse.tables import VoxTables
from vox.kafka.topics import create_topics
from vox.clickhouse.analyst_store import analyst_store
from vox.kafka.topics import bootstrap
from vox.local.story import Story
from vox.local.worker_process import WorkerProcess
from vox.simulator.generate import SimConfig

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample-events.jsonl"
#: the demo's traffic: five weeks of a community (30 days establish implication, so that every
#: cell fills), a planted leader and communicator per topic, two brands whose quality shifts
#: (one down, one up), a few broken messages
TRAFFIC = SimConfig(customers=1200, days=35, seed=5, shifts=2, invalid_rate=0.002)
PROGRESS_EVERY_S = 10.0
DRAIN_S = 60.0  # at most this long reading the announcements left once the worker has settled
ANNOUNCED = ("segments", "leaders", "alerts")


def summary(store: Store) -> str:
    landed = VoxTables(store).landed()
    lines = ["", "What landed in ClickHouse:", "  interactions by family:"]
    for family, count, customers in landed["families"]:
        lines.append(f"    {family:<8} {int(count):>6} events from {int(customers)} customers")
    lines.append("  average rating of the most reviewed brands:")
    for brand, reviews, rating in landed["brands"]:
        lines.append(f"    {brand:<12} {float(rating):>5.2f} over {int(reviews)} reviews")
    lines.append("  customers per typology cell (competence x implication):")
    for cell, customers, competence, implication in landed["cells"]:
        lines.append(f"    {cell:<15} {int(customers):>4}  (mean competence {float(competence):.0f}, "
                     f"implication {float(implication):.0f})")  # fmt: skip
    lines.append(f"  dead letters: {sum(int(n) for _, _, n, _ in landed['dead_letters'])}")
    for topic, reason_class, n, reason in landed["dead_letters"]:
        lines.append(f"    {topic:<12} {reason_class:<14} {int(n):>4}  e.g. {reason}")
    return "\n".join(lines)


def traffic_file(settings: Settings, traffic: SimConfig = TRAFFIC) -> Path:
    """The demo's simulated events, written once under VOX_HOME/demo (same seed, same bytes)."""
    from vox.simulator.run import write_simulation

    out = settings.home / "demo" / f"sim-{traffic.customers}-{traffic.days}-{traffic.seed}"
    events = out / "events.jsonl"
    if not (out / "truth.json").is_file():
        write_simulation(traffic, out, progress=False)
    return events


def _announcements(settings: Settings):  # noqa: ANN202 - kafka-python's consumer
    """A consumer of the worker's announcements, from their current end: only what follows."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap(settings).split(","), group_id=None, enable_auto_commit=False)
    # the partitions the demo created, with any the metadata lists: on a fresh broker the metadata
    # of a topic just created may list none yet, and its announcements would go untold
    partitions = [TopicPartition(settings.topic(family), p) for family in ANNOUNCED
                  for p in set(range(settings.topic_partitions)) | consumer.partitions_for_topic(settings.topic(family))]  # fmt: skip
    consumer.assign(partitions)
    consumer.seek_to_end(*partitions)
    for tp in partitions:
        consumer.position(tp)  # resolve the end now, before anything is published
    return consumer


def tell_story(settings: Settings, worker: WorkerProcess, events: Path, analyst: Settings) -> Story:
    """Publish `events` and print what the worker announces until it has taken all of them in."""
    consumer = _announcements(settings)
    family_of = {settings.topic(family): family for family in ANNOUNCED}
    story, published, failed = Story(), {}, []

    def publish() -> None:
        try:
            published["report"] = produce_file(events, settings, progress=False)
        except Exception as exc:  # noqa: BLE001 - told below, in one line
            failed.append(exc)

    def tell_polled(timeout_ms: int) -> None:
        for records in consumer.poll(timeout_ms=timeout_ms).values():
            for record in records:
                for line in story.tell(family_of[record.topic], record.value):
                    print(line, flush=True)

    already = worker.consumed()
    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    next_progress = time.monotonic() + PROGRESS_EVERY_S
    try:
        while True:
            tell_polled(500)
            if failed:
                raise failed[0]
            if time.monotonic() >= next_progress:
                next_progress += PROGRESS_EVERY_S
                with analyst_store(analyst) as store:
                    placed = store.scalar(f"SELECT count() FROM {store.database}.customer_scores")
                print(f"  ...      {worker.consumed() - already:,.0f} messages in, {int(placed or 0):,} placements "
                      "written", flush=True)  # fmt: skip
            if not publisher.is_alive() and "report" in published:
                worker.wait_consumed(int(already) + published["report"].published)
                worker.wait_settled()
                # the last announcements: everything up to the end as it is now, however far behind
                # the story is (a poll returns 500 records at most: thousands of moves can queue
                # ahead of the leaders and alerts)
                ends = consumer.end_offsets(list(consumer.assignment()))
                deadline = time.monotonic() + DRAIN_S
                while any(consumer.position(tp) < end for tp, end in ends.items()) and time.monotonic() < deadline:
                    tell_polled(500)
                return story
    finally:
        consumer.close()


def run_demo(settings: Settings, keep_running: bool = False, sample: Path = SAMPLE,
             traffic: SimConfig | None = TRAFFIC) -> int:  # fmt: skip
    # `kill -USR1` makes a demo that hangs say where each of its threads is (its test does it)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # the database first: an unusable one is told before a broker is started for nothing
    with open_store(settings.clickhouse) as store:  # the worker opens it again: chDB allows one process
        migrate(store)
    broker = None if settings.kafka_bootstrap else LocalKafka(settings)
    if broker is not None:
        state = broker.start()
        print(f"[1/6] Kafka broker serving at {state.bootstrap}")
    else:
        print(f"[1/6] using Kafka at {settings.kafka_bootstrap}")
    worker = None
    try:
        created = create_topics(settings)
        print(f"[2/6] topics: {', '.join(f'{t} ({o})' for t, o in created.items())}")
        worker = WorkerProcess(settings)
        worker.start()
        web = worker.metrics_url.removesuffix("/metrics")
        analyst = settings.model_copy(update={"web_port": worker.port})
        print(f"[3/6] worker running: open the dashboard at {web}/ (it fills as events land); metrics at "
              f"{worker.metrics_url}", flush=True)  # fmt: skip
        if traffic is not None:
            events = traffic_file(settings, traffic)
            print(f"[4/6] simulated traffic: {traffic.customers:,} customers over {traffic.days} days, a planted leader "
                  f"and communicator in every topic, {traffic.shifts} planted sentiment shifts; what the worker "
                  "announces as it happens (the sample follows: its events are dated after):", flush=True)  # fmt: skip
            story = tell_story(settings, worker, events, analyst)
            print(f"      {story.summary()}")
        already = worker.consumed()
        report = produce_file(sample, settings, progress=False)
        print(f"[5/6] the bundled sample (three broken messages among them): {report.summary()}")
        seen = worker.wait_consumed(int(already) + report.published)
        worker.wait_settled()
        print(f"      the worker has written all {seen - already:.0f} messages and scored their customers", flush=True)
        with analyst_store(analyst) as store:
            print(f"[6/6] {settings.clickhouse.describe()}")
            print(summary(store))
        print(f"\nDashboard: {web}/ (JSON for other tools: {web}/api). Query it yourself: vox sql \"SELECT cell, "
              "customers FROM typology_matrix\"; explain a customer: vox explain c001; vox leaders; vox alerts")  # fmt: skip
        if keep_running:
            print(f"still running (worker and broker): {web}/ ; Ctrl-C stops everything", flush=True)
            while worker.process is not None and worker.process.poll() is None:
                time.sleep(1)
            print("the worker stopped; see its log")
            return 1
    except KeyboardInterrupt:
        print("\nstopping the worker and the broker")
    finally:
        if worker is not None:
            worker.stop()
        if broker is not None:
            broker.stop()
    return 0
