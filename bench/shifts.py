"""Does vox find the simulator's planted sentiment shifts, how fast, and how often does it cry
wolf? Against river's ADWIN and PageHinkley (default settings; river is a development
dependency) and a detector that never fires, on the same subject streams.

    python -m bench.shifts                 # 5 simulated worlds (seeds 1-5); writes bench/shifts.json
    python -m bench.shifts --seeds 2       # quicker
    VOX_SENTIMENT__THRESHOLD=12 python -m bench.shifts --first-seed 6 --seeds 10 --out /tmp/dev.json
                                           # another setting, on the development worlds (seeds 6-15)

The detector's defaults were chosen on the development worlds; seeds 1-5 only measure them.

Streams: each simulated world's events through vox's own sentiment router (a review's stars
blended with its text, a post's text), one stream per brand and product, in event-time order,
as the sentiment stage takes them. Truth: a planted shift moves a brand's (or a product's)
quality from a time on, so the streams of that brand, of its products, or of that product change
there. A shift counts where it moves the stream's mean by at least one standard deviation of the
stream before it, with at least 30 opinions on each side; streams of untouched brands and
products are stable.

Measures, per detector: detection rate (an alarm after the change), median and 90th-percentile
delay in opinions after the change, false alarms per 10,000 stable opinions (any alarm on a
stable stream, or before the change on a shifted one), and TCPDBench's F1 (margin 50 opinions:
these are online detectors, judged where they say the change is) and cover (van den Burg and
Williams 2020). vox says where the change began (its estimate); the river detectors say when
they noticed, which is all they know.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from datetime import datetime
from pathlib import Path

from vox.core.sentiment.config import SentimentConfig
from vox.core.sentiment.stage import SentimentRouter
from vox.core.sentiment.subjects import Detector
from vox.errors import ConfigError
from vox.schemas import EVENT_ADAPTER
from vox.settings import load_settings
from vox.simulator.generate import SimConfig
from vox.simulator.run import write_simulation

MARGIN = 50
MIN_SIDE = 30


def streams(events: Path) -> dict[str, list[tuple[float, str, float]]]:
    """subject key -> [(at, event id, opinion)], in event-time order, brands and products."""
    router = SentimentRouter(SentimentConfig())
    out: dict[str, list] = {}
    seen: set[str] = set()
    with open(events, "rb") as lines:
        for line in lines:
            event = EVENT_ADAPTER.validate_json(line)
            if event.event_id in seen:
                continue  # a producer's resend: vox stores and routes the first copy only
            seen.add(event.event_id)
            for subject, _, _, at, event_id, opinion in router.records_of([event], [(-1, 0)]):
                if subject.startswith(("brand:", "product:")):
                    out.setdefault(subject, []).append((at, event_id, opinion))
    for stream in out.values():
        stream.sort(key=lambda o: (o[0], o[1]))
    return out


def change_of(subject: str, truth: dict) -> float | None:
    """When the subject's stream changes (the first planted shift touching it), or None."""
    kind, name = subject.split(":", 1)
    brand_of = truth["products"]
    times = [shift["start_s"] for shift in truth["shifts"]
             if shift["subject"] == name or (kind == "product" and brand_of.get(name) == shift["subject"])]  # fmt: skip
    return min(times) if times else None


def vox_alarms(stream: list, config: SentimentConfig | None = None) -> list[tuple[int, int]]:
    """(index where it fired, index of its estimated start) of each alert raised."""
    detector, config, out = Detector(), config or SentimentConfig(), []
    index_of = {event_id: i for i, (_, event_id, _) in enumerate(stream)}
    for i, (at, event_id, opinion) in enumerate(stream):
        alert = detector.observe("s", at, event_id, opinion, config)
        if alert is not None and alert.status == "open":
            start = next((j for j in range(i, -1, -1) if stream[j][0] <= alert.started_at), 0)
            out.append((i, min(start, index_of.get(event_id, i))))
    return out


def river_alarms(stream: list, make) -> list[tuple[int, int]]:  # noqa: ANN001
    detector, out = make(), []
    for i, (_, _, opinion) in enumerate(stream):
        detector.update(opinion)
        if detector.drift_detected:
            out.append((i, i))
    return out


def cover(n: int, truth: list[int], predicted: list[int]) -> float:
    """TCPDBench's covering: each true segment's best Jaccard overlap with a predicted one, weighted by length."""
    def segments(points: list[int]) -> list[tuple[int, int]]:
        edges = [0, *sorted(p for p in points if 0 < p < n), n]
        return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]

    total = 0.0
    for a, b in segments(truth):
        best = max((max(0, min(b, d) - max(a, c)) / (max(b, d) - min(a, c))) for c, d in segments(predicted))
        total += (b - a) * best
    return total / n


def f1(truth: list[int], predicted: list[int]) -> tuple[float, float, float]:
    """TCPDBench's F1: the series start counts as a change point both sides; a true point is found
    by at most one prediction within MARGIN."""
    truth, predicted = [0, *truth], [0, *predicted]
    found, used = 0, set()
    for t in truth:
        match = next((k for k, p in enumerate(predicted) if k not in used and abs(p - t) <= MARGIN), None)
        if match is not None:
            used.add(match)
            found += 1
    precision, recall = found / len(predicted), found / len(truth)
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def evaluate(worlds: list[tuple[dict, dict]], config: SentimentConfig | None = None) -> dict:
    from river import drift

    detectors = {"vox": lambda s: vox_alarms(s, config), "adwin": lambda s: river_alarms(s, drift.ADWIN),
                 "page_hinkley": lambda s: river_alarms(s, drift.PageHinkley), "never": lambda s: []}  # fmt: skip
    report: dict = {}
    for name, detect in detectors.items():
        delays, missed, false_alarms, stable_opinions, f1s, covers, shifts = [], 0, 0, 0, [], [], 0
        for truth, subject_streams in worlds:
            for subject, stream in subject_streams.items():
                values = [o[2] for o in stream]
                change = change_of(subject, truth)
                at = next((i for i, o in enumerate(stream) if o[0] >= change), len(stream)) if change else len(stream)
                alarms = detect(stream)
                before = [a for a in alarms if a[0] < at]
                false_alarms += len(before)
                stable_opinions += at
                if change is None or at < MIN_SIDE or len(stream) - at < MIN_SIDE:
                    continue
                head, tail = values[:at], values[at:]
                sd = statistics.pstdev(head) or 1e-9
                if abs(statistics.fmean(tail) - statistics.fmean(head)) < sd:
                    continue
                shifts += 1
                after = [a for a in alarms if a[0] >= at]
                if after:
                    delays.append(after[0][0] - at)
                else:
                    missed += 1
                located = [a[1] for a in alarms]
                f1s.append(f1([at], located)[2])
                covers.append(cover(len(stream), [at], located))
        delays.sort()
        report[name] = {
            "shifts_of_1_sd_or_more": shifts,
            "detected": round((shifts - missed) / shifts, 3) if shifts else None,
            "median_delay_opinions": delays[len(delays) // 2] if delays else None,
            "p90_delay_opinions": delays[int(len(delays) * 0.9)] if delays else None,
            "false_alarms_per_10k_stable": round(false_alarms / stable_opinions * 10_000, 2) if stable_opinions else None,
            "stable_opinions": stable_opinions,
            "f1": round(statistics.fmean(f1s), 3) if f1s else None,
            "cover": round(statistics.fmean(covers), 3) if covers else None,
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description="vox's shift detector against river's on the simulator's planted shifts.")
    parser.add_argument("--seeds", type=int, default=5, help="how many worlds")
    parser.add_argument("--first-seed", type=int, default=1, help="the first world's seed (1: the evaluation worlds)")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("shifts.json"))
    args = parser.parse_args()
    if args.seeds < 1 or args.first_seed < 0:
        parser.error("--seeds must be at least 1 and --first-seed at least 0")
    try:
        config = load_settings().sentiment  # the VOX_SENTIMENT__* of the environment, as the worker reads them
    except ConfigError as exc:
        raise SystemExit(f"bench.shifts: {exc}") from None
    worlds = []
    with tempfile.TemporaryDirectory(prefix="vox-shifts-") as work:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            out = Path(work) / f"s{seed}"
            truth = write_simulation(SimConfig(customers=args.customers, days=args.days, seed=seed, shifts=6), out,
                                     progress=False)  # fmt: skip
            products = {pid: p["brand"] for pid, p in truth["products"].items()}
            shifts = [{"subject": s["subject"], "start_s": datetime.fromisoformat(s["start"]).timestamp()}
                      for s in truth["shifts"]]  # fmt: skip
            worlds.append(({"products": products, "shifts": shifts}, streams(out / "events.jsonl")))
    report = {"seeds": list(range(args.first_seed, args.first_seed + args.seeds)), "customers": args.customers,
              "days": args.days, "detector": config.model_dump(exclude={"texts", "window_minutes", "keep_windows"}),
              **evaluate(worlds, config)}  # fmt: skip
    for name in ("vox", "adwin", "page_hinkley", "never"):
        r = report[name]
        print(f"{name}: detected {r['detected']} of {r['shifts_of_1_sd_or_more']} shifts >= 1 sd, median delay "
              f"{r['median_delay_opinions']} opinions (p90 {r['p90_delay_opinions']}), "
              f"{r['false_alarms_per_10k_stable']} false alarms per 10,000 stable opinions, F1 {r['f1']}, cover {r['cover']}")  # fmt: skip
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
