"""`vox demo`: the whole pipeline on embedded defaults, end to end, in one command.

Starts the local broker (unless KAFKA_BOOTSTRAP is set), creates the topics, applies the
migrations, runs a real `vox worker` process, publishes the bundled sample, waits until the
worker has written every message, stops it, and prints what landed in ClickHouse.
"""

from __future__ import annotations

from pathlib import Path

from vox.local.broker import LocalKafka
from vox.clickhouse.migrations import migrate
from vox.kafka.produce import produce_file
from vox.settings import Settings
from vox.clickhouse.store import Store, open_store
from vox.clickhouse.tables import VoxTables
from vox.kafka.topics import create_topics
from vox.local.worker_process import WorkerProcess

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample-events.jsonl"


def summary(store: Store) -> str:
    landed = VoxTables(store).landed()
    lines = ["", "What landed in ClickHouse:", "  interactions by family:"]
    for family, count, customers in landed["families"]:
        lines.append(f"    {family:<8} {int(count):>6} events from {int(customers)} customers")
    lines.append("  average rating by brand:")
    for brand, reviews, rating in landed["brands"]:
        lines.append(f"    {brand:<8} {float(rating):>5.2f} over {int(reviews)} reviews")
    lines.append("  customers per typology cell (competence x implication):")
    for cell, customers, competence, implication in landed["cells"]:
        lines.append(f"    {cell:<15} {int(customers):>4}  (mean competence {float(competence):.0f}, "
                     f"implication {float(implication):.0f})")  # fmt: skip
    lines.append(f"  dead letters: {len(landed['dead_letters'])}")
    for topic, reason_class, reason in landed["dead_letters"]:
        lines.append(f"    {topic:<12} {reason_class:<14} {reason}")
    return "\n".join(lines)


def run_demo(settings: Settings, keep_running: bool = False, sample: Path = SAMPLE) -> int:
    broker = None if settings.kafka_bootstrap else LocalKafka(settings)
    if broker is not None:
        state = broker.start()
        print(f"[1/5] Kafka broker serving at {state.bootstrap}")
    else:
        print(f"[1/5] using Kafka at {settings.kafka_bootstrap}")
    try:
        created = create_topics(settings)
        print(f"[2/5] topics: {', '.join(f'{t} ({o})' for t, o in created.items())}")
        with open_store(settings.clickhouse) as store:  # the worker opens it again: chDB allows one process
            migrate(store)
        worker = WorkerProcess(settings)
        worker.start()
        print(f"[3/5] worker running, metrics at {worker.metrics_url}")
        try:
            already = worker.consumed()
            report = produce_file(sample, settings, progress=False)
            print(f"[4/5] {report.summary()}")
            seen = worker.wait_consumed(int(already) + report.published)
            worker.wait_settled()
            print(f"      the worker has written all {seen:.0f} messages and scored their customers")
        finally:
            worker.stop()
        with open_store(settings.clickhouse) as store:
            print(f"[5/5] {settings.clickhouse.describe()}")
            print(summary(store))
        print("\nQuery it yourself: vox sql \"SELECT brand, avg(rating) FROM interactions "
              "WHERE event_type = 'review' GROUP BY brand\"; explain a customer: vox explain c001; "
              "to query while it ingests: vox kafka start, vox worker &, then the same commands")  # fmt: skip
    finally:
        if broker is not None and not keep_running:
            broker.stop()
    return 0
