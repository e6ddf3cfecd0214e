"""The leaders' centrality: streaming PageRank (warm-started push at each ranking) against an
exact computation on the same decayed graph, its cost per edge, and why PageRank rather than
in-degree or the z-score.

The simulator's population (10,000 customers by default, planted leaders and communicators in
every topic, staff the busiest accounts) is folded topic by topic through `vox.core.leaders.topic`
in (time, event id) order, as the stage does (votes take the topic they name with their
target's author, else their content's, as the content stage resolves it). Then, per topic:

* top-20 overlap and Spearman over the exact top 100, streaming against `exact_pagerank` (power
  iteration to 1e-12 on the topic's graph as it stands: the same decayed weights);
* the cost of each edge: its own (`Graph.endorse`) plus its share of the refresh that follows it
  (`Graph.refresh` at the next ranking, divided among the edges since the last): median and p99 in
  microseconds, and the refreshes' own times;
* precision at k of the planted leaders and communicators (k = how many are planted) when customers
  are ranked by PageRank, by in-degree (distinct customers with an edge to them) and by the
  z-score of Zhang, Ackerman and Adamic (2007) over answers and questions: which measure of
  "whom one knows" finds them.

`python -m bench.leaders [--customers N --days D]` prints the figures and writes bench/leaders.json.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

from vox.core.customers.content import names_author_and_topic
from vox.core.leaders.config import LeadersConfig
from vox.core.leaders.graph import Graph, exact_pagerank
from vox.core.leaders.ranking import standings
from vox.core.leaders.stage import interactions_of
from vox.core.leaders.topic import Topic
from vox.schemas import EVENT_ADAPTER, Post, Review, Vote
from vox.simulator.generate import SimConfig, Simulation

OUT = Path(__file__).with_name("leaders.json")


class TimedGraph(Graph):
    """A graph that times every edge it takes and every refresh, and charges each edge its share
    of the refresh after it."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.costs: list[float] = []
        self.refreshes: list[float] = []
        self._pending: list[float] = []  # the edges since the last refresh

    def endorse(self, source: str, target: str, weight: float) -> None:
        start = time.perf_counter()
        super().endorse(source, target, weight)
        self._pending.append(time.perf_counter() - start)

    def refresh(self) -> None:
        start = time.perf_counter()
        super().refresh()
        spent = time.perf_counter() - start
        self.refreshes.append(spent)
        if self._pending:
            share = spent / len(self._pending)
            self.costs.extend(cost + share for cost in self._pending)
            self._pending = []


def interactions(sim: Simulation) -> list[list]:
    """The stage's interactions of the simulated events, votes in their content's topic."""
    events = [EVENT_ADAPTER.validate_json(m.line) for m in sim.events() if m.expected_reason is None]
    content: dict[str, tuple[str, str]] = {}
    out = []
    for n, event in enumerate(events):
        if isinstance(event, Post):
            content[event.post_id] = (event.topic, event.customer_id)
        elif isinstance(event, Review):
            content[event.review_id] = (event.category, event.customer_id)
        out.extend(interactions_of([event], [(-1, n)]))
        # a vote that names its author and topic came with interactions_of, as from ingest
        if isinstance(event, Vote) and not names_author_and_topic(event) and event.target_id in content:
            topic, author = content[event.target_id]
            out.append([topic, -1, n, event.occurred_at.timestamp(), event.event_id, "vote", event.customer_id,
                        event.actor_role, event.target_author_id or author, event.vote_type])  # fmt: skip
    unique = {r[4] + r[0]: r for r in out}  # a resent event once
    return sorted(unique.values(), key=lambda r: (r[3], r[4]))


def spearman(x: list[float], y: list[float]) -> float:
    def ranks(v: list[float]) -> list[float]:
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        for rank, i in enumerate(order):
            r[i] = rank
        return r

    rx, ry = ranks(x), ranks(y)
    mx, my = statistics.mean(rx), statistics.mean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.leaders", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--tolerance", type=float, default=LeadersConfig().push_tolerance, help="push_tolerance")
    args = parser.parse_args()
    config = LeadersConfig(push_tolerance=args.tolerance)
    sim = Simulation(SimConfig(customers=args.customers, days=args.days))
    records = interactions(sim)
    topics: dict[str, Topic] = {}
    answers, questions = defaultdict(Counter), defaultdict(Counter)
    for record in records:
        topic = topics.get(record[0])
        if topic is None:
            topic = topics[record[0]] = Topic(record[0], config)
            topic.graph = TimedGraph(config.push_tolerance, config.max_out_edges)
        topic.take(record)
        if record[5] == "post" and record[9][0] in ("answer", "question"):
            (answers if record[9][0] == "answer" else questions)[record[0]][record[6]] += 1
    staff = {s.id for s in sim.world.staff}
    end = records[-1][3]
    per_topic, costs, refreshes = {}, [], []
    for name in sim.world.topics:
        topic = topics[name]
        graph = topic.graph
        ranked = topic.rank(end)  # the leaders as of the end of the data (PageRank refreshed)
        costs.extend(graph.costs)
        refreshes.extend(graph.refreshes)
        exact = exact_pagerank(graph)
        by_exact = sorted(exact, key=lambda k: (-exact[k], k))
        by_stream = sorted(graph.vertices, key=lambda k: (-graph.centrality(k), k))
        top100 = by_exact[:100]
        planted = set(sim.world.leaders[name]) | set(sim.world.communicators[name])
        k = len(planted)
        indegree = {key: len(graph.into.get(key, {})) for key in graph.vertices}
        z = {key: (answers[name][key] - questions[name][key]) / math.sqrt(answers[name][key] + questions[name][key] or 1)
             for key in graph.vertices}  # fmt: skip

        def found(measure: dict) -> float:
            ranked = sorted((c for c in measure if c not in staff), key=lambda c: (-measure[c], c))
            return sum(c in planted for c in ranked[:k]) / k

        # every member's standing as of the end (a ranking's own standings hold only the members
        # changed since the one before, and its leaders): the kind of each planted customer
        everyone = standings(topic.members, graph.centrality, lambda stored: topic.frame.decayed(stored, end),
                             topic.config, candidates=topic.candidates)  # fmt: skip
        kinds = {c: s.kind for c, s in everyone.items() if s.candidate}
        leaders, communicators = sim.world.leaders[name], sim.world.communicators[name]
        per_topic[name] = {
            "leaders_found": sum(c in leaders for c in ranked.leaders[: len(leaders)]) / len(leaders),
            "planted_in_top_k": sum(c in planted for c in ranked.leaders[:k]) / k,
            "communicators_ranked": {c: ranked.leaders.index(c) + 1 for c in communicators if c in ranked.leaders},
            "candidates": sum(c in kinds for c in planted),  # planted with the evidence to lead, by the end
            "leaders_expert": sum(kinds.get(c) == "expert" for c in leaders),
            "communicators_communicator": sum(kinds.get(c) == "communicator" for c in communicators),
            "staff_ranked": [c for c in ranked.leaders if c in staff],
            "customers": len(graph.vertices), "edges": sum(len(v.out) for v in graph.vertices.values()),
            "top20_overlap": len(set(by_exact[:20]) & set(by_stream[:20])) / 20,
            "spearman_top100": round(spearman([exact[c] for c in top100], [graph.centrality(c) for c in top100]), 5),
            "planted_found": {"pagerank": found({c: graph.centrality(c) for c in graph.vertices}),
                              "in-degree": found(indegree), "z-score": found(z)},
        }  # fmt: skip
    costs.sort()
    population = len({c for t in topics.values() for c in t.members})
    result = {
        "customers": args.customers, "days": args.days, "push_tolerance": args.tolerance, "customers_in_graphs": population,
        "interactions": len(records), "edges_taken": len(costs),
        "edge_cost_us": {"median": round(1e6 * costs[len(costs) // 2], 1), "p99": round(1e6 * costs[int(len(costs) * 0.99)], 1)},
        "pushes_per_edge": round(sum(t.graph.pushes for t in topics.values()) / len(costs), 2),
        "refresh_ms": {"median": round(1e3 * sorted(refreshes)[len(refreshes) // 2], 2),
                       "p99": round(1e3 * sorted(refreshes)[int(len(refreshes) * 0.99)], 2), "count": len(refreshes)},
        "planted": {"leaders_found_min": min(t["leaders_found"] for t in per_topic.values()),
                    "planted_in_top_k_mean": round(statistics.mean(t["planted_in_top_k"] for t in per_topic.values()), 3),
                    "candidates": sum(t["candidates"] for t in per_topic.values()),
                    "leaders_expert": sum(t["leaders_expert"] for t in per_topic.values()),
                    "communicators_communicator": sum(t["communicators_communicator"] for t in per_topic.values()),
                    "planted": sum(len(sim.world.leaders[t]) + len(sim.world.communicators[t]) for t in per_topic),
                    "staff_ranked": sum(len(t["staff_ranked"]) for t in per_topic.values())},
        "min_top20_overlap": min(t["top20_overlap"] for t in per_topic.values()),
        "min_spearman_top100": min(t["spearman_top100"] for t in per_topic.values()),
        "planted_found_mean": {m: round(statistics.mean(t["planted_found"][m] for t in per_topic.values()), 3)
                               for m in ("pagerank", "in-degree", "z-score")},
        "per_topic": per_topic,
    }  # fmt: skip
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"leaders' centrality on the simulator (push tolerance {args.tolerance}): {args.customers:,} customers, {args.days} days, "
          f"{population:,} in the topics' graphs, {len(records):,} interactions, {len(costs):,} edges")
    print(f"  streaming vs exact PageRank, worst topic: top-20 overlap {result['min_top20_overlap']:.2f}, "
          f"Spearman over the top 100 {result['min_spearman_top100']:.4f}")
    print(f"  cost per edge, its share of the refresh included: median {result['edge_cost_us']['median']} us, p99 {result['edge_cost_us']['p99']} us, "
          f"{result['pushes_per_edge']} pushes per edge; {result['refresh_ms']['count']:,} refreshes (one per ranking), "
          f"median {result['refresh_ms']['median']} ms, p99 {result['refresh_ms']['p99']} ms")
    p = result["planted"]
    print(f"  vox's leaders: planted leaders in the top (number planted) of every topic, worst topic {p['leaders_found_min']:.2f}; "
          f"leaders and communicators in the top k {p['planted_in_top_k_mean']:.2f} (mean); {p['candidates']} of the {p['planted']} planted "
          f"are candidates; labelled expert, of the leaders: {p['leaders_expert']}, "
          f"labelled communicator, of the communicators: {p['communicators_communicator']}; staff ranked {p['staff_ranked']}")
    found = result["planted_found_mean"]
    print(f"  planted leaders and communicators in the top k (mean over topics): PageRank {found['pagerank']:.2f}, "
          f"in-degree {found['in-degree']:.2f}, z-score {found['z-score']:.2f}")
    print(f"-> {OUT}")


if __name__ == "__main__":
    main()
