"""The benchmark: vox against a ceiling and a naive agent, on the same simulated input.

    python -m bench.run                  # the full run (about ten minutes on 2 cores)
    python -m bench.run --smoke          # seconds: the harness itself (run by the test suite)

Writes `bench/results.json` (or --out) and prints a table. Every figure carries the machine,
the versions, the event count and its ratio to the ceiling measured in the same run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from importlib.metadata import version
from pathlib import Path

from kafka import KafkaProducer

from vox.schemas import EVENT_ADAPTER
from vox.local.server import LocalClickHouseServer
from vox.local.broker import LocalKafka
from vox.clickhouse.migrations import migrate
from vox.core.customers.engine import Router, Scorer
from vox.clickhouse.tables import VoxTables
from vox.replay import replay_file
from vox.settings import GROUPS, Settings, parse_clickhouse_url
from vox.simulator.generate import SimConfig, Simulation
from vox.clickhouse.store import open_store, quote
from vox.kafka.topics import create_topics, topic_names
from vox.local.worker_process import WorkerProcess, metric_total, scrape

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())  # fmt: skip
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "versions": {name: version(name) for name in ("faust-streaming", "aiokafka", "kafka-python", "chdb",
                                                          "clickhouse-driver", "pydantic")}}  # fmt: skip


def simulated(events: int, seed: int = 7) -> list[tuple[str, bytes, bytes]]:
    """(family, key, value) of `events` simulated messages, valid ones, in arrival order."""
    sim = Simulation(SimConfig(customers=max(300, events // 120), days=365, seed=seed, duplicate_rate=0.0))
    out = []
    for message in itertools.islice(sim.events(), events):
        out.append((message.family, message.key or b"", message.line))
    return out


def publish(settings: Settings, messages: list[tuple[str, bytes, bytes]]) -> None:
    names = topic_names(settings)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20,
                             batch_size=512 * 1024)  # fmt: skip
    for family, key, value in messages:
        producer.send(names.for_family(family), key=key, value=value)
    producer.flush()
    producer.close()


def contender(kind: str, settings: Settings, events: int, warmup: int, work: Path, timeout_s: float) -> dict:
    names = topic_names(settings)
    command = [sys.executable, "-m", "bench.contenders", kind, settings.kafka_bootstrap, ",".join(names.inputs),
               f"bench-{kind}-{uuid.uuid4().hex[:6]}", str(events), str(warmup), str(work / kind)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd=ROOT)
    # the result is the last JSON object printed (Faust may put terminal codes before it)
    found = [line[line.find('{"events"'):] for line in done.stdout.splitlines() if '{"events"' in line]
    if not found:
        raise RuntimeError(f"{kind} printed no result: {done.stderr[-800:]}")
    return json.loads(found[-1])


def proc_times(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def broker_cpu(pid: int | None) -> float:
    return proc_times(pid) if pid is not None else 0.0


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def vox_worker(settings: Settings, events: int, warmup: int, timeout_s: float, source: Path | None = None,
               broker_pid: int | None = None) -> dict:  # fmt: skip
    """The real worker on the backlog: measured from `warmup` messages consumed until every
    message is written and every signal applied (`source`: another commit's checkout). With
    `broker_pid` (the local broker), the broker's CPU over the same span too: what the worker
    makes it do (its stages' topics, its changelogs) is part of its cost on one machine."""
    worker = WorkerProcess(settings, source)
    if source is not None:
        worker.env.pop("VOX_STAGES", None)  # older versions do not know it (and run the customers stage)
        # nor, maybe, the newer settings of a group: those left at their default are the older's defaults
        for group, config in GROUPS.items():
            defaults = config().model_dump(mode="json")
            for name, value in getattr(settings, group).model_dump(mode="json").items():
                if value == defaults[name]:
                    worker.env.pop(f"VOX_{group.upper()}__{name.upper()}", None)
    worker.start()
    assert worker.process is not None
    pid = worker.process.pid
    deadline = time.monotonic() + timeout_s
    started = None
    try:
        while time.monotonic() < deadline:
            text = scrape(worker.metrics_url) or ""
            consumed = metric_total(text, "vox_events_consumed")
            if started is None and consumed >= warmup:
                started = (time.perf_counter(), proc_times(pid), consumed, broker_cpu(broker_pid))
            published = metric_total(text, "vox_signals_published")
            applied = metric_total(text, "vox_signals_applied")
            if consumed >= events and applied >= published > 0:
                assert started is not None
                wall, cpu = time.perf_counter() - started[0], proc_times(pid) - started[1]
                figures = {"events": int(events - started[2]), "seconds": wall, "cpu_seconds": cpu,
                           "peak_rss_bytes": peak_rss(pid)}  # fmt: skip
                if broker_pid is not None:
                    figures["broker_cpu_seconds"] = broker_cpu(broker_pid) - started[3]
                return figures
            time.sleep(0.05)
        raise RuntimeError("the vox worker did not finish in time")
    finally:
        worker.stop()


def freshness(settings: Settings, rate: float, seconds: float, server: LocalClickHouseServer) -> dict:
    """Publish at a fixed rate; poll ClickHouse for each event's row; latency percentiles."""
    settings = settings.model_copy(update={"clickhouse_url": server.url("fresh"), "topic_prefix": "fresh.",
                                           "consumer_group": "fresh", "batch_max_wait_s": 0.2})  # fmt: skip
    create_topics(settings)
    worker = WorkerProcess(settings)
    worker.start()
    published: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = threading.Event()

    def poll() -> None:
        with open_store(parse_clickhouse_url(settings.clickhouse_url)) as store:
            while not stop.is_set():
                pending = [event_id for event_id in list(published) if event_id not in seen]
                if pending:
                    now = time.time()
                    for chunk in range(0, len(pending), 1000):
                        ids = ",".join(quote(e) for e in pending[chunk : chunk + 1000])
                        for (event_id,) in store.query(f"SELECT event_id FROM {store.database}.interactions "
                                                       f"WHERE event_id IN ({ids})"):  # fmt: skip
                            seen.setdefault(event_id, now)
                time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    names = topic_names(settings)
    # a few milliseconds of linger, as real producers use: one request per message would make the
    # producer itself (kafka-python) take a core of this 2-core machine from the worker
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks=1, linger_ms=5)
    messages = simulated(int(rate * seconds) + 10, seed=99)
    start = time.perf_counter()
    try:
        for n, (family, key, value) in enumerate(messages):
            event = json.loads(value)
            event["event_id"] = f"fresh-{n}"
            due = start + n / rate
            if (ahead := due - time.perf_counter()) > 0:
                time.sleep(ahead)
            published[event["event_id"]] = time.time()
            producer.send(names.for_family(family), key=key, value=json.dumps(event).encode())
        producer.flush()
        deadline = time.monotonic() + 30
        while len(seen) < len(published) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        poller.join()
        producer.close()
        worker.stop()
    latencies = sorted(seen[e] - published[e] for e in seen)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 2 else [float("nan")] * 99
    return {"rate": rate, "events": len(published), "seen": len(seen), "p50_s": q[49], "p95_s": q[94],
            "p99_s": q[98], "poll_interval_s": 0.05, "store": "ClickHouse server " + server_version(server)}  # fmt: skip


def server_version(server: LocalClickHouseServer) -> str:
    with open_store(parse_clickhouse_url(server.url("default"))) as store:
        return str(store.scalar("SELECT version()"))


def state_size(messages: list[tuple[str, bytes, bytes]]) -> dict:
    router = Router(Settings().scoring)
    signals = [s for _, _, value in messages for s in router.signals(EVENT_ADAPTER.validate_json(value))]
    tracemalloc.start()
    scorer = Scorer(Settings().scoring)
    before = tracemalloc.get_traced_memory()[0]
    for signal in signals:
        scorer.apply(signal)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    customers = len(scorer.customers)
    serialised = sum(len(s.to_bytes()) for s in scorer.customers.values()) / customers
    return {"customers": customers, "in_memory_bytes": (after - before) / customers, "serialised_bytes": serialised}


QUERIES = {
    "typology matrix": "SELECT * FROM {db}.typology_matrix",
    "segment flows": "SELECT * FROM {db}.segment_flows ORDER BY day",
    "one customer's explanation": "SELECT * FROM {db}.customer_explanation WHERE customer_id = {customer}",
    "reviews per brand (1M-row scan)": "SELECT brand, count(), avg(rating) FROM {db}.interactions "
    "WHERE event_type = 'review' GROUP BY brand",
}


def analyst_queries(url: str, events_file: Path, settings: Settings) -> dict:
    with open_store(parse_clickhouse_url(url)) as store:
        migrate(store)
        replay_file(events_file, VoxTables(store), settings, progress=False)
        db = store.database
        rows = int(store.scalar(f"SELECT count() FROM {db}.interactions"))
        customer = quote(str(store.scalar(f"SELECT customer_id FROM {db}.customer_scores FINAL LIMIT 1")))
        timings = {}
        for name, sql in QUERIES.items():
            sql = sql.format(db=db, customer=customer)
            runs = []
            for _ in range(5):
                started = time.perf_counter()
                store.query(sql)
                runs.append(time.perf_counter() - started)
            timings[name] = statistics.median(runs)
        return {"interactions": rows, "version": str(store.scalar("SELECT version()")), "median_s": timings}


def own_topics(settings: Settings, messages: list[tuple[str, bytes, bytes]], work: Path) -> Settings:
    """Settings with topics (and a group, a home, a chDB) of their own, the same backlog
    published to them: a worker also reads its stages' topics from the start, so two runs must
    not share them (the second would apply the first one's records too)."""
    name = f"run{uuid.uuid4().hex[:6]}"
    own = settings.model_copy(update={"topic_prefix": f"{name}.", "consumer_group": f"bench-{name}",
                                      "home": work / name, "clickhouse_url": f"chdb://{work / name / 'chdb'}"})  # fmt: skip
    create_topics(own)
    publish(own, messages)
    return own


def is_commit(rev: str) -> bool:
    return not subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=ROOT,
                              capture_output=True).returncode  # fmt: skip


def alternating(variants: dict[str, tuple[Settings, Path | None]], messages: list, events: int, warmup: int,
                work: Path, rounds: int, timeout_s: float, broker_pid: int | None = None) -> dict:  # fmt: skip
    """Workers on the same backlog, in alternating rounds, each with topics of its own: the
    first variant against the second (settings, and a checkout to run it from or None: this one).
    Beside the throughput, the CPU per 1,000 events (the worker's, and the local broker's when
    `broker_pid` names it): a shared machine's load moves the wall clock more than the CPU a
    run takes. Each round's own ratio too (its first variant's figure over its second's): the
    two run back to back, so a slow hour moves both, and the rounds' spread says how far the
    medians can be trusted."""
    runs: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(rounds):
        for name in list(variants)[:: 1 if round_ % 2 == 0 else -1]:
            settings, source = variants[name]
            figures = vox_worker(own_topics(settings, messages, work), events, warmup, timeout_s, source, broker_pid)
            runs[name].append(figures["events"] / figures["seconds"])
            used = figures["cpu_seconds"] + figures.get("broker_cpu_seconds", 0.0)
            cpu[name].append(1000 * used / figures["events"])
    medians = {name: statistics.median(rates) for name, rates in runs.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    first, second = list(variants)
    return {"rounds": rounds, "events_per_s": runs, "median_events_per_s": medians,
            "ratio": medians[first] / medians[second], "cpu_s_per_1000": cpu, "median_cpu_s_per_1000": cpu_medians,
            "round_ratios": [a / b for a, b in zip(runs[first], runs[second])],
            "round_cpu_ratios": [a / b for a, b in zip(cpu[first], cpu[second])],
            "cpu_counts_broker": broker_pid is not None}  # fmt: skip


def worker_pair(settings: Settings, messages: list, events: int, warmup: int, work: Path, against: str, rounds: int,
                timeout_s: float, broker_pid: int | None = None) -> dict:  # fmt: skip
    """This checkout's worker and `against`'s (a git revision, checked out beside)."""
    checkout = work / "against"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(checkout), against], cwd=ROOT, check=True)
    try:
        pair = alternating({"this": (settings, None), against: (settings, checkout)}, messages, events, warmup, work,
                           rounds, timeout_s, broker_pid)  # fmt: skip
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(checkout)], cwd=ROOT, check=False)
    return {"against": against, **pair}


def stage_cost(settings: Settings, stage: str, messages: list, events: int, warmup: int, work: Path, rounds: int,
               timeout_s: float, broker_pid: int | None = None) -> dict:  # fmt: skip
    """The worker with every default stage and without `stage`: what that stage costs, in
    throughput and in the CPU an event takes (the share of it the stage adds)."""
    without = ",".join(name for name in settings.stages.split(",") if name.strip() != stage)
    pair = alternating({"with": (settings, None), "without": (settings.model_copy(update={"stages": without}), None)},
                       messages, events, warmup, work, rounds, timeout_s, broker_pid)  # fmt: skip
    cpu = pair["median_cpu_s_per_1000"]
    return {"stage": stage, **pair, "cost": 1 - pair["ratio"], "cpu_cost": 1 - cpu["without"] / cpu["with"]}


def throughput(settings: Settings, server: LocalClickHouseServer, messages: list, events: int, warmup: int,
               work: Path) -> dict:  # fmt: skip
    """Every contender on the same backlog, each figure with its ratio to the ceiling."""
    timeout = max(120.0, events / 500)
    results = {"ceiling": contender("ceiling", settings, events, warmup, work, timeout)}
    results["framework"] = contender("framework", settings, events, warmup, work, timeout * 3)
    results["naive"] = contender("naive", settings, events, warmup, work, timeout * 3)
    results["vox"] = vox_worker(settings, events, warmup, timeout)
    # the same worker on the ClickHouse server: freshness is measured there (a chDB directory
    # belongs to one process, so another cannot poll it), at half of *this* saturated rate
    on_server = own_topics(settings, messages, work).model_copy(update={"clickhouse_url": server.url("saturated")})
    results["vox (server)"] = vox_worker(on_server, events, warmup, timeout)
    ceiling_rate = results["ceiling"]["events"] / results["ceiling"]["seconds"]
    for figures in results.values():
        figures["events_per_s"] = figures["events"] / figures["seconds"]
        figures["cpu_s_per_1000"] = 1000 * figures["cpu_seconds"] / figures["events"]
        figures["ratio_to_ceiling"] = figures["events_per_s"] / ceiling_rate
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="messages per contender (default 200,000)")
    parser.add_argument("--query-events", type=int, default=1_000_000, help="interactions for the query latencies")
    parser.add_argument("--smoke", action="store_true", help="tiny run of every part, for the test suite")
    parser.add_argument("--against", metavar="REV", help="also run the worker of this git revision on the same "
                        "backlog, alternating with this one (the pair of a change)")
    parser.add_argument("--pair-only", action="store_true", help="with --against: only the pair")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the pair (default 3)")
    parser.add_argument("--stage-cost", metavar="STAGE", default="leaders", help="the worker with and without this "
                        "stage, alternating (default leaders; 'none' to skip)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args(argv)
    if args.pair_only and not args.against and args.stage_cost == "none":
        parser.error("--pair-only needs --against REV or --stage-cost STAGE")
    if min(args.rounds, args.events, args.query_events) < 1:
        parser.error("--rounds, --events and --query-events must be at least 1")
    stages = [name.strip() for name in Settings().stages.split(",")]
    if args.stage_cost not in ("none", *stages):
        parser.error(f"--stage-cost {args.stage_cost}: not one of the default stages ({', '.join(stages)}) nor 'none'")
    if args.against and not is_commit(args.against):
        parser.error(f"--against {args.against}: not a commit of this repository")  # before any broker starts
    events, query_events = (600, 1500) if args.smoke else (args.events, args.query_events)
    warmup = 0 if args.smoke else events // 10  # a smoke run is one batch: nothing to warm
    work = Path(tempfile.mkdtemp(prefix="vox-bench-"))
    settings = Settings(home=work / "home", topic_prefix=f"bench{uuid.uuid4().hex[:6]}.", topic_partitions=4,
                        consumer_group=f"bench-vox-{uuid.uuid4().hex[:6]}",
                        clickhouse_url=f"chdb://{work / 'chdb'}")  # fmt: skip
    broker, broker_pid = None, None
    if not settings.kafka_bootstrap:
        broker = LocalKafka(settings)
        started = broker.start()
        settings, broker_pid = settings.model_copy(update={"kafka_bootstrap": started.bootstrap}), started.pid
    server = LocalClickHouseServer(work / "clickhouse-server").start()
    report: dict = {"machine": machine(), "kafka": "Apache Kafka 4.1.1 (local, KRaft, 1 node), topics of 4 partitions",
                    "events": events, "warmup_events": warmup}  # fmt: skip
    try:
        messages = simulated(events)
        create_topics(settings)
        publish(settings, messages)
        if args.against:
            report["pair"] = worker_pair(settings, messages, events, warmup, work, args.against, args.rounds,
                                         max(120.0, events / 500), broker_pid)  # fmt: skip
        if args.stage_cost != "none":
            report["stage_cost"] = stage_cost(settings, args.stage_cost, messages, events, warmup, work,
                                              1 if args.smoke else args.rounds, max(120.0, events / 500), broker_pid)  # fmt: skip
        if not args.pair_only:
            report.update(measured(settings, server, messages, events, warmup, query_events, work, 2.0 if args.smoke else 20.0))
    finally:
        server.stop()
        if broker is not None:
            broker.stop()
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(render(report))
    return report


def measured(settings: Settings, server: LocalClickHouseServer, messages: list, events: int, warmup: int,
             query_events: int, work: Path, fresh_seconds: float) -> dict:  # fmt: skip
    """Throughput, freshness, state size and analyst query latencies."""
    results = throughput(settings, server, messages, events, warmup, work)
    report = {
        "throughput": results,
        "vox_vs_naive": results["vox"]["events_per_s"] / results["naive"]["events_per_s"],
        "freshness": freshness(settings, rate=results["vox (server)"]["events_per_s"] / 2, seconds=fresh_seconds,
                               server=server),  # fmt: skip
        "state_per_customer": state_size(messages),
    }
    query_file = work / "queries.jsonl"
    with open(query_file, "wb") as out:
        for _, _, value in simulated(query_events, seed=5):
            out.write(value + b"\n")
    report["analyst_queries"] = {
        "chdb": analyst_queries(f"chdb://{work / 'chdb-queries'}", query_file, settings),
        "server": analyst_queries(server.url("queries"), query_file, settings),
    }
    return report


def cpu_whose(pair: dict) -> str:
    return " (worker and broker)" if pair.get("cpu_counts_broker") else " (the worker's; the broker is not local)"


def round_spread(pair: dict, first: str, second: str) -> str:
    """Each round's own ratios, their range (how far a pair's medians can be trusted) and their
    median (the paired estimate: each ratio is of two runs back to back, in the same hour)."""
    def span(values: list[float]) -> str:
        if not values:
            return "none"
        return f"{min(values):.2f} to {max(values):.2f} (median {statistics.median(values):.2f})"

    return (f"    each round, {first} over {second}: throughput {span(pair.get('round_ratios', []))}, "
            f"CPU per event {span(pair.get('round_cpu_ratios', []))}")


def render(report: dict) -> str:
    m = report["machine"]
    lines = [f"vox benchmark: {report['events']:,} events (after {report['warmup_events']:,} of warm-up), "
             f"{m['cores']} cores, {m['cpu']}, Python {m['python']}",
             f"  {report['kafka']}; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items())]  # fmt: skip
    if pair := report.get("pair"):
        rates = {name: ", ".join(f"{r:,.0f}" for r in values) for name, values in pair["events_per_s"].items()}
        lines.append(f"  worker pair, {pair['rounds']} alternating rounds: this checkout {rates['this']} events/s "
                     f"(median {pair['median_events_per_s']['this']:,.0f}); {pair['against']} {rates[pair['against']]} "
                     f"(median {pair['median_events_per_s'][pair['against']]:,.0f}); ratio {pair['ratio']:.3f}")  # fmt: skip
        lines.append(f"    CPU per 1,000 events{cpu_whose(pair)}: " + "; ".join(
            f"{name} {', '.join(f'{v:.3f}' for v in values)} s (median {pair['median_cpu_s_per_1000'][name]:.3f})"
            for name, values in pair["cpu_s_per_1000"].items()))  # fmt: skip
        lines.append(round_spread(pair, "this checkout", pair["against"]))
    if cost := report.get("stage_cost"):
        rates = {name: ", ".join(f"{r:,.0f}" for r in values) for name, values in cost["events_per_s"].items()}
        lines.append(f"  stage {cost['stage']}, {cost['rounds']} alternating rounds: with it {rates['with']} events/s "
                     f"(median {cost['median_events_per_s']['with']:,.0f}), without {rates['without']} (median "
                     f"{cost['median_events_per_s']['without']:,.0f}): it costs {cost['cost']:.1%} of the throughput")  # fmt: skip
        cpu = cost["median_cpu_s_per_1000"]
        lines.append(f"    CPU per 1,000 events{cpu_whose(cost)}: with it {cpu['with']:.3f} s, without {cpu['without']:.3f} s "
                     f"(medians): {cost['cpu_cost']:.1%} of it is the stage's")  # fmt: skip
        lines.append(round_spread(cost, "with it", "without"))
    if "throughput" not in report:
        return "\n".join(lines)
    lines += ["", f"  {'contender':<14} {'events/s':>10} {'x ceiling':>10} {'CPU s/1k':>9} {'peak RSS':>10}"]
    for name, f in report["throughput"].items():
        lines.append(f"  {name:<14} {f['events_per_s']:>10,.0f} {f['ratio_to_ceiling']:>10.2f} "
                     f"{f['cpu_s_per_1000']:>9.3f} {f['peak_rss_bytes'] / 2**20:>8.0f} MiB")  # fmt: skip
    lines.append(f"  vox / naive: {report['vox_vs_naive']:.1f} x")
    fresh = report["freshness"]
    lines.append(f"  freshness at {fresh['rate']:,.0f} events/s, half of vox's rate on the server ({fresh['store']}, {fresh['seen']}/{fresh['events']} "
                 f"seen): p50 {fresh['p50_s']:.3f} s, p95 {fresh['p95_s']:.3f} s, p99 {fresh['p99_s']:.3f} s")  # fmt: skip
    state = report["state_per_customer"]
    lines.append(f"  state per customer: {state['serialised_bytes']:.0f} bytes serialised (changelog), "
                 f"{state['in_memory_bytes']:.0f} bytes decoded in memory ({state['customers']} customers)")  # fmt: skip
    for store, q in report["analyst_queries"].items():
        timings = ", ".join(f"{name} {1000 * s:.1f} ms" for name, s in q["median_s"].items())
        lines.append(f"  queries on {q['interactions']:,} interactions, {store} {q['version']}: {timings}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
