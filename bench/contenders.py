"""The two baselines the benchmark runs beside `vox worker`, each in a process of its own.

* ceiling: a plain aiokafka consumer that validates every message with the same schemas and
  does nothing else: what Python transport plus validation costs. (aiokafka is the client here:
  it is what Faust runs on, so the comparison isolates Faust and vox's own work.)
* framework: a Faust agent that takes batches (`take_events`) and validates them, nothing else:
  what faust-streaming's stream machinery costs per message (it hands messages over one at a
  time, with an `asyncio.wait` each), which is why vox's ingest stage does not read through it.
* naive: the Faust agent a competent developer writes first: one event at a time through
  `async for`, Faust's own JSON decoding, the same scoring core, a simple buffered insert.

Each prints one JSON line: events measured, seconds, CPU seconds and peak RSS over the measured
part (after `warmup` events).

Run: python -m bench.contenders ceiling|framework|naive BOOTSTRAP TOPICS GROUP EVENTS WARMUP CHDB_DIR
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Meter:
    """Counts events; starts the clock at `warmup`, reports at `total`."""

    def __init__(self, total: int, warmup: int):
        self.total, self.warmup, self.count = total, warmup, 0
        self.started: tuple[float, float] | None = None

    def add(self, n: int = 1) -> bool:
        self.count += n
        if self.started is None and self.count >= self.warmup:
            self.started = (time.perf_counter(), cpu_seconds())
        return self.count >= self.total

    def report(self) -> str:
        assert self.started is not None
        wall, cpu = time.perf_counter() - self.started[0], cpu_seconds() - self.started[1]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return json.dumps({"events": self.count - self.warmup, "seconds": wall, "cpu_seconds": cpu,
                           "peak_rss_bytes": peak})  # fmt: skip


async def ceiling(bootstrap: str, topics: list[str], group: str, meter: Meter) -> None:
    from aiokafka import AIOKafkaConsumer

    from vox.schemas import EVENT_ADAPTER

    validate = EVENT_ADAPTER.validate_json
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                enable_auto_commit=True, max_partition_fetch_bytes=4 * 1024 * 1024)  # fmt: skip
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for messages in batches.values():
                for message in messages:
                    try:
                        validate(message.value)
                    except ValueError:
                        pass
                if meter.add(len(messages)):
                    print(meter.report(), flush=True)
                    return
    finally:
        await consumer.stop()


def naive(bootstrap: str, topics: list[str], group: str, meter: Meter, chdb_dir: str) -> None:
    import faust

    from vox.schemas import EVENT_ADAPTER
    from vox.core.interactions import INTERACTION_COLUMNS, interaction_row
    from vox.clickhouse.migrations import migrate
    from vox.core.customers.config import ScoringConfig
    from vox.core.customers.engine import ScoringEngine
    from vox.settings import parse_clickhouse_url
    from vox.clickhouse.store import open_store
    from vox.core.triage import RawMessage

    store = open_store(parse_clickhouse_url(f"chdb://{chdb_dir}"))
    migrate(store)
    engine = ScoringEngine(ScoringConfig())
    app = faust.App(group, broker=f"kafka://{bootstrap}", value_serializer="json", web_enabled=False,
                    consumer_auto_offset_reset="earliest", datadir=os.path.join(chdb_dir, "faust"))  # fmt: skip
    source = app.topic(*topics)
    buffer: list[tuple] = []

    @app.agent(source)
    async def process(stream):  # noqa: ANN001
        async for value in stream:
            try:
                event = EVENT_ADAPTER.validate_python(value)
            except Exception:  # noqa: BLE001 - a bad event is skipped
                event = None
            if event is not None:
                engine.process(event)
                buffer.append(interaction_row(event, RawMessage("bench", 0, 0, b""), event.occurred_at))
                if len(buffer) >= 1000:
                    store.insert("interactions", INTERACTION_COLUMNS, buffer)
                    buffer.clear()
            if meter.add():
                # Faust redirects sys.stdout into its logger: write to the real one
                os.write(1, (meter.report() + "\n").encode())
                os._exit(0)  # the measurement is over; no graceful shutdown needed

    faust.Worker(app, loglevel="error", quiet=True).execute_from_commandline()


def framework(bootstrap: str, topics: list[str], group: str, meter: Meter, chdb_dir: str) -> None:
    import faust

    from vox.schemas import EVENT_ADAPTER

    validate = EVENT_ADAPTER.validate_json
    os.makedirs(chdb_dir, exist_ok=True)
    app = faust.App(group, broker=f"kafka://{bootstrap}", key_serializer="raw", value_serializer="raw",
                    web_enabled=False, consumer_auto_offset_reset="earliest",
                    datadir=os.path.join(chdb_dir, "faust"))  # fmt: skip
    source = app.topic(*topics, key_type=bytes, value_type=bytes)

    @app.agent(source)
    async def process(stream):  # noqa: ANN001
        async for events in stream.take_events(8000, within=0.2):
            for event in events:
                try:
                    validate(event.message.value)
                except ValueError:
                    pass
            if meter.add(len(events)):
                os.write(1, (meter.report() + "\n").encode())
                os._exit(0)

    faust.Worker(app, loglevel="error", quiet=True).execute_from_commandline()


def main() -> None:
    kind, bootstrap, topics, group, events, warmup, chdb_dir = sys.argv[1:8]
    meter = Meter(int(events), int(warmup))
    if kind == "ceiling":
        asyncio.run(ceiling(bootstrap, topics.split(","), group, meter))
    elif kind == "framework":
        framework(bootstrap, topics.split(","), group, meter, chdb_dir)
    else:
        naive(bootstrap, topics.split(","), group, meter, chdb_dir)


if __name__ == "__main__":
    main()
