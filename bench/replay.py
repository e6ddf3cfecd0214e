"""`vox replay` throughput on one simulated file, this checkout against another revision, in
alternating rounds of the same run (machines are noisy: the ratio is the figure).

    python -m bench.replay --events 1000000 --against HEAD~3

Writes `bench/replay.json` and prints it. Each round replays the file into a fresh chDB
database in a child process (its own vox code, this environment's libraries), timed around
`replay_file` only (not the interpreter's start, not the simulation).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.run import ROOT, is_commit

CHILD = """
import json, sys, time
from pathlib import Path
from vox.clickhouse.migrations import migrate
from vox.clickhouse.store import open_store
from vox.clickhouse.tables import VoxTables
from vox.replay import replay_file
from vox.settings import Settings, parse_clickhouse_url
settings = Settings(clickhouse_url=sys.argv[2])
with open_store(parse_clickhouse_url(settings.clickhouse_url)) as store:
    migrate(store)
    started = time.perf_counter()
    report = replay_file(Path(sys.argv[1]), VoxTables(store), settings, progress=False)
    seconds = time.perf_counter() - started
    rows = int(store.scalar(f"SELECT count() FROM {store.database}.customer_scores"))
print(json.dumps({"events": report.events, "seconds": seconds, "customers": report.customers, "score_rows": rows}))
"""


def replay_once(source: Path, events_file: Path, work: Path, name: str) -> dict:
    url = f"chdb://{work / name}"
    done = subprocess.run([sys.executable, "-c", CHILD, str(events_file), url], cwd=source, check=True,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(source)})  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--against", metavar="REV", required=True, help="the git revision to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "bench" / "replay.json"))
    args = parser.parse_args(argv)
    if not is_commit(args.against):
        parser.error(f"--against {args.against}: not a commit of this repository")
    if args.events < 1 or args.rounds < 1:
        parser.error("--events and --rounds must be at least 1")
    from vox.simulator.generate import SimConfig, Simulation

    with tempfile.TemporaryDirectory(prefix="vox-bench-replay-") as tmp:
        work = Path(tmp)
        customers, days = max(300, args.events // 120), 365  # as `bench.run`'s backlog
        events_file = work / "events.jsonl"
        with open(events_file, "wb") as out:
            sim = Simulation(SimConfig(customers=customers, days=days, seed=7, duplicate_rate=0.0))
            for message in itertools.islice(sim.events(), args.events):
                out.write(message.line + b"\n")
        checkout = work / "against"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(checkout), args.against], cwd=ROOT, check=True)
        runs: dict[str, list[dict]] = {"this": [], args.against: []}
        try:
            for round_ in range(args.rounds):
                order = (("this", ROOT), (args.against, checkout))[:: 1 if round_ % 2 == 0 else -1]
                for name, source in order:
                    runs[name].append(replay_once(source, events_file, work, f"{len(runs[name])}-{name}".replace("~", "_")))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(checkout)], cwd=ROOT, check=False)
    rates = {name: statistics.median(r["events"] / r["seconds"] for r in found) for name, found in runs.items()}
    result = {"events": args.events, "customers": customers, "days": days, "rounds": runs,
              "median_events_per_s": rates, "ratio": rates["this"] / rates[args.against]}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
