"""How well the scores recover the simulator's hidden traits, and how well anything could.

    python -m bench.population                      # 2,000 customers, 120 and 365 days (about 8 min)
    python -m bench.population --days 120 --out F   # one horizon

For each horizon: the confusion matrix (truth cell x scored cell), the share placed right overall
and per band of events seen, per axis. Beside it, a **reference**: a classifier *trained on the
truth* of another simulated population (seed + 1) from the same customer states (multinomial
logistic regression per axis on every accumulator, rate and component). vox cannot do that (it
has no labels); what the reference cannot place is beyond what the evidence tells, and bounds
what any scoring could reach. And **best weights**: vox's own components, weighted by least
squares on the hidden traits of that other population, cut as vox cuts: what better weights
alone could give. Writes `bench/population.json` and prints the report.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from collections import Counter
from pathlib import Path

from bench.latest import latest_scores
from vox.schemas import EVENT_ADAPTER
from vox.core.customers.config import ScoringConfig
from vox.core.customers.engine import ScoringEngine
from vox.core.customers.scores import ESTABLISHED, score
from vox.core.customers.state import ACCUMULATORS, CustomerState
from vox.simulator.generate import SimConfig
from vox.simulator.run import write_simulation
from vox.core.typology import CELL_NAMES, CELLS, LEVELS, LEVELS_OF_CELL

BANDS = ((1, 10), (10, 30), (30, 100), (100, 300), (300, None))
ESTABLISHED_EVENTS = 300  # about five events a week over 120 days: enough evidence to judge


def simulate_and_score(config: SimConfig, out: Path) -> tuple[dict, ScoringEngine, dict]:
    """Simulate, then `vox replay` the stream (cut points adaptive to the population's known
    shape). Returns the truth, an engine holding every customer's state (as of their latest
    signal), and the cell of each customer's latest row in `customer_scores`."""
    truth = write_simulation(config, out, progress=False)
    events = out / "events.jsonl"
    # every customer's state once every event is in: who is established (evidence does not
    # depend on cuts), and the states the reference and the best weights read
    engine = ScoringEngine(ScoringConfig())
    with open(events, "rb") as lines:
        for line in lines:
            engine.process(EVENT_ADAPTER.validate_json(line))
    established = established_at_end(engine)
    active = {cid: c for cid, c in truth["customers"].items() if c["role"] == "customer" and c["events"]}

    def shares(axis: int) -> tuple[float, float]:
        # the shares vox's cuts aim at are those of the customers established on the axis
        levels = Counter(LEVELS_OF_CELL[c["cell"]][axis] for cid, c in active.items() if established[axis].get(cid))
        total = sum(levels.values()) or 1
        return levels["low"] / total, levels["high"] / total

    # The company knows its population's shape (here, the simulator's truth); the cut points adapt to it.
    scoring = ScoringConfig(cut_mode="adaptive", competence_shares=shares(0), implication_shares=shares(1))
    rows = latest_scores(events, scoring)  # what vox shows: its sweeps, one population's cuts
    truth["established"] = {cid: (row["competence_evidence"] == ESTABLISHED, row["implication_evidence"] == ESTABLISHED)
                            for cid, row in rows.items()}  # fmt: skip
    return truth, engine, {cid: row["cell"] for cid, row in rows.items()}


def established_at_end(engine: ScoringEngine) -> tuple[dict[str, bool], dict[str, bool]]:
    """Who is established on each axis at the end of the data: the population vox's cuts count
    is the one established as of each sweep point, silent customers included (they keep their
    days observed), not as of each customer's own latest signal. Taken as of the latest signal,
    the customers who joined early and then acted rarely (low implication) were left out of the
    shares, which then asked for 25 % at low implication where the counted population holds
    31 %: a quarter of the low-implication customers were pushed to medium by the input alone."""
    scorer = engine.scorer
    end = max((state.latest for state in scorer.customers.values()), default=0.0)
    scored = {cid: score(state, end, scorer.config) for cid, state in scorer.customers.items()}
    return ({cid: s.competence_established for cid, s in scored.items()},
            {cid: s.implication_established for cid, s in scored.items()})  # fmt: skip


def by_evidence_level(truth: dict, cells: dict) -> dict[str, dict]:
    """Share placed right among customers established on both axes, and among the others."""
    out = {}
    for name, wanted in (("established", True), ("provisional", False)):
        subset = {cid: cell for cid, cell in cells.items() if all(truth["established"].get(cid, (False, False))) == wanted}
        matrix, right, total = confusion(truth, subset)
        if total:
            competence, implication = per_axis(matrix)
            out[name] = {"customers": total, "right": round(right / total, 3),
                         "competence_right": round(competence, 3), "implication_right": round(implication, 3)}  # fmt: skip
    return out


def confusion(truth: dict, cells: dict, minimum_events: int = 1, below: int | None = None) -> tuple[Counter, int, int]:
    """(truth cell, scored cell) counts over active customers with minimum_events <= events < below."""
    matrix, right, total = Counter(), 0, 0
    for customer, cell in cells.items():
        expected = truth["customers"][customer]
        events = expected["events"]
        if expected["role"] != "customer" or events < minimum_events or (below is not None and events >= below):
            continue
        matrix[(expected["cell"], cell)] += 1
        right += cell == expected["cell"]
        total += 1
    return matrix, right, total


def per_axis(matrix: Counter) -> tuple[float, float]:
    total = sum(matrix.values()) or 1
    return tuple(sum(n for (a, b), n in matrix.items() if LEVELS_OF_CELL[a][axis] == LEVELS_OF_CELL[b][axis]) / total
                 for axis in (0, 1))  # type: ignore[return-value]  # fmt: skip


def by_evidence(truth: dict, cells: dict) -> list[dict]:
    """Share placed right per band of events seen: how accuracy grows with evidence."""
    out = []
    for low, high in BANDS:
        matrix, right, total = confusion(truth, cells, low, high)
        if total:
            competence, implication = per_axis(matrix)
            out.append({"events": f"{low}-{high - 1 if high else ''}", "customers": total, "right": round(right / total, 3),
                        "competence_right": round(competence, 3), "implication_right": round(implication, 3)})  # fmt: skip
    return out


def render(matrix: Counter) -> str:
    head = "truth \\ scored  " + " ".join(f"{c[:7]:>7}" for c in CELL_NAMES)
    rows = [f"{a:<15} " + " ".join(f"{matrix[(a, b)]:>7}" for b in CELL_NAMES) for a in CELL_NAMES]
    return "\n".join([head, *rows])


# -- the reference: what a classifier trained on the truth gets from the same states ------------


def features(state: CustomerState, engine: ScoringEngine) -> list[float]:
    as_of, h = state.latest, engine.scorer.half_lives
    acc = {name: state.decayed(name, as_of, h) for name, _ in ACCUMULATORS}
    s = score(state, as_of, engine.scorer.config)
    per_session = [acc[n] / acc["sessions"] if acc["sessions"] else 0.0 for n in ("clicks", "votes_cast", "posts", "purchases")]
    rates = [(acc["learning_views"] + 1) / (acc["views"] + 4), (acc["pos_votes"] + 1) / (acc["pos_votes"] + acc["neg_votes"] + 2),
             (acc["answers"] + 0.5) / (acc["answers"] + acc["questions"] + 1), (acc["text_chars"] + 150) / (acc["text_items"] + 1) / 1000,
             (acc["abs_error"] + 1) / (acc["rated"] + 1), acc["dwell_s"] / acc["dwell_n"] if acc["dwell_n"] else 0.0]  # fmt: skip
    return [*(math.log1p(max(0.0, v)) for v in acc.values()), *per_session, *rates,
            state.active_weeks(as_of, 12) / 12, *s.competence_parts.values(), *s.implication_parts.values()]  # fmt: skip


def scored_customers(truth: dict, engine: ScoringEngine) -> list[str]:
    return sorted(c for c, t in truth["customers"].items() if t["role"] == "customer" and c in engine.scorer.customers)


def labelled(truth: dict, engine: ScoringEngine) -> tuple[list[str], list[list[float]], list[tuple[int, int]]]:
    ids = scored_customers(truth, engine)
    levels = [tuple(LEVELS.index(x) for x in LEVELS_OF_CELL[truth["customers"][c]["cell"]]) for c in ids]
    return ids, [features(engine.scorer.customers[c], engine) for c in ids], levels  # type: ignore[misc]


def train_softmax(x, y, iterations: int = 2000, rate: float = 0.5, l2: float = 1e-3):
    """Multinomial logistic regression by gradient descent on standardised features."""
    import numpy as np

    x = np.asarray(x, float)
    mean, sd = x.mean(0), x.std(0) + 1e-9
    z = np.c_[(x - mean) / sd, np.ones(len(x))]
    w = np.zeros((z.shape[1], 3))
    target = np.eye(3)[np.asarray(y)]
    for _ in range(iterations):
        logits = z @ w
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        w -= rate * (z.T @ (p - target) / len(z) + l2 * w)
    return lambda new: (np.c_[(np.asarray(new, float) - mean) / sd, np.ones(len(new))] @ w).argmax(1)


def reference_cells(train: tuple[dict, ScoringEngine], test: tuple[dict, ScoringEngine]) -> dict[str, str]:
    _, x_train, y_train = labelled(*train)
    ids, x_test, _ = labelled(*test)
    predicted = [train_softmax(x_train, [y[axis] for y in y_train])(x_test) for axis in (0, 1)]
    return {c: CELLS[(LEVELS[int(predicted[0][n])], LEVELS[int(predicted[1][n])])] for n, c in enumerate(ids)}


def components(state: CustomerState, engine: ScoringEngine) -> tuple[list[float], list[float]]:
    s = score(state, state.latest, engine.scorer.config)  # as vox places them
    return list(s.competence_parts.values()), list(s.implication_parts.values())


def best_weight_cells(train: tuple[dict, ScoringEngine], test: tuple[dict, ScoringEngine]) -> dict[str, str]:
    """Each axis a weighted sum of vox's components, the weights fitted (least squares) to the
    hidden traits of the training population; cut at the known shares over the customers vox
    counts for its adaptive cuts (those established on the axis)."""
    import numpy as np

    def table(truth: dict, engine: ScoringEngine) -> tuple[list[str], list, np.ndarray]:
        ids = scored_customers(truth, engine)
        rows = [components(engine.scorer.customers[c], engine) for c in ids]
        return ids, rows, np.array([truth["established"].get(c, (False, False)) for c in ids])

    train_ids, train_rows, _ = table(*train)
    ids, test_rows, established = table(*test)
    truth = test[0]["customers"]
    levels = []
    for axis, trait in enumerate(("competence", "implication")):
        x = np.array([r[axis] for r in train_rows])
        y = np.array([train[0]["customers"][c][trait] for c in train_ids])
        weights = np.linalg.lstsq(np.c_[x, np.ones(len(x))], y, rcond=None)[0]
        fitted = np.c_[np.array([r[axis] for r in test_rows]), np.ones(len(test_rows))] @ weights
        counted = established[:, axis]
        shares = Counter(LEVELS_OF_CELL[truth[c]["cell"]][axis] for c, kept in zip(ids, counted) if kept)
        total = sum(shares.values()) or 1
        low, high = np.quantile(fitted[counted], [shares["low"] / total, 1 - shares["high"] / total])
        levels.append(np.where(fitted < low, 0, np.where(fitted < high, 1, 2)))
    return {c: CELLS[(LEVELS[int(levels[0][n])], LEVELS[int(levels[1][n])])] for n, c in enumerate(ids)}


def horizon_report(customers: int, days: int, seed: int, work: Path) -> dict:
    runs = {}
    for s in (seed, seed + 1):
        truth, engine, cells = simulate_and_score(SimConfig(customers=customers, days=days, seed=s), work / f"s{s}-{days}")
        runs[s] = (truth, engine, cells)
    truth, engine, cells = runs[seed]
    reference = reference_cells(runs[seed + 1][:2], (truth, engine))
    best_weights = best_weight_cells(runs[seed + 1][:2], (truth, engine))
    report: dict = {"customers": customers, "days": days, "seed": seed, "reference_trained_on_seed": seed + 1}
    for name, placed in (("vox", cells), ("best_weights", best_weights), ("reference", reference)):
        matrix, right, total = confusion(truth, placed)
        competence, implication = per_axis(matrix)
        _, right_established, established = confusion(truth, placed, ESTABLISHED_EVENTS)
        report[name] = {"active": total, "right": round(right / total, 3), "competence_right": round(competence, 3),
                        "implication_right": round(implication, 3),
                        "right_300_events_or_more": round(right_established / established, 3) if established else None,
                        "by_evidence_level": by_evidence_level(truth, placed),
                        "by_events": by_evidence(truth, placed), "matrix": render(matrix)}  # fmt: skip
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description="Population accuracy of the scores against the simulator's truth.")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, nargs="+", default=[120, 365])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("population.json"))
    args = parser.parse_args()
    reports = []
    with tempfile.TemporaryDirectory(prefix="vox-population-") as work:
        for days in args.days:
            report = horizon_report(args.customers, days, args.seed, Path(work))
            reports.append(report)
            print(f"\n== {args.customers} customers, {days} days (seed {args.seed}) ==")
            for name in ("vox", "best_weights", "reference"):
                r = report[name]
                print(f"{name}: {r['right']:.1%} of {r['active']} active customers in their cell (competence "
                      f"{r['competence_right']:.1%}, implication {r['implication_right']:.1%}); "
                      f"300+ events: {r['right_300_events_or_more']:.1%}")  # fmt: skip
                print("  by evidence level: " + "; ".join(f"{level}: {b['right']:.1%} of {b['customers']} (competence "
                      f"{b['competence_right']:.1%}, implication {b['implication_right']:.1%})"
                      for level, b in r["by_evidence_level"].items()))  # fmt: skip
                print("  by events seen: " + "; ".join(f"{b['events']}: {b['right']:.1%} of {b['customers']}" for b in r["by_events"]))
            print(report["vox"]["matrix"])
    args.out.write_text(json.dumps(reports, indent=1) + "\n", encoding="utf-8")
    print(f"\n-> {args.out}")


if __name__ == "__main__":
    main()
